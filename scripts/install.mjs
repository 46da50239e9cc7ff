// `npm install` step: make sure exactly one libtorch is available, then build the addon.
// With LIBTORCH set, that libtorch is used as is. Otherwise a project-local virtual environment
// (.venv) gets torch==PINNED_TORCH from PyPI: pip picks the wheel for this machine (the CPU wheel
// where a local cache has one, the CUDA build from PyPI elsewhere; both work, CUDA or not).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PINNED_TORCH, projectRoot, resolveLibtorch, venvDir, venvTorchDir, libtorchVersion } from './libtorch.mjs';
import { buildNative } from './build-native.mjs';

function run(cmd, args, opts = {}) {
  console.log(`specfuse install: ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: 'inherit', cwd: projectRoot, ...opts });
}

function findPython() {
  for (const cand of [process.env.PYTHON, 'python3', 'python']) {
    if (!cand) continue;
    try {
      const v = execFileSync(cand, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
      const [maj, min] = v.split('.').map(Number);
      if (maj === 3 && min >= 10) return cand;
    } catch { /* try the next one */ }
  }
  throw new Error('specfuse needs Python >= 3.10 to install libtorch (torch wheel) into .venv, or LIBTORCH set to an existing libtorch');
}

export function ensureLibtorch() {
  if (process.env.LIBTORCH) return resolveLibtorch();
  const have = venvTorchDir();
  if (have && libtorchVersion(have) === PINNED_TORCH) return resolveLibtorch();
  if (!existsSync(join(venvDir, 'bin', 'python'))) run(findPython(), ['-m', 'venv', venvDir]);
  // numpy and safetensors are for the test and benchmark oracles (never the product's run path).
  run(join(venvDir, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off',
    `torch==${PINNED_TORCH}`, 'numpy', 'safetensors']);
  return resolveLibtorch();
}

if (process.argv[1] && process.argv[1].endsWith('install.mjs')) {
  try {
    const lt = ensureLibtorch();
    console.log(`specfuse install: libtorch ${lt.version} from ${lt.source} at ${lt.dir}`);
    buildNative(lt);
  } catch (err) {
    console.error(`specfuse install failed: ${err.message}`);
    process.exit(1);
  }
}
