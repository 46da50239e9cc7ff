// `specfuse train --nproc 2` and `torchrun --no-python --nproc-per-node 2 node bin/specfuse.js train`
// on the real IKONOS scene: both train data-parallel, write one set of checkpoints and results (rank
// 0's), and end with the same weights (same seed, same global batches).
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA, dataUnavailable } from '../protocol/helpers.js';
import { runProcess } from './ranks.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cli = join(root, 'bin', 'specfuse.js');
const torchrun = join(root, '.venv', 'bin', 'torchrun');
const skip = dataUnavailable('ikonos_vitale.mat') || (existsSync(torchrun) ? false : 'no .venv/bin/torchrun');
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-dist-cli-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const args = (out: string) => [
  'train',
  '--model',
  'fusionnet',
  '--bands',
  '4',
  '--scene',
  join(DATA, 'ikonos_vitale.mat'),
  '--patch',
  '64',
  '--stride',
  '64',
  '--steps',
  '4',
  '--batch-size',
  '2',
  '--checkpoint-every',
  '2',
  '--out',
  out,
];

function checkRunFolder(t: Test, out: string): void {
  t.same(readdirSync(out).sort(), ['checkpoints', 'final.safetensors', 'heldout.json', 'optimizer.torch.safetensors', 'train.jsonl'], 'one set of results');
  t.same(
    readdirSync(join(out, 'checkpoints'))
      .filter((d) => d.startsWith('step-'))
      .sort(),
    ['step-00000002', 'step-00000004'],
    'one set of checkpoints',
  );
  const steps = readFileSync(join(out, 'train.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step?: number })
    .filter((e) => e.step !== undefined && 'train.loss' in e);
  t.same(
    steps.map((e) => e.step),
    [1, 2, 3, 4],
    'one log line per step (rank 0 alone logs)',
  );
}

t.test('specfuse train --nproc 2 and torchrun run the same data-parallel training', { skip }, async (t) => {
  const a = join(tmp, 'nproc'),
    b = join(tmp, 'torchrun');
  const local = await runProcess(process.execPath, [cli, ...args(a), '--nproc', '2']);
  t.equal(local.code, 0, `--nproc 2 exits 0${local.code ? ` ${local.stderr.slice(-600)}` : ''}`);
  checkRunFolder(t, a);
  const tr = await runProcess(torchrun, ['--no-python', '--nproc-per-node', '2', process.execPath, cli, ...args(b)]);
  t.equal(tr.code, 0, `torchrun exits 0${tr.code ? ` ${tr.stderr.slice(-600)}` : ''}`);
  checkRunFolder(t, b);
  t.ok(readFileSync(join(a, 'final.safetensors')).equals(readFileSync(join(b, 'final.safetensors'))), 'the same final weights, byte for byte');
});

t.test('--nproc: a bad count is a usage error', async (t) => {
  const r = await runProcess(process.execPath, [cli, ...args(join(tmp, 'bad')), '--nproc', '0']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--nproc/);
});

t.test('SIGINT to specfuse train --nproc 2: every rank stops at the same step, rank 0 saves it', { skip }, async (t) => {
  const out = join(tmp, 'interrupted');
  const argv = args(out).map((a, i, all) => (all[i - 1] === '--steps' ? '400' : a)); // long enough to be interrupted
  const p = spawn(process.execPath, [cli, ...argv, '--nproc', '2'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SPECFUSE_NUM_THREADS: '1' },
  });
  let err = '',
    sent = false;
  p.stderr.on('data', (c) => {
    err += c;
    if (!sent && /\] [1-9]\d*\/400/.test(err)) {
      sent = true;
      p.kill('SIGINT');
    } // after the first step
  });
  const code = await new Promise<number | null>((resolve) => p.once('exit', (c) => resolve(c)));
  t.equal(code, 130, `exit 130 ${code === 130 ? '' : err.slice(-600)}`);
  t.ok(existsSync(join(out, 'aborted.safetensors')) && !existsSync(join(out, 'final.safetensors')), 'aborted.safetensors, no final');
  const steps = readdirSync(join(out, 'checkpoints')).filter((d) => d.startsWith('step-'));
  t.equal(steps.length, 1, `one checkpoint (${steps.join(', ')})`);
  t.notMatch(err, /distributed \(/, 'no rank failed on a collective');
});
