// `specfuse train --nproc 2` and `torchrun --no-python --nproc-per-node 2 node bin/specfuse.js train`
// on the real IKONOS scene: both train data-parallel, write one set of checkpoints and results (rank
// 0's), and end with the same weights (same seed, same global batches).
import t, { type Test } from 'tap';
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

const args = (out: string) => ['train', '--model', 'fusionnet', '--bands', '4', '--scene', join(DATA, 'ikonos_vitale.mat'), '--patch', '64', '--stride', '64',
  '--steps', '4', '--batch-size', '2', '--checkpoint-every', '2', '--out', out];

function checkRunFolder(t: Test, out: string): void {
  t.same(readdirSync(out).sort(), ['checkpoints', 'final.safetensors', 'heldout.json', 'optimizer.torch.safetensors', 'train.jsonl'], 'one set of results');
  t.same(readdirSync(join(out, 'checkpoints')).filter((d) => d.startsWith('step-')).sort(), ['step-00000002', 'step-00000004'], 'one set of checkpoints');
  const steps = readFileSync(join(out, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step?: number }).filter((e) => e.step !== undefined && 'train.loss' in e);
  t.same(steps.map((e) => e.step), [1, 2, 3, 4], 'one log line per step (rank 0 alone logs)');
}

t.test('specfuse train --nproc 2 and torchrun run the same data-parallel training', { skip }, async (t) => {
  const a = join(tmp, 'nproc'), b = join(tmp, 'torchrun');
  const local = await runProcess(process.execPath, [cli, ...args(a), '--nproc', '2']);
  t.equal(local.code, 0, `--nproc 2 exits 0${local.code ? ` ${local.stderr.slice(-600)}` : ""}`);
  checkRunFolder(t, a);
  const tr = await runProcess(torchrun, ['--no-python', '--nproc-per-node', '2', process.execPath, cli, ...args(b)]);
  t.equal(tr.code, 0, `torchrun exits 0${tr.code ? ` ${tr.stderr.slice(-600)}` : ""}`);
  checkRunFolder(t, b);
  t.ok(readFileSync(join(a, 'final.safetensors')).equals(readFileSync(join(b, 'final.safetensors'))), 'the same final weights, byte for byte');
});

t.test('--nproc: a bad count is a usage error', async (t) => {
  const r = await runProcess(process.execPath, [cli, ...args(join(tmp, 'bad')), '--nproc', '0']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--nproc/);
});
