// `npm install` step: make sure exactly one libtorch is available, then build the addon.
// With LIBTORCH set, that libtorch is used as is. Otherwise a project-local virtual environment
// (.venv) gets torch==PINNED_TORCH from PyPI, and only what this machine can use:
//  - with an NVIDIA driver (or SPECFUSE_CUDA=1): the wheel with all its dependencies, CUDA included
//    (about 2.8 GB of downloads);
//  - without one: the wheel alone (--no-deps, 0.53 GB) plus the two small CUDA runtime libraries that
//    libtorch_cpu.so links whether or not a GPU is used (libcudart, libcupti). PyPI's Linux torch is
//    the CUDA build; its CPU half runs without the rest. `npm run cuda` adds the rest later.
// With the CUDA libraries come the few CUDA headers torch itself does not depend on but the NCCL
// plugin's build needs (cmake/nccl-plugin.cmake): the compiler's crt/ and CCCL's nv/ (3 MB).
// The addon never imports Python; Python's own `import torch` (the test oracles) needs the full set.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PINNED_TORCH, projectRoot, resolveLibtorch, venvDir, venvTorchDir, libtorchVersion } from './libtorch.mjs';
import { buildNative } from './build-native.mjs';

const pipFlags = ['--disable-pip-version-check', '--progress-bar', 'off'];

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
    } catch {
      /* try the next one */
    }
  }
  throw new Error('specfuse needs Python >= 3.10 to install libtorch (torch wheel) into .venv, or LIBTORCH set to an existing libtorch');
}

/** Whether the machine has an NVIDIA driver: its kernel module or its user-space library. */
export function hasNvidiaDriver({ exists = existsSync, ldconfig = () => spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '' } = {}) {
  if (exists('/proc/driver/nvidia/version')) return true;
  try {
    return /\blibcuda\.so\.1\b/.test(ldconfig());
  } catch {
    return false;
  }
}

/**
 * Whether to install the CUDA libraries: SPECFUSE_CUDA=1 asks for them, SPECFUSE_CUDA=0 refuses them;
 * otherwise they are installed exactly when the machine has an NVIDIA driver.
 */
export function wantCuda({ env = process.env, driver = hasNvidiaDriver } = {}) {
  const v = env.SPECFUSE_CUDA;
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  if (v !== undefined && v !== '') throw new Error(`SPECFUSE_CUDA=${v}: expected 1 (install the CUDA libraries) or 0 (CPU only)`);
  return driver();
}

/**
 * The CUDA runtime wheels that libtorch_cpu.so itself links, read from the installed wheel's
 * requirements: torch 2.13 asks for cuda-toolkit[cudart,cupti,…]==V, so cuda-toolkit[cudart,cupti]==V
 * brings exactly libcudart and libcupti. Older layouts named nvidia-cuda-runtime-cuXX directly.
 */
export function cpuRuntimeRequirements(metadataText) {
  const reqs = metadataText
    .split('\n')
    .filter((l) => l.startsWith('Requires-Dist:'))
    .map((l) => l.slice(14).trim());
  const toolkit = reqs.find((r) => /^cuda-toolkit\[/.test(r));
  if (toolkit) {
    const version = toolkit.match(/==\s*([\w.]+)/)?.[1];
    if (!version) throw new Error(`cannot read the cuda-toolkit version from '${toolkit}'`);
    return [`cuda-toolkit[cudart,cupti]==${version}`];
  }
  const direct = reqs.filter((r) => /^nvidia-cuda-(runtime|cupti)/.test(r)).map((r) => r.split(';')[0].replace(/\s+/g, ''));
  return direct;
}

/**
 * The CUDA header wheels the NCCL plugin's build needs beyond torch's own dependencies (crt/host_config.h,
 * which cuda_runtime.h includes, and CCCL's nv/target, which cuda_fp16.h includes), of the CUDA version
 * torch pins: torch 2.13 asks for cuda-toolkit[…]==V, so cuda-toolkit[crt,cccl]==V. None for older
 * layouts (one nvidia-*-cu12 package per library, no such extras): the build then says what it lacks.
 */
export function pluginHeaderRequirements(metadataText) {
  const toolkit = metadataText
    .split('\n')
    .filter((l) => l.startsWith('Requires-Dist:'))
    .map((l) => l.slice(14).trim())
    .find((r) => /^cuda-toolkit\[/.test(r));
  const version = toolkit?.match(/==\s*([\w.]+)/)?.[1];
  return version ? [`cuda-toolkit[crt,cccl]==${version}`] : [];
}

/** Whether the pip CUDA packages beside torch hold the headers of pluginHeaderRequirements. */
export function hasPluginHeaders(torchDir) {
  const nvidia = join(torchDir, '..', 'nvidia');
  if (!existsSync(nvidia)) return false;
  const includes = readdirSync(nvidia).map((d) => join(nvidia, d, 'include'));
  return ['crt/host_config.h', 'nv/target'].every((h) => includes.some((d) => existsSync(join(d, h))));
}

function torchMetadata(torchDir) {
  const site = join(torchDir, '..');
  const info = readdirSync(site).find((d) => d.startsWith(`torch-${PINNED_TORCH}`) && d.endsWith('.dist-info'));
  if (!info) throw new Error(`no torch-${PINNED_TORCH} .dist-info in ${site}`);
  return readFileSync(join(site, info, 'METADATA'), 'utf8');
}

/** Libraries one of libtorch's libraries needs that the dynamic linker cannot find (ldd's "not found" lines). */
export function missingLibraries(torchDir, lib = 'libtorch_cpu.so') {
  const file = join(torchDir, 'lib', lib);
  if (!existsSync(file)) return [lib];
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .filter((l) => /not found/.test(l))
    .map((l) => l.trim().split(/\s+/)[0]);
}

function venvPython() {
  if (!existsSync(join(venvDir, 'bin', 'python'))) run(findPython(), ['-m', 'venv', venvDir]);
  return join(venvDir, 'bin', 'python');
}

/** The complete PyTorch (all CUDA libraries): for GPUs, and for Python's `import torch` in the test oracles. */
export function installFullTorch() {
  run(venvPython(), ['-m', 'pip', 'install', ...pipFlags, `torch==${PINNED_TORCH}`]);
}

function installPluginHeaders() {
  const dir = venvTorchDir();
  if (!dir || hasPluginHeaders(dir)) return;
  const reqs = pluginHeaderRequirements(torchMetadata(dir));
  if (reqs.length) run(venvPython(), ['-m', 'pip', 'install', ...pipFlags, ...reqs]);
}

function installCpuTorch() {
  const py = venvPython();
  run(py, ['-m', 'pip', 'install', ...pipFlags, '--no-deps', `torch==${PINNED_TORCH}`]);
  const dir = venvTorchDir();
  const reqs = cpuRuntimeRequirements(torchMetadata(dir));
  if (reqs.length) run(py, ['-m', 'pip', 'install', ...pipFlags, ...reqs]);
  const missing = missingLibraries(dir);
  if (missing.length) {
    throw new Error(`libtorch_cpu.so still misses ${missing.join(', ')} after the CPU install; 'SPECFUSE_CUDA=1 npm install' installs every CUDA library`);
  }
}

export function ensureLibtorch({ cuda = wantCuda() } = {}) {
  if (process.env.LIBTORCH) return resolveLibtorch();
  const have = venvTorchDir();
  const ready = have && libtorchVersion(have) === PINNED_TORCH && missingLibraries(have).length === 0;
  if (cuda) {
    // pip adds only what is missing when torch is already there (the CPU install): no re-download of torch.
    if (!ready || missingLibraries(have, 'libtorch_cuda.so').length > 0) installFullTorch();
    installPluginHeaders();
  } else if (!ready) {
    installCpuTorch();
  }
  return resolveLibtorch();
}

// `node scripts/install.mjs [--cuda]`: the npm install hook; `--cuda` (npm run cuda) adds the CUDA
// libraries to an existing CPU install (the addon loads them on first use) and their headers, then
// builds again: the addon is unchanged, the NCCL plugin is added beside it.
if (process.argv[1] && process.argv[1].endsWith('install.mjs')) {
  try {
    const cudaOnly = process.argv.includes('--cuda');
    const cuda = cudaOnly || wantCuda();
    console.log(
      `specfuse install: ${cuda ? 'CUDA' : 'CPU-only'} libtorch (${cudaOnly ? '--cuda' : process.env.SPECFUSE_CUDA ? `SPECFUSE_CUDA=${process.env.SPECFUSE_CUDA}` : hasNvidiaDriver() ? 'NVIDIA driver found' : 'no NVIDIA driver; SPECFUSE_CUDA=1 to override'})`,
    );
    const lt = ensureLibtorch({ cuda });
    console.log(`specfuse install: libtorch ${lt.version} from ${lt.source} at ${lt.dir}`);
    buildNative(lt);
  } catch (err) {
    console.error(`specfuse install failed: ${err.message}`);
    process.exit(1);
  }
}
