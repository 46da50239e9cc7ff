/**
 * Training checkpoints: one folder per checkpoint holding the weights (model.safetensors), the
 * optimizer state and libtorch's RNG state (optimizer.safetensors) and the loop state (state.json:
 * step, epoch, position, config, schedule, history). A checkpoint is written into a temporary
 * folder, fsynced and renamed into place, and only then does `latest` (itself replaced atomically)
 * point at it: a crash at any moment leaves the previous checkpoint intact and loadable.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HostArray } from '../host.js';
import { readSafetensors, writeSafetensors } from '../checkpoint-formats/index.js';
import { fsyncPath, writeFileAtomic } from '../atomic.js';
import type { Tensor } from '../tensor.js';

export interface LoopState {
  version: 1;
  family: string;
  stage: number;
  /** optimizer steps taken (and batches consumed, skipped ones included) */
  step: number;
  batches: number;
  epoch: number;
  /** batches consumed in the current epoch */
  position: number;
  skipped: number;
  /** The best monitored validation value (options.monitor), the step it was reached at, the top-k weight files. */
  bestValid: number | null;
  bestStep?: number | null;
  topK?: Array<{ step: number; value: number; path: string }>;
  evalsWithoutImprovement: number;
  config: Record<string, unknown>;
  options: Record<string, unknown>;
}

export interface Checkpoint {
  dir: string;
  state: LoopState;
  weights: Map<string, HostArray>;
  optimizer: Map<string, HostArray>;
}

async function toHost(tensors: Record<string, Tensor>): Promise<Map<string, HostArray>> {
  const out = new Map<string, HostArray>();
  for (const [k, t] of Object.entries(tensors)) out.set(k, await t.toHost());
  return out;
}

/** The PID a temporary name ends with ('.tmp-step-00000200-<pid>', 'latest.tmp-<pid>-<n>'). */
function ownerPid(name: string): number | undefined {
  const m = name.match(/^\.tmp-.*-(\d+)$/) ?? name.match(/^latest\.tmp-(\d+)-\d+$/);
  return m ? Number(m[1]) : undefined;
}

function running(pid: number): boolean {
  if (pid === process.pid) return false; // our own leftovers are from an earlier, failed write
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes checkpoint `name` under `root` and points `latest` at it. Keeps the newest `keep`. */
export async function writeCheckpoint(
  root: string,
  name: string,
  parts: {
    state: LoopState;
    weights: Record<string, Tensor>;
    optimizer: Record<string, Tensor>;
  },
  keep = 2,
): Promise<string> {
  mkdirSync(root, { recursive: true });
  // leftovers of writes killed midway (a folder or a 'latest' being replaced): never read, safe to
  // drop, but only when the process that made them is gone (never another live run's write)
  for (const d of readdirSync(root)) {
    const pid = ownerPid(d);
    if (pid !== undefined && !running(pid)) rmSync(join(root, d), { recursive: true, force: true });
  }
  const weights = writeSafetensors(await toHost(parts.weights), { family: parts.state.family });
  const optimizer = writeSafetensors(await toHost(parts.optimizer));
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    writeFileAtomic(join(tmp, 'model.safetensors'), weights);
    writeFileAtomic(join(tmp, 'optimizer.safetensors'), optimizer);
    writeFileAtomic(join(tmp, 'state.json'), new TextEncoder().encode(JSON.stringify(parts.state, null, 2)));
    fsyncPath(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true }); // a failed write (full disk) leaves nothing behind
    throw e;
  }
  const final = join(root, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  fsyncPath(root);
  writeFileAtomic(join(root, 'latest'), new TextEncoder().encode(name + '\n'));
  // prune older checkpoints (never the one just written)
  const all = readdirSync(root)
    .filter((d) => d.startsWith('step-') && d !== name)
    .sort();
  for (const old of all.slice(0, Math.max(0, all.length - (keep - 1)))) rmSync(join(root, old), { recursive: true, force: true });
  return final;
}

/** The checkpoint `latest` points at (or a given checkpoint folder); null when there is none. */
export function readCheckpoint(rootOrDir: string): Checkpoint | null {
  let dir = rootOrDir;
  if (!existsSync(join(dir, 'state.json'))) {
    const latest = join(rootOrDir, 'latest');
    if (!existsSync(latest)) return null;
    dir = join(rootOrDir, readFileSync(latest, 'utf8').trim());
  }
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LoopState;
  if (state.version !== 1) throw new Error(`checkpoint ${dir}: unknown version ${String(state.version)}`);
  return {
    dir,
    state,
    weights: readSafetensors(readFileSync(join(dir, 'model.safetensors')), { shareBuffer: true }).tensors,
    optimizer: readSafetensors(readFileSync(join(dir, 'optimizer.safetensors')), { shareBuffer: true }).tensors,
  };
}
