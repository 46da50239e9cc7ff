// How initDistributed reads torchrun's environment, and the --nproc launcher's argument handling.
import t from 'tap';
import { distributedEnv, resolveDistributedOptions } from '../../lib/distributed/index.js';
import { rankPlacement, threadsPerProcess } from '../../lib/distributed/options.js';
import { withoutOption } from '../../lib/train/launch.js';

t.test('torchrun env://: rank 0 hosts the TCPStore, unless the agent does', async (t) => {
  const env = { RANK: '0', WORLD_SIZE: '4', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: 'node1', MASTER_PORT: '29500' };
  t.same(distributedEnv(env), { rank: 0, worldSize: 4, localRank: 0, localWorldSize: 2, masterAddr: 'node1', masterPort: 29500, agentStore: false });
  t.match(resolveDistributedOptions({ env }).native, { storeKind: 'tcp', host: 'node1', port: 29500, isServer: true, rank: 0, worldSize: 4, backend: 'gloo' });
  t.equal(resolveDistributedOptions({ env }).native.hostname, undefined, 'another machine: c10d picks the Gloo address');
  const agent = { ...env, TORCHELASTIC_USE_AGENT_STORE: 'True' };
  t.equal(resolveDistributedOptions({ env: agent }).native.isServer, false, "torchrun's agent hosts the store: rank 0 is a client");
  t.equal(resolveDistributedOptions({ env: { ...env, RANK: '3', LOCAL_RANK: '1' } }).native.isServer, false, 'other ranks are clients');
  t.equal(resolveDistributedOptions({ env: { ...env, RANK: '3', LOCAL_RANK: '1' } }).localRank, 1);
  t.equal(
    resolveDistributedOptions({ env: { ...env, RANK: '3', LOCAL_RANK: '1' } }).native.localRank,
    1,
    "LOCAL_RANK reaches the native group (NCCL's cuda:LOCAL_RANK)",
  );
  t.equal(resolveDistributedOptions({ env: { ...env, RANK: '3', LOCAL_RANK: undefined } }).native.localRank, 3, 'no LOCAL_RANK: the rank');
  t.equal(resolveDistributedOptions({ env: { ...env, MASTER_ADDR: '127.0.0.1' } }).native.hostname, '127.0.0.1', 'loopback master: Gloo on loopback');
  t.equal(
    resolveDistributedOptions({ env: { ...env, MASTER_ADDR: '127.0.0.1', GLOO_SOCKET_IFNAME: 'eth0' } }).native.hostname,
    undefined,
    'GLOO_SOCKET_IFNAME is left to c10d',
  );
  t.equal(distributedEnv({ WORLD_SIZE: '2' }), null, 'no RANK: not launched as a rank');
});

t.test('explicit options win over the environment; bad values are typed errors', async (t) => {
  const env = { RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: 'a', MASTER_PORT: '1' };
  t.match(resolveDistributedOptions({ env, rank: 0, worldSize: 1, store: { kind: 'file', path: '/x' }, timeoutMs: 5000 }).native, {
    rank: 0,
    worldSize: 1,
    storeKind: 'file',
    path: '/x',
    timeoutMs: 5000,
    hostname: '127.0.0.1',
  });
  t.equal(resolveDistributedOptions({ env: { ...env, LOCAL_RANK: '1' }, localRank: 0 }).native.localRank, 0, 'localRank over LOCAL_RANK');
  t.throws(() => resolveDistributedOptions({ env, localRank: -1 }), /localRank: expected a non-negative integer, got -1/);
  t.throws(() => resolveDistributedOptions({ env, timeoutMs: 0 }), RangeError);
  t.throws(() => resolveDistributedOptions({ env, store: { kind: 'tcp', host: 'h', port: 70000 } }), RangeError);
  t.throws(() => resolveDistributedOptions({ env, store: { kind: 'disk' } as never }), /store.kind: expected 'file' or 'tcp'/);
  t.throws(() => resolveDistributedOptions({ env: { ...env, MASTER_PORT: '-1' } }), /MASTER_PORT: expected a non-negative integer/);
});

t.test('--nproc: the ranks run the command without it; the cores are split', async (t) => {
  t.same(withoutOption(['--model', 'pnn', '--nproc', '2', '--steps', '3'], '--nproc'), ['--model', 'pnn', '--steps', '3']);
  t.same(withoutOption(['--nproc=4', '--out', 'r'], '--nproc'), ['--out', 'r']);
  t.equal(threadsPerProcess(2, 16), 8);
  t.equal(threadsPerProcess(3, 2), 1, 'never below one thread');
});

t.test('--device under several ranks: CPU is Gloo, cuda is NCCL on cuda:LOCAL_RANK', async (t) => {
  t.same(rankPlacement(undefined, 1), { device: undefined, backend: 'gloo' });
  t.same(rankPlacement('cpu', 1), { device: 'cpu', backend: 'gloo' });
  t.same(rankPlacement('cuda', 3), { device: 'cuda:3', backend: 'nccl' }, 'one process per GPU');
  t.throws(() => rankPlacement('cuda:0', 1), /--device cuda:0: with several ranks give 'cuda'/, 'every rank on one GPU is refused');
});
