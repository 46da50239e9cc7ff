/**
 * What `specfuse train` does around the training loop so that a run folder is never corrupted:
 * one run per folder (a lock), `--resume` only when there is something to resume and `--fresh`
 * to start over explicitly, and SIGINT/SIGTERM ending the run with a checkpoint and the
 * conventional exit code (130/143; a second signal exits at once).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkWritableFolder } from '../atomic.js';
import { readCheckpoint } from '../train/index.js';
import { acquireLock, type Lock } from '../train/lock.js';
import { UsageError } from './args.js';

export interface RunFolder {
  out: string;
  checkpoints: string;
  log: string;
  /** train()'s resume option: true (a checkpoint exists: checked) or false */
  resume: boolean;
  release(): void;
}

/**
 * Locks `out` and checks it against the flags: `--resume` needs a checkpoint; a folder that holds
 * a run needs `--resume` or `--fresh` (which removes its checkpoints, log and weights first).
 */
export function openRunFolder(out: string, flags: { resume?: boolean; fresh?: boolean }): RunFolder {
  if (flags.resume && flags.fresh) throw new UsageError('give --resume or --fresh, not both');
  checkWritableFolder(out, '--out');
  const lock: Lock = acquireLock(out, '--out');
  try {
    const checkpoints = join(out, 'checkpoints'), log = join(out, 'train.jsonl');
    const ck = existsSync(checkpoints) ? readCheckpoint(checkpoints) : null;
    if (flags.resume && !ck) {
      throw new UsageError(`--resume: nothing to resume from: ${checkpoints} holds no checkpoint (run without --resume to start a new run there, or pass --fresh)`);
    }
    if (!flags.resume && ck) {
      if (!flags.fresh) {
        throw new UsageError(`--out: ${out} already holds a run (checkpoint at step ${ck.state.batches}): pass --resume to continue it, --fresh to start over (deletes its checkpoints and log), or choose another --out`);
      }
    }
    if (flags.fresh) {
      for (const p of [checkpoints, log, join(out, 'final.safetensors'), join(out, 'aborted.safetensors')]) rmSync(p, { recursive: true, force: true });
    }
    return { out, checkpoints, log, resume: !!ck && !!flags.resume, release: () => lock.release() };
  } catch (e) {
    lock.release();
    throw e;
  }
}

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export interface StopSignals {
  /** Aborted by the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** The signal received, if any. */
  received(): keyof typeof CODES | undefined;
  /** 130 after SIGINT, 143 after SIGTERM, else undefined. */
  exitCode(): number | undefined;
  dispose(): void;
}

/**
 * The first SIGINT/SIGTERM asks the loop to stop after the current step (it then writes a
 * checkpoint); a second one exits at once with the conventional code (the last checkpoint stays).
 */
export function stopOnSignals(onFirst: (name: string) => void, onSecond?: () => void): StopSignals {
  const ac = new AbortController();
  let got: keyof typeof CODES | undefined;
  const handler = (name: keyof typeof CODES) => {
    if (got) {
      onSecond?.();
      process.exit(CODES[name]);
    }
    got = name;
    onFirst(name);
    ac.abort();
  };
  const onInt = () => handler('SIGINT'), onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: ac.signal,
    received: () => got,
    exitCode: () => (got ? CODES[got] : undefined),
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
