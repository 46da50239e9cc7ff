/** How initDistributed's options and torchrun's environment become the native group's settings. */
import { availableParallelism } from 'node:os';
import type { ConfigValue } from '../native.js';

export type StoreOptions =
  /** A file every rank of one machine can open (created by the first; c10d's FileStore). */
  | { kind: 'file'; path: string }
  /** c10d's TCPStore at host:port; `isServer` (default: rank 0 unless torchrun's agent hosts it) hosts it. */
  | { kind: 'tcp'; host: string; port: number; isServer?: boolean };

export interface DistributedOptions {
  /**
   * 'gloo' (default): CPU tensors. 'nccl': CUDA tensors on this rank's GPU, cuda:LOCAL_RANK (one
   * process per GPU, as torchrun starts them); needs a GPU and the NCCL plugin (built when CUDA's and
   * NCCL's headers are present: `npm run cuda`, then rebuild), else a DistributedError 'unsupported'.
   */
  backend?: 'gloo' | 'nccl';
  /** Default: tcp at MASTER_ADDR:MASTER_PORT (torchrun, Slurm scripts). */
  store?: StoreOptions;
  /** Default: RANK. */
  rank?: number;
  /** Default: WORLD_SIZE. */
  worldSize?: number;
  /** The rank on this machine, whose GPU cuda:localRank backend 'nccl' drives. Default: LOCAL_RANK, else the rank. */
  localRank?: number;
  /** How long to wait for peers and for each collective (default 30 minutes, torch's default). */
  timeoutMs?: number;
  /** Compared across ranks at start (e.g. the training configuration): a difference is a 'mismatch' error. */
  fingerprint?: string;
  /** false: skip the start-up exchange (when a peer is not specfuse, e.g. a Python torch.distributed rank). */
  checkPeers?: boolean;
  /** The address this rank's Gloo device binds to (default: loopback for a file store or a loopback master, else c10d's choice, which honours GLOO_SOCKET_IFNAME). */
  hostname?: string;
  /** The environment to read (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface DistributedEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  masterAddr?: string;
  masterPort?: number;
  /** torchrun's agent hosts the TCPStore: every rank is a client. */
  agentStore: boolean;
}

function envInt(env: Record<string, string | undefined>, key: string): number | undefined {
  const v = env[key];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${key}: expected a non-negative integer, got '${v}'`);
  return n;
}

/** torchrun's (and Slurm scripts') variables, or null when RANK / WORLD_SIZE are not set. */
export function distributedEnv(env: Record<string, string | undefined> = process.env): DistributedEnv | null {
  const rank = envInt(env, 'RANK');
  const worldSize = envInt(env, 'WORLD_SIZE');
  if (rank === undefined || worldSize === undefined) return null;
  return {
    rank,
    worldSize,
    localRank: envInt(env, 'LOCAL_RANK') ?? rank,
    localWorldSize: envInt(env, 'LOCAL_WORLD_SIZE') ?? worldSize,
    masterAddr: env.MASTER_ADDR || undefined,
    masterPort: envInt(env, 'MASTER_PORT'),
    agentStore: env.TORCHELASTIC_USE_AGENT_STORE === 'True',
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

export function resolveDistributedOptions(o: DistributedOptions): { native: Record<string, ConfigValue>; localRank: number } {
  if (o === null || typeof o !== 'object') throw new TypeError('initDistributed: options: expected an object');
  const env = o.env ?? process.env;
  const fromEnv = distributedEnv(env);
  const rank = o.rank ?? fromEnv?.rank;
  const worldSize = o.worldSize ?? fromEnv?.worldSize;
  if (rank === undefined || worldSize === undefined) {
    throw new TypeError('initDistributed: no rank / world size: pass { rank, worldSize } or launch with torchrun (it sets RANK and WORLD_SIZE)');
  }
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`initDistributed: worldSize: expected an integer >= 1, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw new RangeError(`initDistributed: rank: expected an integer in 0..${worldSize - 1}, got ${rank}`);
  const backend = o.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new RangeError(`initDistributed: backend: expected 'gloo' or 'nccl', got '${String(backend)}'`);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1) throw new RangeError('initDistributed: timeoutMs: expected a positive number of milliseconds');
  let store = o.store;
  if (!store) {
    if (!fromEnv?.masterAddr || fromEnv.masterPort === undefined) {
      throw new TypeError('initDistributed: no store: pass { store } or set MASTER_ADDR and MASTER_PORT (torchrun does)');
    }
    store = { kind: 'tcp', host: fromEnv.masterAddr, port: fromEnv.masterPort, isServer: rank === 0 && !fromEnv.agentStore };
  }
  const localRank = o.localRank ?? fromEnv?.localRank ?? rank;
  if (!Number.isInteger(localRank) || localRank < 0) throw new RangeError(`initDistributed: localRank: expected a non-negative integer, got ${localRank}`);
  const out: Record<string, ConfigValue> = { backend, rank, worldSize, localRank, timeoutMs: Math.round(timeoutMs), checkPeers: o.checkPeers ?? true };
  if (o.fingerprint !== undefined) out.fingerprint = String(o.fingerprint);
  if (store.kind === 'file') {
    if (typeof store.path !== 'string' || !store.path) throw new TypeError('initDistributed: store.path: expected a file path');
    Object.assign(out, { storeKind: 'file', path: store.path });
  } else if (store.kind === 'tcp') {
    if (typeof store.host !== 'string' || !store.host) throw new TypeError('initDistributed: store.host: expected a host name or address');
    if (!Number.isInteger(store.port) || store.port < 0 || store.port > 65535)
      throw new RangeError(`initDistributed: store.port: expected 0..65535, got ${store.port}`);
    Object.assign(out, { storeKind: 'tcp', host: store.host, port: store.port, isServer: store.isServer ?? rank === 0 });
  } else {
    throw new RangeError(`initDistributed: store.kind: expected 'file' or 'tcp', got '${String((store as { kind: unknown }).kind)}'`);
  }
  // Gloo's device address: c10d's default resolves this machine's hostname (and honours
  // GLOO_SOCKET_IFNAME); a single-machine job stays on loopback, which always resolves.
  const hostname = o.hostname ?? (env.GLOO_SOCKET_IFNAME ? '' : store.kind === 'file' || LOOPBACK.has(store.host) ? '127.0.0.1' : '');
  if (hostname) out.hostname = hostname;
  return { native: out, localRank };
}

/**
 * One data-parallel rank's device and backend for a `--device` choice: CUDA under several ranks is
 * NCCL with each rank on its own GPU, cuda:LOCAL_RANK (torchrun's convention: one process per GPU);
 * the CPU is Gloo. An explicit cuda:N would put every rank on one GPU, which NCCL refuses.
 */
export function rankPlacement(device: string | undefined, localRank: number): { device: string | undefined; backend: 'gloo' | 'nccl' } {
  if (device === undefined || device === 'cpu') return { device, backend: 'gloo' };
  if (device === 'cuda') return { device: `cuda:${localRank}`, backend: 'nccl' };
  throw new RangeError(`--device ${device}: with several ranks give 'cuda' (each rank takes cuda:LOCAL_RANK, one process per GPU) or 'cpu'`);
}

/** Intra-op threads for one of `localWorldSize` processes sharing this machine's cores. */
export function threadsPerProcess(localWorldSize: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, localWorldSize)));
}
