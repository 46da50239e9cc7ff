/**
 * What `specfuse train` does around a run folder (lib/workflows/run-folder.ts): the folder opened
 * and locked with its refusals said in flags, and SIGINT/SIGTERM ending the run with a checkpoint
 * and the conventional exit code (130/143; a second signal exits at once).
 */
import { joinRunFolder, openRunFolder, RunFolderError, type RunFolder } from '../workflows/run-folder.js';
import type { TrainResult } from '../train/index.js';
import { UsageError } from './args.js';

/** openRunFolder with its refusals as usage errors that say which flag to pass. */
function openFolder(out: string, flags: { resume?: boolean; fresh?: boolean }): RunFolder {
  try {
    return openRunFolder(out, flags, '--out');
  } catch (e) {
    if (!(e instanceof RunFolderError)) throw e;
    const { checkpoints, step } = e.details;
    throw new UsageError(
      {
        'resume-and-fresh': 'give --resume or --fresh, not both',
        'nothing-to-resume': `--resume: nothing to resume from: ${checkpoints} holds no checkpoint (run without --resume to start a new run there, or pass --fresh)`,
        'holds-a-run': `--out: ${out} already holds a run (checkpoint at step ${step}): pass --resume to continue it, --fresh to start over (deletes its checkpoints, log and results), or choose another --out`,
      }[e.reason],
    );
  }
}

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** A training command's run folder and the signals that stop it. */
export interface TrainingRun {
  folder: RunFolder;
  /** Aborted by the first SIGINT or SIGTERM: the loop stops after the current step and writes a checkpoint. */
  signal: AbortSignal;
  /**
   * After the weights are saved: when a signal came (during the loop or after it), says so and
   * returns the exit code (130/143), and the caller skips the rest (scoring); else undefined.
   */
  stopped(r: Pick<TrainResult, 'stopped' | 'steps' | 'checkpoint'>, weights: string): number | undefined;
  /** Removes the signal handlers and releases the lock (call in `finally`). */
  close(): void;
}

/**
 * Opens `out` for a training run (a data-parallel rank other than 0 joins it: rank 0 owns it) and
 * installs the signal handlers: the first signal stops the loop after the current step, a second
 * one exits at once (the last checkpoint stays).
 */
export function startTrainingRun(out: string, flags: { resume?: boolean; fresh?: boolean; join?: boolean }): TrainingRun {
  const folder = flags.join ? joinRunFolder(out, flags) : openFolder(out, flags);
  const ac = new AbortController();
  let got: keyof typeof CODES | undefined;
  const handler = (name: keyof typeof CODES) => {
    if (got) {
      if (!folder.joined) console.error('• second signal: exiting now (the last checkpoint stays)');
      // process.exit skips `finally`: the lock goes now
      folder.release();
      process.exit(CODES[name]);
    }
    got = name;
    if (!folder.joined) console.error(`\n• ${name}: stopping after this step and writing a checkpoint (a second ${name} exits at once)`);
    ac.abort();
  };
  const onInt = () => handler('SIGINT'),
    onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    folder,
    signal: ac.signal,
    stopped(r, weights) {
      if (!got || folder.joined) return got && CODES[got];
      console.error(
        r.stopped === 'aborted'
          ? `• ${got} after ${r.steps} steps: checkpoint ${r.checkpoint}; weights so far ${weights}; continue with --resume`
          : `• ${got} after the last step (${r.steps} steps): weights ${weights}; the rest (scoring) is skipped`,
      );
      return CODES[got];
    },
    close() {
      folder.release();
      // Once a signal came, the process is on its way out: the handlers stay, so that a second
      // signal during the last writes still exits with 130/143 instead of Node's default death by
      // signal (no exit code), which a supervisor reads as a crash.
      if (got) return;
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
