// Finds the one libtorch specfuse builds and runs against. Shared by the install and build scripts
// and by lib/native.ts (which imports the same logic to check the version at load).
//   1. LIBTORCH: an unpacked libtorch, or a PyTorch install's torch/ folder; it always wins.
//   2. the project-local virtual environment .venv, whose torch wheel the install step pins.
// Nothing else is looked at: a system libtorch (Debian's libtorch-dev) must never be picked up.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PINNED_TORCH = '2.13.0';
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const venvDir = join(projectRoot, '.venv');

/** The torch/ folder inside .venv, or null when the venv has no torch. */
export function venvTorchDir() {
  const libDir = join(venvDir, 'lib');
  if (!existsSync(libDir)) return null;
  for (const py of readdirSync(libDir)) {
    const dir = join(libDir, py, 'site-packages', 'torch');
    if (existsSync(join(dir, 'lib', 'libtorch_cpu.so'))) return dir;
  }
  return null;
}

/** Reads MAJOR.MINOR.PATCH from a libtorch's headers (same file in wheels and unpacked libtorch). */
export function libtorchVersion(dir) {
  for (const rel of ['include/torch/headeronly/version.h', 'include/torch/csrc/api/include/torch/version.h']) {
    const file = join(dir, rel);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const part = (name) => text.match(new RegExp(`#define TORCH_VERSION_${name} (\\d+)`))?.[1];
    const [major, minor, patch] = [part('MAJOR'), part('MINOR'), part('PATCH')];
    if (major && minor && patch) return `${major}.${minor}.${patch}`;
  }
  return null;
}

/** { dir, version, source } for the libtorch to use, or throws saying what to do. */
export function resolveLibtorch({ allowMissing = false } = {}) {
  const env = process.env.LIBTORCH;
  let dir = null;
  let source = null;
  if (env) {
    dir = resolve(env);
    source = 'LIBTORCH';
    if (!existsSync(join(dir, 'lib', 'libtorch_cpu.so'))) {
      throw new Error(`LIBTORCH=${env} has no lib/libtorch_cpu.so: point it at an unpacked libtorch or at a PyTorch install's torch/ folder`);
    }
  } else {
    dir = venvTorchDir();
    source = '.venv';
    if (!dir) {
      if (allowMissing) return null;
      throw new Error(`no libtorch: set LIBTORCH, or run 'npm install' to create ${venvDir} with torch==${PINNED_TORCH}`);
    }
  }
  const version = libtorchVersion(dir);
  if (!version) throw new Error(`cannot read the libtorch version from the headers in ${dir}`);
  return { dir, version, source, cuda: existsSync(join(dir, 'lib', 'libtorch_cuda.so')) };
}

// `node scripts/libtorch.mjs dir|version` prints the resolved libtorch for binding.gyp.
if (process.argv[1] && process.argv[1].endsWith('libtorch.mjs')) {
  try {
    const lt = resolveLibtorch();
    console.log(process.argv[2] === 'version' ? lt.version : lt.dir);
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
