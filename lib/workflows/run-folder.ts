/**
 * A training run's folder, kept whole: one run per folder (a lock), resuming only when there is a
 * checkpoint to resume from, starting over only when asked (which removes everything a run leaves
 * there first), and the weights of a run cut short named `aborted`, never `final`.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkWritableFolder } from '../atomic.js';
import { readCheckpoint, type TrainResult } from '../train/index.js';
import { acquireLock, type Lock } from '../train/lock.js';
import { WorkflowOptionError } from './workflow-errors.js';

/** What a training run writes into its folder (`fresh` removes all of it). */
export const RUN_OUTPUTS = [
  'checkpoints',
  'train.jsonl',
  'final.safetensors',
  'aborted.safetensors',
  'metrics.json',
  'heldout.json',
  'best.safetensors',
  'optimizer.torch.safetensors',
  'metrics.csv',
  'tensorboard',
] as const;

/** Why a run folder cannot be opened as asked: the caller must change `resume`/`fresh` or the folder. */
export class RunFolderError extends WorkflowOptionError {
  constructor(
    option: 'resume' | 'fresh' | 'out',
    readonly reason: 'resume-and-fresh' | 'nothing-to-resume' | 'holds-a-run',
    /** The folder, its checkpoints folder, and the step of the checkpoint found (holds-a-run). */
    readonly details: { out: string; checkpoints: string; step?: number },
    message: string,
  ) {
    super(option, message);
  }
}

export interface RunFolder {
  out: string;
  checkpoints: string;
  log: string;
  /** train()'s resume option: true (a checkpoint exists: checked) or false */
  resume: boolean;
  /** A data-parallel rank other than 0 (joinRunFolder): it trains, and writes nothing here. */
  joined?: boolean;
  release(): void;
}

/**
 * `out` as a data-parallel rank other than 0 sees it: rank 0 owns the folder (lock, fresh, weights,
 * logs); this one only trains, reading the folder's checkpoints when resuming.
 */
export function joinRunFolder(out: string, flags: { resume?: boolean }): RunFolder {
  return { out, checkpoints: join(out, 'checkpoints'), log: join(out, 'train.jsonl'), resume: !!flags.resume, joined: true, release: () => {} };
}

/**
 * Locks `out` and checks it against the flags: `resume` needs a checkpoint; a folder that holds a
 * run needs `resume` or `fresh` (which removes its checkpoints, log and weights first). `label`
 * names the folder in messages.
 */
export function openRunFolder(out: string, flags: { resume?: boolean; fresh?: boolean }, label = 'out'): RunFolder {
  const checkpoints = join(out, 'checkpoints'),
    log = join(out, 'train.jsonl');
  if (flags.resume && flags.fresh) throw new RunFolderError('resume', 'resume-and-fresh', { out, checkpoints }, 'resume and fresh: give one, not both');
  checkWritableFolder(out, label);
  const lock: Lock = acquireLock(out, label);
  try {
    const ck = existsSync(checkpoints) ? readCheckpoint(checkpoints) : null;
    if (flags.resume && !ck) {
      throw new RunFolderError('resume', 'nothing-to-resume', { out, checkpoints }, `resume: nothing to resume from: ${checkpoints} holds no checkpoint`);
    }
    if (!flags.resume && ck && !flags.fresh) {
      throw new RunFolderError(
        'out',
        'holds-a-run',
        { out, checkpoints, step: ck.state.batches },
        `out: ${out} already holds a run (checkpoint at step ${ck.state.batches})`,
      );
    }
    if (flags.fresh) {
      // everything a run leaves, so that nothing of the old run sits beside the new one's results
      for (const name of RUN_OUTPUTS) rmSync(join(out, name), { recursive: true, force: true });
    }
    return { out, checkpoints, log, resume: !!ck && !!flags.resume, release: () => lock.release() };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * Saves train()'s result with `save(path)` as aborted.safetensors when the loop was cut short, else
 * as final.safetensors (then an aborted.safetensors of the run, superseded, is removed); returns
 * the path. Decided by the loop's result: a stop after the last step does not make complete
 * weights 'aborted', and one during the loop always does.
 */
export async function saveRunWeights(out: string, r: Pick<TrainResult, 'stopped'>, save: (path: string) => Promise<void>): Promise<string> {
  const aborted = join(out, 'aborted.safetensors'),
    final = join(out, 'final.safetensors');
  if (r.stopped === 'aborted') {
    await save(aborted);
    return aborted;
  }
  await save(final);
  rmSync(aborted, { force: true });
  return final;
}
