/**
 * Data-parallel process groups on PyTorch's own distributed engine (c10d, from libtorch): Gloo for
 * CPU tensors, NCCL for CUDA tensors (one process per GPU, cuda:LOCAL_RANK; libtorch's
 * ProcessGroupNCCL through the optional plugin native/nccl_plugin), rendezvous through c10d's
 * TCPStore (torchrun's env://) or FileStore. One default
 * group per process, as torch.distributed has: initDistributed(), then allReduce / broadcast /
 * barrier (Promises; the collective runs on the compute thread, never on the JS thread), and
 * destroyDistributed(). train(model, { distributed: true }) uses it (lib/train/loop.ts).
 */
import { native, type NativeDistInfo } from '../native.js';
import type { Tensor } from '../tensor.js';
import { resolveDistributedOptions, type DistributedOptions } from './options.js';

export { distributedEnv, resolveDistributedOptions, type DistributedOptions, type StoreOptions, type DistributedEnv } from './options.js';

export type DistributedErrorCode = 'timeout' | 'peer-lost' | 'mismatch' | 'unsupported' | 'failed';

/**
 * A failure of the process group: `code` says which ('timeout': a peer never arrived or stopped
 * answering within the timeout; 'peer-lost': a peer's connection closed, it died or left;
 * 'mismatch': the ranks were started with different world sizes or configurations; 'unsupported':
 * a backend this build cannot run).
 */
export class DistributedError extends Error {
  readonly code: DistributedErrorCode;
  constructor(code: DistributedErrorCode, message: string) {
    super(message);
    this.name = 'DistributedError';
    this.code = code;
  }
}

const CODE = /^distributed \((timeout|peer-lost|mismatch|unsupported|failed)\): /;

/** Native errors of the group as DistributedError (by the code native/dist/errors.h puts in front). */
export function asDistributedError(e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof DistributedError) return e;
  const m = CODE.exec(e.message);
  return m ? new DistributedError(m[1] as DistributedErrorCode, e.message) : e;
}

async function wrap<T>(p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (e) {
    throw asDistributedError(e);
  }
}

export interface DistributedInfo {
  rank: number;
  worldSize: number;
  backend: string;
  /** torchrun's LOCAL_RANK (the rank on this machine), else the rank. */
  localRank: number;
  /** Where the group's tensors must live: 'cpu' for Gloo, 'cuda:<localRank>' for NCCL (also the compute thread's current CUDA device). */
  device: string;
}

let current: DistributedInfo | null = null;

/**
 * Joins the job's process group. Without arguments it reads torchrun's environment (RANK,
 * WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE): rank 0 hosts the
 * TCPStore unless torchrun's agent does. Ranks whose world size, backend or `fingerprint` differ fail
 * at once with a 'mismatch' DistributedError; a peer that does not arrive within `timeoutMs` gives a
 * 'timeout' one.
 */
export async function initDistributed(options: DistributedOptions = {}): Promise<DistributedInfo> {
  const r = resolveDistributedOptions(options);
  const info = await wrap(() => native.distInit(r.native));
  current = { rank: info.rank, worldSize: info.worldSize, backend: info.backend, localRank: r.localRank, device: info.device };
  return current;
}

/** The group joined by initDistributed, or null. */
export function distributedInfo(): DistributedInfo | null {
  return current;
}

/** Rank, world size, device, seconds spent in collectives so far, and the Gloo layout probe (-1s for NCCL); null without a group. */
export function distributedStats(): NativeDistInfo | null {
  return native.distInfo();
}

function requireGroup(what: string): DistributedInfo {
  if (!current) throw new Error(`${what}: the process group is not initialized; await initDistributed() first`);
  return current;
}

/** Reduces `tensor` in place across ranks (on the group's device: CPU for Gloo, cuda:LOCAL_RANK for NCCL): sum by default. */
export function allReduce(tensor: Tensor, op: 'sum' | 'mean' | 'max' | 'min' = 'sum'): Promise<void> {
  requireGroup('allReduce');
  return wrap(() => native.distAllReduce(tensor.native, op));
}

/** Overwrites `tensor` (on the group's device) on every rank with rank `root`'s. */
export function broadcast(tensor: Tensor, root = 0): Promise<void> {
  requireGroup('broadcast');
  return wrap(() => native.distBroadcast(tensor.native, root));
}

/** Resolves once every rank has reached it. */
export function barrier(): Promise<void> {
  requireGroup('barrier');
  return wrap(() => native.distBarrier());
}

/** Rejects with a 'mismatch' DistributedError unless every rank passes the same `value` for `name`. */
export function agree(name: string, value: string): Promise<void> {
  requireGroup('agree');
  return wrap(() => native.distAgree(name, value));
}

/** Leaves the group (rank 0's store server closes with it: call barrier() first when peers still use it). */
export async function destroyDistributed(): Promise<void> {
  current = null;
  await wrap(() => native.distDestroy());
}
