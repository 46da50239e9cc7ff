// backend 'nccl': libtorch's ProcessGroupNCCL through the optional plugin specfuse_nccl.so
// (native/nccl_plugin, native/dist/nccl_loader.cc). On every machine: the addon links nothing CUDA,
// a Gloo run maps neither libtorch_cuda.so nor the plugin, and where they cannot run, 'nccl' is a
// typed 'unsupported' DistributedError naming the reason, after which a Gloo group still works.
// Where the plugin was built: it exports its two entry points and links libtorch_cuda.so. On a
// machine with a GPU: world-size-1 NCCL collectives, and NCCL data-parallel training that equals
// training alone (2 ranks when there are 2 GPUs).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cuda } from '../../lib/index.js';
import { addonCandidates, packageRoot } from '../../lib/native.js';
import { fixture, freePort, runProcess, runRanks, type RankOutput } from './ranks.js';
import { read, relativeDifference } from './weights.js';

const dir = mkdtempSync(join(tmpdir(), 'specfuse-nccl-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const addon = process.env.SPECFUSE_ADDON ?? addonCandidates.find((c) => existsSync(c.path))?.path;
const plugin = addon ? join(dirname(addon), 'specfuse_nccl.so') : undefined;
const pluginBuilt = !!plugin && existsSync(plugin);
const gpus = cuda().deviceCount;
const noGpu = gpus === 0 ? `no CUDA device (${cuda().reason})` : false;

/** The shared libraries an ELF file names as NEEDED. */
const needed = (file: string) =>
  execFileSync('readelf', ['-d', file], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /\(NEEDED\).*\[(.+)\]/.exec(l)?.[1])
    .filter((x): x is string => !!x);

t.test('the addon itself links no CUDA library: libtorch_cuda.so is loaded on demand only', { skip: addon ? false : 'no addon built' }, async (t) => {
  const libs = needed(addon!);
  t.ok(libs.includes('libtorch_cpu.so'), `the addon links libtorch_cpu.so (${libs.join(', ')})`);
  t.same(
    libs.filter((l) => /torch_cuda|c10_cuda|nccl/.test(l)),
    [],
    'and neither libtorch_cuda.so, libc10_cuda.so nor NCCL',
  );
});

t.test('a Gloo run maps neither libtorch_cuda.so nor the NCCL plugin', async (t) => {
  const [o] = await runRanks('nccl-rank.ts', [{ mode: 'gloo-maps', rank: 0, worldSize: 1, store: { kind: 'file', path: join(dir, 'maps.store') } }]);
  t.equal(o!.code, 0, `exits 0 ${o!.stderr.slice(-500)}`);
  t.same(o!.json, { summed: [1, 2, 3], mapped: { torchCuda: false, plugin: false } });
});

t.test(
  'the NCCL plugin, when built, exports its factory and links libtorch_cuda.so',
  { skip: pluginBuilt ? false : 'the NCCL plugin was not built here' },
  async (t) => {
    const exported = execFileSync('nm', ['-D', '--defined-only', plugin!], { encoding: 'utf8' });
    t.match(exported, /\bT specfuse_nccl_create\b/, 'specfuse_nccl_create');
    t.match(exported, /\bT specfuse_nccl_plugin_info\b/, 'specfuse_nccl_plugin_info');
    t.ok(needed(plugin!).includes('libtorch_cuda.so'), 'links libtorch_cuda.so (its ProcessGroupNCCL)');
  },
);

const python = join(packageRoot, '.venv', 'bin', 'python');
t.test(
  "the NCCL plugin loads against libtorch_cuda.so and was compiled for this libtorch and torch's own NCCL version",
  { skip: !pluginBuilt ? 'the NCCL plugin was not built here' : existsSync(python) ? false : 'no .venv Python (the test oracle)' },
  async (t) => {
    const o = await runProcess(python, [fixture('plugin_info.py'), plugin!]);
    t.equal(o.code, 0, `the plugin loads: every symbol it needs resolves ${o.stderr.slice(-800)}`);
    t.equal(o.json?.abi, 1, 'interface 1 (SPECFUSE_NCCL_PLUGIN_ABI)');
    t.equal(o.json?.torchVersion, o.json?.torch, `compiled against the libtorch it runs on (${String(o.json?.torch)})`);
    // ProcessGroupNCCL's options hold NCCL's config struct by value: nccl.h must be the version torch was built with
    t.equal(o.json?.ncclHeaderVersion, o.json?.torchNcclVersion, `its nccl.h is the NCCL version torch was built with (${String(o.json?.torchNcclVersion)})`);
    if (noGpu)
      t.match(
        o.json?.createWithoutGpu,
        { status: 1, backend: null, error: /^this rank's CUDA device cuda:0 \(LOCAL_RANK\) does not exist: this machine has 0 CUDA device\(s\)/ },
        'without a GPU its factory returns an error (no abort, no group)',
      );
  },
);

t.test("without a GPU, backend 'nccl' is a typed error naming why; Gloo still works afterwards", { skip: noGpu ? false : 'a GPU is present' }, async (t) => {
  const [o] = await runRanks('nccl-rank.ts', [{ mode: 'no-gpu', rank: 0, worldSize: 1, store: { kind: 'file', path: join(dir, 'no-gpu.store') } }]);
  t.equal(o!.code, 0, `the process exits normally (no abort) ${o!.stderr.slice(-500)}`);
  const nccl = o!.json?.nccl as { error: string; code: string; name: string };
  t.match(nccl, { code: 'unsupported', name: 'DistributedError' }, 'a DistributedError, code unsupported');
  t.match(nccl.error, /^distributed \(unsupported\): backend 'nccl' cannot run in this process: no usable CUDA device \(.+\)/, 'naming the missing GPU');
  if (pluginBuilt) t.notMatch(nccl.error, /no NCCL plugin/, 'the plugin is there: not mentioned');
  else
    t.match(
      nccl.error,
      /this build has no NCCL plugin \(.*specfuse_nccl\.so does not exist\).*npm run cuda.*npm run build:native/,
      'and the missing plugin, with how to get it',
    );
  t.same(o!.json?.mappedAfterNccl, { torchCuda: false, plugin: false }, 'nothing CUDA was loaded for it');
  t.same(o!.json?.summed, [1, 2, 3], 'a Gloo group in the same process then works');
});

t.test("NCCL collectives on this rank's GPU", { skip: noGpu || (pluginBuilt ? false : 'the NCCL plugin was not built here') }, async (t) => {
  for (const worldSize of gpus >= 2 ? [1, 2] : [1]) {
    const store = { kind: 'tcp', host: '127.0.0.1', port: await freePort() };
    const outs = await runRanks(
      'nccl-rank.ts',
      Array.from({ length: worldSize }, (_, rank) => ({ mode: 'collectives', rank, worldSize, localRank: rank, store })),
    );
    const n = worldSize;
    for (const [rank, o] of outs.entries()) {
      t.equal(o.code, 0, `world ${n}, rank ${rank}: exits 0 ${o.stderr.slice(-800)}`);
      t.match(
        o.json,
        {
          rank,
          worldSize: n,
          backend: 'nccl',
          device: `cuda:${rank}`,
          tensorDevice: `cuda:${rank}`,
          // sum over ranks of (r + 1) * (i + 1); max of r + 0.5; mean of [r, 2r]; the last rank's broadcast
          summed: [1, 2, 3, 4, 5].map((i) => (i * n * (n + 1)) / 2),
          max: [n - 0.5],
          mean: [(n - 1) / 2, n - 1],
          broadcast: [(n - 1) * 10 + 7, n - 1],
          big: { first: (n * (n + 1)) / 2, last: (n * (n + 1)) / 2, length: 30_000_000 },
          cpuTensor: { code: 'unsupported', error: /backend 'nccl' takes CUDA tensors on this rank's device cuda:\d+ .*this tensor is on cpu/ },
          mapped: { torchCuda: true, plugin: true },
        },
        `world ${n}, rank ${rank}: sums, max, mean, broadcast and a 120 MB tensor on its GPU; a CPU tensor refused`,
      );
    }
  }
});

t.test('NCCL data parallelism trains as one process does', { skip: noGpu || (pluginBuilt ? false : 'the NCCL plugin was not built here') }, async (t) => {
  // world size 1: the averaged gradient is the rank's own, so the weights must equal training alone
  // on the same batches; 2 ranks (2 GPUs): equal to one process on the 2x batch, as with Gloo
  const job = { model: { model: 'pannet', bands: 4 }, bands: 4, samples: 16, batchSize: 2, steps: 6, device: 'cuda:0' };
  for (const worldSize of gpus >= 2 ? [1, 2] : [1]) {
    const store = { kind: 'file', path: join(dir, `train-${worldSize}.store`) };
    const ranks = await runRanks(
      'train-rank.ts',
      Array.from({ length: worldSize }, (_, rank) => ({
        ...job,
        device: `cuda:${rank}`,
        backend: 'nccl',
        rank,
        worldSize,
        store,
        out: join(dir, `nccl-${worldSize}-${rank}.bin`),
      })),
    );
    const [alone] = await runRanks('train-rank.ts', [
      { ...job, batchSize: job.batchSize * worldSize, rank: 0, worldSize: 0, out: join(dir, `alone-${worldSize}.bin`) },
    ]);
    const failed = (o: RankOutput | undefined) => o?.json?.error ?? (o?.json ? null : `no output ${o?.stderr.slice(-800)}`);
    for (const o of ranks) t.notOk(failed(o), `NCCL rank ${String(o.json?.rank)}: ${String(failed(o) ?? 'trained')}`);
    t.notOk(failed(alone), `alone: ${String(failed(alone) ?? 'trained')}`);
    if (ranks.some(failed) || failed(alone)) continue;
    const r = relativeDifference(read(join(dir, `nccl-${worldSize}-0.bin`)), read(join(dir, `alone-${worldSize}.bin`)), alone!.json!.sizes as number[]);
    // cuDNN's backward kernels may sum in another order from run to run: equal to 1e-5, not bit for bit
    t.ok(r.normwise <= 1e-5, `world ${worldSize}: weights equal training alone (‖Δw‖/‖w‖ = ${r.normwise.toExponential(2)})`);
    const losses = ranks[0]!.json!.losses as number[],
      lossesAlone = alone!.json!.losses as number[];
    t.ok(
      losses.length === lossesAlone.length && losses.every((l, i) => Math.abs(l - lossesAlone[i]!) <= 1e-5 * Math.abs(lossesAlone[i]!)),
      `world ${worldSize}: the same losses (${losses.map((l) => l.toPrecision(5)).join(', ')})`,
    );
  }
});
