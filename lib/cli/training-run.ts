/**
 * What `specfuse train` does around the training loop: the run folder (lib/workflows/run-folder.ts:
 * one run per folder, `--resume` only when there is something to resume and `--fresh` to start
 * over explicitly) with its refusals said in flags, and SIGINT/SIGTERM ending the run with a
 * checkpoint and the conventional exit code (130/143; a second signal exits at once).
 */
import { openRunFolder as openFolder, RunFolderError, saveRunWeights, type RunFolder } from '../workflows/run-folder.js';
import { join } from 'node:path';
import type { TrainResult } from '../train/index.js';
import { UsageError } from './args.js';

/** openRunFolder with its refusals as usage errors that say which flag to pass. */
function openRunFolder(out: string, flags: { resume?: boolean; fresh?: boolean }): RunFolder {
  try {
    return openFolder(out, flags, '--out');
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
  const onInt = () => handler('SIGINT'),
    onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: ac.signal,
    received: () => got,
    exitCode: () => (got ? CODES[got] : undefined),
    dispose() {
      // Once a signal came, the process is on its way out: the handlers stay, so that a second
      // signal during the last writes still exits with 130/143 instead of Node's default death
      // by signal (no exit code), which a supervisor would read as a crash.
      if (got) return;
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

/**
 * A `specfuse train` run as every training command runs it (the main trainer and INFN's): the
 * folder opened and locked (openRunFolder), SIGINT/SIGTERM turned into a stop after the current
 * step, and the weights of a stopped run named `aborted`, never `final`.
 */
export interface TrainingRun {
  folder: RunFolder;
  stop: StopSignals;
  /** train() options that come from the run folder and the signals. */
  trainOptions: { checkpointDir: string; logFile: string; resume: boolean; signal: AbortSignal };
  /**
   * Saves train()'s result with `save(path)` as aborted.safetensors when a signal cut the loop
   * short, else as final.safetensors (then an aborted.safetensors of the run, superseded, is
   * removed); returns the path.
   */
  saveWeights(r: Pick<TrainResult, 'stopped'>, save: (path: string) => Promise<void>): Promise<string>;
  /**
   * After the weights are saved: when a signal came (during the loop or after it), says so and
   * returns the exit code (130/143), and the caller skips the rest (scoring); else undefined.
   */
  stopped(r: Pick<TrainResult, 'stopped' | 'steps' | 'checkpoint'>, weights: string): number | undefined;
  /** Removes the signal handlers and releases the lock (call in `finally`). */
  close(): void;
}

/**
 * A data-parallel rank other than 0 in `out`: rank 0 owns the folder (lock, --fresh, weights,
 * logs); this one only trains, reading the folder's checkpoints on --resume, and stops on signals
 * with the others.
 */
export function joinTrainingRun(out: string, flags: { resume?: boolean }): TrainingRun {
  const stop = stopOnSignals(
    () => {},
    () => {},
  );
  const folder: RunFolder = { out, checkpoints: join(out, 'checkpoints'), log: join(out, 'train.jsonl'), resume: !!flags.resume, release: () => {} };
  return {
    folder,
    stop,
    trainOptions: { checkpointDir: folder.checkpoints, logFile: folder.log, resume: folder.resume, signal: stop.signal },
    async saveWeights() {
      return join(out, 'final.safetensors');
    }, // rank 0 writes them
    stopped: () => stop.exitCode(),
    close: () => stop.dispose(),
  };
}

/** Opens `out` for a training run (see openRunFolder) and installs the signal handlers. */
export function startTrainingRun(out: string, flags: { resume?: boolean; fresh?: boolean }): TrainingRun {
  const folder = openRunFolder(out, flags);
  const stop = stopOnSignals(
    (name) => console.error(`\n• ${name}: stopping after this step and writing a checkpoint (a second ${name} exits at once)`),
    // process.exit skips `finally`: the lock goes now (the last checkpoint stays)
    () => {
      console.error('• second signal: exiting now (the last checkpoint stays)');
      folder.release();
    },
  );
  return {
    folder,
    stop,
    trainOptions: { checkpointDir: folder.checkpoints, logFile: folder.log, resume: folder.resume, signal: stop.signal },
    // decided by the loop's result, not by stop.received() (see saveRunWeights)
    saveWeights: (r, save) => saveRunWeights(out, r, save),
    stopped(r, weights) {
      const name = stop.received();
      if (!name) return undefined;
      console.error(
        r.stopped === 'aborted'
          ? `• ${name} after ${r.steps} steps: checkpoint ${r.checkpoint}; weights so far ${weights}; continue with --resume`
          : `• ${name} after the last step (${r.steps} steps): weights ${weights}; the rest (scoring) is skipped`,
      );
      return stop.exitCode();
    },
    close() {
      stop.dispose();
      folder.release();
    },
  };
}
