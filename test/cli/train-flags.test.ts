// `specfuse train`: every trainer flag reaches the run (read back from the checkpoint's state.json
// and the files the run writes), --schedule step works, usage errors exit 2, --version.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWv3Set } from './fixtures/pancollection.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cli = join(root, 'bin', 'specfuse.js');
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-flags-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8' });

t.test('--version', async (t) => {
  const r = run('--version');
  t.equal(r.status, 0);
  t.equal(r.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
});

t.test('every trainer flag round-trips into the run', async (t) => {
  const data = join(tmp, 'train_wv3.h5'),
    valid = join(tmp, 'valid_wv3.h5');
  await writeWv3Set(data, 256, 32);
  await writeWv3Set(valid, 128, 32, 5);
  const out = join(tmp, 'run');
  const r = run(
    'train',
    '--model',
    'pnn',
    '--config',
    '{"bands":8}',
    '--data',
    data,
    '--valid',
    valid,
    '--steps',
    '6',
    '--batch-size',
    '2',
    '--lr',
    '2e-3',
    '--schedule',
    'step',
    '--step-size',
    '2',
    '--gamma',
    '0.5',
    '--warmup',
    '1',
    '--clip-grad-norm',
    '0.05',
    '--nan-policy',
    'skip',
    '--optimizer',
    'adamw',
    '--weight-decay',
    '0.01',
    '--groups',
    'conv3.*:lr=1e-3:wd=0.2',
    '--no-decay',
    '--eval-every',
    '2',
    '--metrics',
    'SAM,ERGAS',
    '--monitor',
    'valid.SAM',
    '--mode',
    'min',
    '--save-top-k',
    '2',
    '--early-stopping',
    '50',
    '--min-delta',
    '0.001',
    '--checkpoint-every',
    '3',
    '--keep-checkpoints',
    '3',
    '--log',
    'tensorboard,csv,jsonl',
    '--out',
    out,
    '--seed',
    '4',
    '--flips',
  );
  t.equal(r.status, 0, r.stderr);
  const ck = join(out, 'checkpoints');
  const state = JSON.parse(readFileSync(join(ck, readFileSync(join(ck, 'latest'), 'utf8').trim(), 'state.json'), 'utf8'));
  const o = state.options;
  t.equal(state.config.bands, 8, '--config');
  t.same([o.lr, o.batchSize, o.totalSteps, o.seed], [2e-3, 2, 6, 4], '--lr --batch-size --steps --seed');
  t.same(o.schedule, { kind: 'step', stepSize: 2, gamma: 0.5, warmup: 1 }, '--schedule step --step-size --gamma --warmup');
  t.same([o.clipGradNorm, o.nanPolicy, o.optimizer, o.weightDecay], [0.05, 'skip', 'adamw', 0.01], '--clip-grad-norm --nan-policy --optimizer --weight-decay');
  t.same(
    o.paramGroups.map((g: { name: string; lr: number; weightDecay: number }) => [g.name, g.lr, g.weightDecay]),
    [
      ['group0', 1e-3, 0.2],
      ['group0.no_decay', 1e-3, 0],
      ['default', 2e-3, 0.01],
      ['default.no_decay', 2e-3, 0],
    ],
    '--groups --no-decay',
  );
  t.same(
    [o.evalEvery, o.validation.metrics, o.monitor.metric, o.monitor.mode, o.saveTopK],
    [2, ['SAM', 'ERGAS'], 'valid.SAM', 'min', 2],
    '--eval-every --metrics --monitor --mode --save-top-k',
  );
  t.same(o.earlyStopping, { patience: 50, minDelta: 0.001 }, '--early-stopping --min-delta');
  t.equal(o.checkpointEvery, 3, '--checkpoint-every');
  t.equal(o.augment, true, '--flips');
  t.same(
    readdirSync(ck)
      .filter((d) => d.startsWith('step-'))
      .sort(),
    ['step-00000003', 'step-00000006'],
    'checkpoints every 3 steps, up to 3 kept',
  );
  t.equal(readdirSync(ck).filter((d) => d.startsWith('best-step-')).length, 2, 'top-2 best weights');
  for (const f of ['final.safetensors', 'best.safetensors', 'optimizer.torch.safetensors', 'metrics.csv', 'train.jsonl']) t.ok(existsSync(join(out, f)), f);
  t.ok(
    readdirSync(join(out, 'tensorboard')).some((f) => f.startsWith('events.out.tfevents.')),
    '--log tensorboard',
  );
  const jsonl = readFileSync(join(out, 'train.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(
    jsonl.filter((l) => l.event === 'step').map((l) => l.lr),
    [1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4],
    "warm-up step, then x0.5 every 2 steps, from the first group's 1e-3",
  );
  t.same(
    jsonl.filter((l) => l.event === 'valid').map((l) => l.step),
    [2, 4, 6],
  );
});

t.test('usage errors exit 2', async (t) => {
  const base = ['train', '--model', 'pnn', '--data', join(tmp, 'train_wv3.h5'), '--steps', '1'];
  for (const [args, msg] of [
    [['--schedule', 'linear'], /--schedule: expected constant \| cosine \| step, got 'linear'/],
    [['--schedule', 'step'], /--schedule step needs --step-size N/],
    [['--gamma', '0.5'], /--step-size and --gamma go with --schedule step/],
    [['--clip-grad-norm', 'big'], /--clip-grad-norm: expected a number/],
    [['--log', 'wandb'], /log: expected a list of tensorboard, csv, jsonl, got 'wandb'/],
    [['--groups', 'head.*:rate=1'], /unknown key 'rate'/],
    [['--metrics', 'SAMM'], /--metrics: unknown metric 'SAMM'/],
    [['--monitor', 'valid.SAM'], /'valid.SAM' is not computed/],
    [['--config', '[1]'], /--config: expected a JSON object/],
    [['--mode', 'up'], /--mode: expected min \| max/],
  ] as const) {
    const r = run(...base, ...args);
    t.equal(r.status, 2, `${args.join(' ')} exits 2`);
    t.match(r.stderr, msg);
  }
});
