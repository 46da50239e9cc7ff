// Native work runs off the JS thread: the event loop keeps turning during a forward.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createModel, rand, memory } from '../../lib/index.js';
import { turnsWhilePending } from '../helpers/event-loop.js';

// Counted, not timed: the loop must turn while a forward is in flight, however fast the machine.
// The work grows until the loop has turned MIN_TURNS times during one forward; work on the JS thread
// never lets one turn through at any size, so it would reach the largest size and fail.
const MIN_TURNS = 10;
const MAX_ROWS = 1 << 14;

t.test('the event loop keeps turning while a native forward runs', async (t) => {
  const m = createModel({ model: 'mlp', inFeatures: 256, hidden: 256, outFeatures: 256, layers: 2 });
  let best = 0;
  let rows = 64;
  for (; rows <= MAX_ROWS; rows *= 2) {
    const x = rand([rows, 256]);
    const { turns, value } = await turnsWhilePending(() => m.forward({ x }));
    value.dispose();
    x.dispose();
    best = Math.max(best, turns);
    if (turns >= MIN_TURNS) break;
  }
  t.ok(best >= MIN_TURNS, `${best} event-loop turns during one forward of ${Math.min(rows, MAX_ROWS)} rows`);
  m.dispose();
  t.equal(memory().tensors, 0);
});

t.test('the same count is zero for work done on the JS thread (the check above can fail)', async (t) => {
  const a = rand([256, 256]);
  // An async function runs synchronously up to its first await: this is what a forward computed on
  // the JS thread and returned as a resolved promise would look like.
  const { turns, value } = await turnsWhilePending(async () => {
    let y = a.matmul(a);
    for (let i = 0; i < 20; i++) {
      const next = y.matmul(a).div(256);
      y.dispose();
      y = next;
    }
    return y;
  });
  t.equal(turns, 0, 'no turn of the event loop while the JS thread computes');
  value.dispose();
  a.dispose();
});

t.test('data() resolves off-thread and concurrent forwards of one module work', async (t) => {
  const m = createModel({ model: 'mlp', inFeatures: 8, hidden: 16, outFeatures: 2 });
  const xs = Array.from({ length: 8 }, () => rand([32, 8]));
  const ys = await Promise.all(xs.map((x) => m.forward({ x })));
  for (const [i, y] of ys.entries()) {
    const again = await m.forward({ x: xs[i]! });
    t.ok(again.equal(y), `forward ${i} is deterministic`);
    again.dispose();
  }
  for (const d of [...xs, ...ys, m]) d.dispose();
});

t.test('no libuv pool thread waits on native work: a file read finishes while 8 forwards are in flight', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const m = createModel({ model: 'mlp', inFeatures: 256, hidden: 256, outFeatures: 256, layers: 2 });
  const x = rand([8192, 256]);
  let settled = 0;
  const forwards = Array.from({ length: 8 }, () =>
    m.forward({ x }).then((y) => {
      settled++;
      return y;
    }),
  );
  await readFile(new URL(import.meta.url));
  // A task that held a pool thread while the compute thread worked would take all four of libuv's
  // threads and queue the read behind at least five forwards (the read was queued after all eight).
  // Anything under five passes: on a loaded machine the read's own pool thread may be descheduled
  // while a few forwards finish, which says nothing about parked threads.
  t.ok(settled < 5, `${settled} of 8 forwards settled before the read finished`);
  for (const y of await Promise.all(forwards)) y.dispose();
  x.dispose();
  m.dispose();
});

t.test('pending native work keeps the process alive; idle, the addon does not', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const lib = new URL('../../lib/index.ts', import.meta.url).href;
  const script = `import { createModel, rand } from ${JSON.stringify(lib)};
    const m = createModel({ model: 'mlp', inFeatures: 8, hidden: 8, outFeatures: 2 });
    m.forward({ x: rand([4, 8]) }).then((y) => console.log('settled', y.shape.join('x')));`;
  const out = execFileSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  t.equal(out.trim(), 'settled 4x2', 'the process waited for the forward, then exited');
});

t.test('process.exit while a forward runs ends with its code, not a crash in exit-time teardown', async (t) => {
  // exit() ran libtorch's static destructors under the running task: SIGSEGV, no exit code (a
  // supervisor reads that as a crash; the CLI's second Ctrl-C hit it on every run).
  const child = fileURLToPath(new URL('./fixtures/exit-mid-task.ts', import.meta.url));
  for (const code of [0, 7]) {
    const r = spawnSync(process.execPath, ['--import=tsx', child, String(code)], { encoding: 'utf8', env: { ...process.env, SPECFUSE_NUM_THREADS: '1' } });
    t.equal(r.signal, null, `no death by signal (stderr: ${r.stderr.slice(-300)})`);
    t.equal(r.status, code, `exit code ${code}`);
    t.equal(r.stdout, 'exiting\n', 'the process ended during the forward');
  }
});
