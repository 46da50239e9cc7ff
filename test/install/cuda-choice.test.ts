// Which libtorch the install step fetches: the CUDA libraries only where a driver can use them, or
// when asked for (the driver probe is faked here, so the decision is tested on any machine).
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs script without type declarations
import { wantCuda, hasNvidiaDriver, cpuRuntimeRequirements, pluginHeaderRequirements, hasPluginHeaders } from '../../scripts/install.mjs';

const yes = () => true;
const no = () => false;

t.test('SPECFUSE_CUDA decides when set; the driver otherwise', async (t) => {
  t.equal(wantCuda({ env: {}, driver: no }), false, 'no driver: CPU only');
  t.equal(wantCuda({ env: {}, driver: yes }), true, 'a driver: CUDA');
  t.equal(wantCuda({ env: { SPECFUSE_CUDA: '1' }, driver: no }), true, 'SPECFUSE_CUDA=1 without a driver');
  t.equal(wantCuda({ env: { SPECFUSE_CUDA: '0' }, driver: yes }), false, 'SPECFUSE_CUDA=0 with a driver');
  t.equal(wantCuda({ env: { SPECFUSE_CUDA: '' }, driver: yes }), true, 'empty means unset');
  t.throws(() => wantCuda({ env: { SPECFUSE_CUDA: 'yes please' }, driver: no }), /SPECFUSE_CUDA=yes please: expected 1/);
});

t.test('the driver probe: kernel module or libcuda.so.1', async (t) => {
  t.equal(hasNvidiaDriver({ exists: (p: string) => p === '/proc/driver/nvidia/version', ldconfig: () => '' }), true);
  t.equal(hasNvidiaDriver({ exists: () => false, ldconfig: () => '\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1\n' }), true);
  t.equal(hasNvidiaDriver({ exists: () => false, ldconfig: () => '\tlibcudart.so.12 (libc6,x86-64) => /x/libcudart.so.12\n' }), false);
  t.equal(
    hasNvidiaDriver({
      exists: () => false,
      ldconfig: () => {
        throw new Error('no ldconfig');
      },
    }),
    false,
  );
});

t.test('the CPU install takes only the CUDA runtime wheels libtorch_cpu.so links', async (t) => {
  const meta = [
    'Requires-Dist: filelock',
    'Requires-Dist: cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.0.3; platform_system == "Linux"',
    'Requires-Dist: nvidia-cudnn-cu13==9.20.0.48; platform_system == "Linux"',
  ].join('\n');
  t.same(cpuRuntimeRequirements(meta), ['cuda-toolkit[cudart,cupti]==13.0.3']);
  const older = [
    'Requires-Dist: nvidia-cuda-runtime-cu12==12.8.90; platform_system == "Linux" and platform_machine == "x86_64"',
    'Requires-Dist: nvidia-cuda-cupti-cu12==12.8.90; platform_system == "Linux" and platform_machine == "x86_64"',
    'Requires-Dist: nvidia-cublas-cu12==12.8.4.1; platform_system == "Linux" and platform_machine == "x86_64"',
  ].join('\n');
  t.same(cpuRuntimeRequirements(older), ['nvidia-cuda-runtime-cu12==12.8.90', 'nvidia-cuda-cupti-cu12==12.8.90']);
  t.same(cpuRuntimeRequirements('Requires-Dist: filelock\n'), [], 'a CPU wheel needs none');
});

t.test("the CUDA install adds the headers the NCCL plugin's build needs, of torch's CUDA version", async (t) => {
  const meta = 'Requires-Dist: cuda-toolkit[cublas,cudart,cusolver,cusparse]==13.0.3; platform_system == "Linux"\n';
  t.same(pluginHeaderRequirements(meta), ['cuda-toolkit[crt,cccl]==13.0.3']);
  t.same(pluginHeaderRequirements('Requires-Dist: nvidia-cuda-runtime-cu12==12.8.90\n'), [], 'older layouts: none (the build names what it lacks)');
  const site = mkdtempSync(join(tmpdir(), 'specfuse-headers-'));
  t.teardown(() => rmSync(site, { recursive: true, force: true }));
  const torch = join(site, 'torch');
  mkdirSync(torch);
  t.equal(hasPluginHeaders(torch), false, 'no nvidia packages');
  mkdirSync(join(site, 'nvidia', 'cu13', 'include', 'crt'), { recursive: true });
  writeFileSync(join(site, 'nvidia', 'cu13', 'include', 'crt', 'host_config.h'), '');
  t.equal(hasPluginHeaders(torch), false, "crt/ alone: CCCL's nv/target is missing");
  mkdirSync(join(site, 'nvidia', 'cu13', 'include', 'nv'), { recursive: true });
  writeFileSync(join(site, 'nvidia', 'cu13', 'include', 'nv', 'target'), '');
  t.equal(hasPluginHeaders(torch), true, 'both');
});
