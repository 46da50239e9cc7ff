// kill -9 while checkpoints are being written: the latest checkpoint is always intact and loadable,
// and training resumes from it.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpoint } from '../../lib/index.js';

const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'specfuse-crash-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function runAndKill(afterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import=tsx', child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.once('data', () => setTimeout(() => p.kill('SIGKILL'), afterMs));
    p.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child ended on its own (${code})`))));
  });
}

t.test('SIGKILL at random moments never leaves a broken latest checkpoint', async (t) => {
  let last = -1;
  const delays = [700, 1100, 1300, 1700, 2300];
  for (const ms of delays) {
    await runAndKill(ms);
    const ck = readCheckpoint(dir); // throws if state.json or a safetensors file is damaged
    if (!ck) continue;
    t.equal(ck.weights.size, 6, `checkpoint at step ${ck.state.batches} has all weights`);
    t.ok(ck.optimizer.has('net.0.weight.exp_avg'), 'and the optimizer state');
    t.ok(ck.state.batches >= last, 'progress is never lost');
    last = ck.state.batches;
  }
  t.ok(last > 0, `checkpoints were written (last at step ${last})`);
  t.ok(readdirSync(dir).filter((d) => d.startsWith('step-')).length <= 2 + 1, 'old checkpoints are pruned');
});
