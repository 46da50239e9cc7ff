// Test oracles: Python packages the tests compare against (PyTorch itself for model parity and
// checkpoints, scipy for .mat, h5py for .h5, tifffile/imagecodecs for GeoTIFF, safetensors and numpy, tensorboard for event files).
// Installed into the project's .venv on first `npm test` so CI exercises them; the product itself never
// imports Python. On a CPU-only install, Python's `import torch` needs the CUDA libraries the addon
// does without (PyPI's Linux torch is the CUDA build): they are added here, for the tests only.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { venvDir } from './libtorch.mjs';
import { installFullTorch } from './install.mjs';

const modules = {
  scipy: 'scipy',
  h5py: 'h5py',
  tifffile: 'tifffile',
  imagecodecs: 'imagecodecs',
  safetensors: 'safetensors',
  numpy: 'numpy',
  tensorboard: 'tensorboard',
};

export function ensureTestOracles() {
  const py = join(venvDir, 'bin', 'python');
  if (!existsSync(py)) {
    console.log('test oracles: no .venv (LIBTORCH build?): oracle tests that need Python will skip');
    return;
  }
  if (spawnSync(py, ['-c', 'import torch']).status !== 0) {
    console.log('test oracles: completing PyTorch for Python (its CUDA libraries) in .venv');
    installFullTorch();
  }
  const missing = Object.entries(modules)
    .filter(([mod]) => spawnSync(py, ['-c', `import ${mod}`]).status !== 0)
    .map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  console.log(`test oracles: installing ${missing.join(', ')} into .venv`);
  execFileSync(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', ...missing], { stdio: 'inherit' });
}
