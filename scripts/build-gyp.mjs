// `npm run build:gyp`: builds the same addon with node-gyp into build-gyp/ (node-gyp always
// writes to build/, so it runs in a scratch copy of the sources and the result is moved).
// Node's headers are taken from this Node's own install prefix: nothing is downloaded.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { cpus, tmpdir } from 'node:os';
import { projectRoot, resolveLibtorch } from './libtorch.mjs';
import { writeBuildInfo } from './build-native.mjs';

function ccache() {
  try {
    execFileSync('ccache', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function buildGyp() {
  const lt = resolveLibtorch();
  const require = createRequire(import.meta.url);
  const gyp = join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
  const nodedir = resolve(dirname(process.execPath), '..');
  if (!existsSync(join(nodedir, 'include', 'node', 'common.gypi'))) {
    throw new Error(`node-gyp needs Node's headers; ${nodedir}/include/node has none (install Node with its headers, or set npm_config_nodedir)`);
  }
  const work = join(tmpdir(), `specfuse-gyp-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const f of ['binding.gyp', 'native', 'scripts', 'package.json']) cpSync(join(projectRoot, f), join(work, f), { recursive: true });
  symlinkSync(join(projectRoot, 'node_modules'), join(work, 'node_modules'));
  // pch.h is force-included (-include): gcc picks up a pch.h.gch next to it if present; without one it is a plain include.
  const env = { ...process.env, LIBTORCH: lt.dir };
  // ccache, when the machine has it, makes rebuilds cheap (the libtorch headers dominate compile time).
  if (!env.CXX && ccache()) env.CXX = 'ccache g++';
  execFileSync(process.execPath, [gyp, 'rebuild', `--nodedir=${process.env.npm_config_nodedir || nodedir}`, `--jobs=${cpus().length}`], {
    cwd: work,
    stdio: 'inherit',
    env,
  });
  const out = join(projectRoot, 'build-gyp');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'Release'), { recursive: true });
  cpSync(join(work, 'build', 'Release', 'specfuse.node'), join(out, 'Release', 'specfuse.node'));
  writeBuildInfo(out, lt, 'node-gyp');
  rmSync(work, { recursive: true, force: true });
}

if (process.argv[1] && process.argv[1].endsWith('build-gyp.mjs')) {
  try {
    buildGyp();
  } catch (err) {
    console.error(`specfuse gyp build failed: ${err.message}`);
    process.exit(1);
  }
}
