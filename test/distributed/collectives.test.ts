// c10d process groups across 2 processes on loopback: all-reduce, broadcast and barrier through a
// FileStore and a TCPStore, a Python torch.distributed rank in the same Gloo group, and the typed
// errors (a killed peer, a peer that never arrives, ranks started with different world sizes,
// no launcher environment). backend 'nccl' has its own tests: nccl.test.ts.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../lib/native.js';
import { initDistributed } from '../../lib/index.js';
import { fixture, freePort, runProcess, runRanks } from './ranks.js';

const dir = mkdtempSync(join(tmpdir(), 'specfuse-dist-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const expected = { summed: [3, 6, 9, 12, 15], max: [1.5], broadcast: [17, 1] };

for (const kind of ['file', 'tcp'] as const) {
  t.test(`all-reduce, broadcast and barrier through a ${kind} store`, async (t) => {
    const store = kind === 'file' ? { kind, path: join(dir, 'collectives.store') } : { kind, host: '127.0.0.1', port: await freePort() };
    const outs = await runRanks(
      'collectives.ts',
      [0, 1].map((rank) => ({ rank, worldSize: 2, store, timeoutMs: 30000, mode: 'collectives' })),
    );
    for (const [rank, o] of outs.entries()) {
      t.equal(o.code, 0, `rank ${rank} exits 0 ${o.stderr.slice(-500)}`);
      t.match(o.json, { rank, worldSize: 2, ...expected }, `rank ${rank}: sums, max and rank 1's broadcast`);
      // ProcessGroupGloo's members read through our declarations (native/dist/gloo_api): what was set
      t.same(
        o.json?.layout,
        { threads: 2, optionThreads: 2, devices: 1, timeoutMs: 30000, backendName: 'gloo', rank, size: 2 },
        `rank ${rank}: the Gloo group's options read back as set (layout)`,
      );
    }
  });
}

t.test('a specfuse rank and a Python torch.distributed rank all-reduce in one Gloo group', async (t) => {
  const port = await freePort();
  const python = join(packageRoot, '.venv', 'bin', 'python');
  const [js, py] = await Promise.all([
    runRanks('collectives.ts', [
      { rank: 0, worldSize: 2, store: { kind: 'tcp', host: '127.0.0.1', port }, timeoutMs: 30000, mode: 'collectives', checkPeers: false, withPython: true },
    ]),
    runProcess(python, [fixture('py_rank.py'), '30'], { MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: '1', WORLD_SIZE: '2' }),
  ]);
  t.equal(py.code, 0, `the Python rank exits 0 ${py.stderr.slice(-800)}`);
  t.same(py.json, { rank: 1, summed: expected.summed, broadcast: expected.broadcast }, 'Python sees the sum and its own broadcast');
  t.match(js[0]!.json, { rank: 0, summed: expected.summed, broadcast: expected.broadcast }, 'specfuse sees the same');
});

t.test('a killed peer: the other rank fails with peer-lost at once, no hang', async (t) => {
  const store = { kind: 'tcp', host: '127.0.0.1', port: await freePort() };
  const [survivor, killed] = await runRanks('collectives.ts', [
    { rank: 0, worldSize: 2, store, timeoutMs: 20000, mode: 'survivor' },
    { rank: 1, worldSize: 2, store, timeoutMs: 20000, mode: 'die-after-init' },
  ]);
  t.equal(killed!.signal, 'SIGKILL', 'rank 1 was killed');
  t.match(survivor!.json, { code: 'peer-lost', error: /^distributed \(peer-lost\): all-reduce \(rank 0 of 2\).*Connection closed by peer/ });
  t.ok((survivor!.json?.seconds as number) < 20, `within the timeout (${(survivor!.json?.seconds as number).toFixed(2)} s)`);
});

t.test('a peer that never arrives: a timeout error after timeoutMs', async (t) => {
  const [alone] = await runRanks('collectives.ts', [
    { rank: 0, worldSize: 2, store: { kind: 'tcp', host: '127.0.0.1', port: await freePort() }, timeoutMs: 3000, mode: 'collectives' },
  ]);
  t.match(alone!.json, {
    code: 'timeout',
    error:
      /^distributed \(timeout\): waiting for every rank to publish its fingerprint \(rank 0 of 2; a rank that is not specfuse .* needs checkPeers: false here\)/,
  });
  const s = alone!.json?.seconds as number;
  t.ok(s >= 2.9 && s < 15, `after the 3 s timeout (${s.toFixed(2)} s)`);
  t.ok((alone!.json?.turns as number) > 100, `the event loop kept turning while it waited (${String(alone!.json?.turns)} turns)`);
});

t.test('ranks started with different world sizes or fingerprints fail at start with mismatch', async (t) => {
  const path = join(dir, 'mismatch.store');
  const outs = await runRanks('collectives.ts', [
    { rank: 0, worldSize: 2, store: { kind: 'file', path }, timeoutMs: 10000, mode: 'collectives' },
    { rank: 1, worldSize: 3, store: { kind: 'file', path }, timeoutMs: 10000, mode: 'collectives' },
  ]);
  for (const o of outs) t.match(o.json, { code: 'mismatch', error: /fingerprint differs between rank \d \(world=\d;backend=gloo;\) and rank \d \(world=\d/ });
  const path2 = join(dir, 'mismatch2.store');
  const fp = await runRanks(
    'collectives.ts',
    [0, 1].map((rank) => ({ rank, worldSize: 2, store: { kind: 'file', path: path2 }, timeoutMs: 10000, mode: 'collectives', fingerprint: `lr=${rank}` })),
  );
  for (const o of fp) t.match(o.json, { code: 'mismatch', error: /lr=0.*lr=1|lr=1.*lr=0/ });
});

t.test('bad configurations are typed errors in this process', async (t) => {
  await t.rejects(
    initDistributed({ env: {} }),
    new TypeError('initDistributed: no rank / world size: pass { rank, worldSize } or launch with torchrun (it sets RANK and WORLD_SIZE)'),
  );
  await t.rejects(initDistributed({ env: { RANK: '0', WORLD_SIZE: '2' } }), /no store: pass \{ store \} or set MASTER_ADDR and MASTER_PORT/);
  await t.rejects(initDistributed({ rank: 2, worldSize: 2, store: { kind: 'file', path: 'x' } }), RangeError);
  await t.rejects(initDistributed({ env: { RANK: 'one', WORLD_SIZE: '2' } }), /RANK: expected a non-negative integer, got 'one'/);
  await t.rejects(
    initDistributed({ backend: 'mpi' as never, rank: 0, worldSize: 1, store: { kind: 'file', path: 'x' } }),
    /backend: expected 'gloo' or 'nccl'/,
  );
});
