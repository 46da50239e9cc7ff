/**
 * Callbacks in the style of Lightning's: a list of objects whose hooks the loop calls in order at
 * fixed points. Every hook receives a `control` through which it can stop training (the loop ends
 * after the current step, writes its checkpoint and reports `stopped: 'callback'`).
 */

export interface StepEnd {
  stage: number;
  /** Batches consumed so far (1-based: the step just taken). */
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  /** The learning rate of each parameter group at this step (one entry without groups). */
  lrs: number[];
  gradNorm: number;
  skipped: boolean;
}

export interface EpochEnd {
  epoch: number;
  step: number;
}

export interface ValidationEnd {
  step: number;
  /** 'loss' and the field's metrics asked for ('SAM', 'ERGAS', ...), means over the validation tiles. */
  metrics: Record<string, number>;
  /** The monitored value (options.monitor) and whether it is the best so far. */
  monitored: number;
  improved: boolean;
}

export interface CheckpointSaved {
  step: number;
  /** 'latest': a resumable checkpoint folder; 'best': best weights (a top-k file or bestWeights). */
  kind: 'latest' | 'best';
  path: string;
}

export interface TrainControl {
  /** Ends training after the current step. */
  stop(reason?: string): void;
}

type Hook<T> = (info: T, control: TrainControl) => void | Promise<void>;

export interface Callback {
  onStepEnd?: Hook<StepEnd>;
  onEpochEnd?: Hook<EpochEnd>;
  onValidationEnd?: Hook<ValidationEnd>;
  onCheckpoint?: Hook<CheckpointSaved>;
  /** After the last step and the last checkpoint; `stopped` says why training ended. */
  onTrainEnd?: (info: { stopped: string; steps: number; reason?: string }) => void | Promise<void>;
}

/** Runs one hook of every callback, in list order; remembers whether any asked to stop. */
export class CallbackList implements TrainControl {
  stopReason: string | null = null;
  constructor(private readonly list: readonly Callback[] = []) {
    if (!Array.isArray(list)) throw new TypeError('options.callbacks: expected an array of callback objects');
    list.forEach((c, i) => {
      if (!c || typeof c !== 'object') throw new TypeError(`options.callbacks[${i}]: expected an object of hooks`);
    });
  }
  stop(reason = 'a callback stopped training'): void {
    this.stopReason ??= reason;
  }
  get stopped(): boolean {
    return this.stopReason !== null;
  }
  async call<K extends Exclude<keyof Callback, 'onTrainEnd'>>(hook: K, info: Parameters<NonNullable<Callback[K]>>[0]): Promise<void> {
    for (const c of this.list) await (c[hook] as Hook<typeof info> | undefined)?.call(c, info, this);
  }
  async end(info: { stopped: string; steps: number; reason?: string }): Promise<void> {
    for (const c of this.list) await c.onTrainEnd?.call(c, info);
  }
}
