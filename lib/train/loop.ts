/**
 * The training loop: epochs or steps over a dataset, the next batch prepared while the current
 * step runs, flip augmentation, learning-rate schedules, validation with early stopping, atomic
 * checkpoints with exact resume, cancellation through an AbortSignal, progress callbacks and a
 * JSONL log. The step itself (forward, loss, backward, optimizer) runs in C++ off the JS thread.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic.js';
import { acquireLock, type Lock } from './lock.js';
import { dirname } from 'node:path';
import type { Module } from '../module.js';
import { fromHost, manualSeed, type Tensor } from '../tensor.js';
import { loadStateDict } from '../weights.js';
import { Trainer, rngState, setRngState, type TrainerOptions } from './trainer.js';
import type { FusionDataset } from './dataset.js';
import { epochOrder, stepFlips } from './rng.js';
import { learningRate, validateSchedule, type Schedule } from './schedule.js';
import { readCheckpoint, writeCheckpoint, type LoopState } from './checkpoint.js';

export interface Progress {
  stage: number;
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  samplesPerSecond: number;
  etaSeconds: number;
  skipped: number;
  valid?: number;
}

export interface TrainOptions extends Omit<TrainerOptions, 'stage'> {
  /** The model's stage to train (sets requiresGrad via model.setStage). */
  stage?: number;
  data: FusionDataset;
  valid?: FusionDataset;
  /** Stop after this many epochs, or after `steps` optimizer steps (one of the two). */
  epochs?: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  schedule?: Schedule;
  /** Validate every N steps (default: at the end of each epoch, when `valid` is given). */
  evalEvery?: number;
  earlyStopping?: { patience: number; minDelta?: number };
  checkpointDir?: string;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  /**
   * Continue from checkpointDir's latest checkpoint (true) or from a given checkpoint folder; either
   * is an error when there is no checkpoint. 'if-present': resume when checkpointDir has one, else
   * start from step 0.
   */
  resume?: boolean | string | 'if-present';
  /**
   * A resumed run refuses options that differ from the checkpoint's (batch size, learning rate,
   * schedule, seed, optimizer, loss, ...): they would silently change the run. true accepts them.
   * Steps/epochs may always change (to extend a run).
   */
  allowOptionChanges?: boolean;
  /** Seeds the data order, the flips and libtorch's generator (draws inside the steps) unless resumed. Default 0. */
  seed?: number;
  shuffle?: boolean;
  /** Random horizontal/vertical flips, one draw per batch. */
  augment?: boolean;
  /** Where batches go (default: the model's device). */
  device?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** One JSON object per step and per validation. */
  logFile?: string;
  /** The key of the training target in the dataset (default 'gt'). */
  target?: string;
}

export interface TrainResult {
  stopped: 'done' | 'aborted' | 'early-stopping';
  steps: number;
  epochs: number;
  skipped: number;
  losses: Array<{ step: number; loss: number }>;
  valid: Array<{ step: number; loss: number }>;
  bestValid: number | null;
  checkpoint: string | null;
  seconds: number;
}

function check(cond: boolean, ErrorType: typeof TypeError | typeof RangeError, msg: string): void {
  if (!cond) throw new ErrorType(msg);
}

export async function train(model: Module, options: TrainOptions): Promise<TrainResult> {
  const o = options;
  check(o !== null && typeof o === 'object', TypeError, 'options: expected an object');
  check(o.data !== undefined && typeof o.data.batch === 'function', TypeError, 'options.data: expected a dataset');
  const batchSize = o.batchSize ?? 4;
  check(Number.isInteger(batchSize) && batchSize >= 1, RangeError, 'options.batchSize: expected an integer >= 1');
  check((o.epochs === undefined) !== (o.steps === undefined), RangeError, 'options: give exactly one of epochs and steps');
  const n = o.data.length;
  check(n >= 1, RangeError, 'options.data: the dataset is empty');
  const perEpoch = Math.max(1, Math.floor(n / Math.min(batchSize, n)));
  const effBatch = Math.min(batchSize, n);
  const totalSteps = o.steps ?? (o.epochs! * perEpoch);
  check(Number.isInteger(totalSteps) && totalSteps >= 1, RangeError, 'options.steps/epochs: must give at least one step');
  const schedule = validateSchedule(o.schedule);
  const baseLr = o.lr ?? 1e-4;
  const seed = o.seed ?? 0;
  const stage = o.stage ?? model.stage ?? Number(Object.keys(model.spec.stages).at(-1));
  const targetKey = o.target ?? 'gt';
  const inputKeys = model.spec.inputs.filter((k) => o.data.keys.includes(k));
  const device = o.device ?? model.device;
  if (o.checkpointEvery !== undefined) check(!!o.checkpointDir, TypeError, 'options.checkpointEvery needs options.checkpointDir');

  model.setStage(stage);
  const trainerOpts: TrainerOptions = {
    loss: o.loss, optimizer: o.optimizer, lr: baseLr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay,
    momentum: o.momentum, clipGradNorm: o.clipGradNorm, autocast: o.autocast, nanPolicy: o.nanPolicy, stage,
  };
  const trainer = new Trainer(model, trainerOpts);
  // Self-supervised stages and no-reference losses train on the inputs alone.
  const needsTarget = trainer.needsTarget;
  if (needsTarget && !o.data.keys.includes(targetKey)) {
    trainer.dispose();
    throw new RangeError(`options.data: no '${targetKey}' (the target) in the dataset (keys: ${o.data.keys.join(', ')})`);
  }
  const loopState: LoopState = {
    version: 1, family: model.spec.family, stage, step: 0, batches: 0, epoch: 0, position: 0, skipped: 0,
    bestValid: null, evalsWithoutImprovement: 0, config: { ...model.config },
    options: { batchSize, lr: baseLr, schedule, seed, totalSteps, augment: !!o.augment, ...trainerOpts },
  };

  // A log line is appended (a failed append, e.g. a full disk, is an error like any failed write).
  const log = (obj: Record<string, unknown>) => {
    if (!o.logFile) return;
    mkdirSync(dirname(o.logFile), { recursive: true });
    appendFileSync(o.logFile, JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');
  };

  // One run at a time per checkpoint folder: a second one would interleave and prune the first's checkpoints.
  let lock: Lock | undefined;
  try {
    if (o.checkpointDir) lock = acquireLock(o.checkpointDir, 'options.checkpointDir');
    return await run();
  } finally {
    trainer.dispose();
    lock?.release();
  }

  async function run(): Promise<TrainResult> {
    // ---- resume -----------------------------------------------------------------------------------
    const ifPresent = o.resume === 'if-present';
    const resumeFrom = o.resume === true || ifPresent ? o.checkpointDir : typeof o.resume === 'string' ? o.resume : undefined;
    let resumed = false;
    if (o.resume === true || ifPresent) check(!!o.checkpointDir, TypeError, `options.resume: ${o.resume === true ? 'true' : "'if-present'"} needs options.checkpointDir`);
    if (resumeFrom) {
      const ck = readCheckpoint(resumeFrom);
      if (!ck && !ifPresent) {
        throw new Error(`options.resume: nothing to resume from: ${resumeFrom} holds no checkpoint (start without resume, or pass resume: 'if-present')`);
      }
      if (ck) {
        if (ck.state.family !== model.spec.family || ck.state.stage !== stage) {
          throw new RangeError(`options.resume: the checkpoint is ${ck.state.family} stage ${ck.state.stage}, this run is ${model.spec.family} stage ${stage}`);
        }
        const changed = changedOptions(ck.state.options, loopState.options);
        if (changed.length && !o.allowOptionChanges) {
          throw new RangeError(`options.resume: ${ck.dir} was trained with other options (${changed.join('; ')}); resume with the same ones, or pass allowOptionChanges: true to change them`);
        }
        loadStateDict(model, ck.weights);
        const opt: Record<string, Tensor> = {};
        let rng: Tensor | null = null;
        try {
          for (const [k, v] of ck.optimizer) {
            if (k === '__rng__') rng = fromHost(v);
            else opt[k] = fromHost(v);
          }
          trainer.loadOptimizerState(opt, { steps: ck.state.step, skipped: ck.state.skipped });
          if (rng) setRngState(rng);
        } finally {
          for (const t of Object.values(opt)) t.dispose();
          rng?.dispose();
        }
        Object.assign(loopState, { ...ck.state, options: loopState.options });
        resumed = true;
        // the log ran on past the checkpoint (until a crash or signal): those steps will be redone
        if (o.logFile) trimLog(o.logFile, ck.state.batches);
        log({ event: 'resume', from: ck.dir, step: ck.state.step, ...(changed.length ? { changed } : {}) });
      }
    }

    // libtorch's generator starts from a random seed in every process: seed it, so that the draws
    // inside the steps (diffusion time steps and noise, dropout) repeat with the run's seed. A resumed
    // run has restored the generator's state instead.
    if (!resumed) manualSeed(seed);

    let lastCheckpoint: string | null = null;
    const saveCheckpoint = async () => {
      if (!o.checkpointDir) return;
      const weights = model.stateDict();
      const optimizer = trainer.optimizerState();
      const rng = rngState();
      try {
        lastCheckpoint = await writeCheckpoint(o.checkpointDir, `step-${String(loopState.batches).padStart(8, '0')}`,
          { state: { ...loopState }, weights, optimizer: { ...optimizer, __rng__: rng } }, o.keepCheckpoints ?? 2);
        log({ event: 'checkpoint', step: loopState.step, path: lastCheckpoint });
      } finally {
        for (const t of [...Object.values(weights), ...Object.values(optimizer), rng]) t.dispose();
      }
    };

    // ---- batches ----------------------------------------------------------------------------------
    const orders = new Map<number, number[]>();
    const prepare = async (b: number, data: FusionDataset, train: boolean): Promise<Record<string, Tensor>> => {
      let indices: number[];
      if (train) {
        const epoch = Math.floor(b / perEpoch);
        if (!orders.has(epoch)) { orders.clear(); orders.set(epoch, epochOrder(n, seed, epoch, o.shuffle ?? true)); }
        const pos = b % perEpoch;
        indices = orders.get(epoch)!.slice(pos * effBatch, (pos + 1) * effBatch);
      } else {
        indices = Array.from({ length: Math.min(effBatch, data.length - b * effBatch) }, (_, i) => b * effBatch + i);
      }
      const host = await data.batch(indices);
      const [flipW, flipH] = train && o.augment ? stepFlips(seed, b) : [false, false];
      const out: Record<string, Tensor> = {};
      try {
        for (const [k, h] of Object.entries(host)) {
          let t = fromHost(h);
          if (h.dtype !== 'float32') { const f = t.to('float32'); t.dispose(); t = f; }
          if (device !== 'cpu') { const d = t.to(device); t.dispose(); t = d; }
          const dims = [...(flipH ? [2] : []), ...(flipW ? [3] : [])];
          if (dims.length) { const f = t.flip(dims); t.dispose(); t = f; }
          out[k] = t;
        }
      } catch (e) {
        for (const t of Object.values(out)) t.dispose();
        throw e;
      }
      return out;
    };
    const dispose = (batch: Record<string, Tensor>) => { for (const t of Object.values(batch)) t.dispose(); };
    const split = (batch: Record<string, Tensor>) => {
      const inputs: Record<string, Tensor> = {};
      for (const k of inputKeys) inputs[k] = batch[k]!;
      return { inputs, target: needsTarget ? batch[targetKey]! : undefined };
    };

    const validate = async (): Promise<number> => {
      const v = o.valid!;
      let sum = 0;
      let count = 0;
      for (let b = 0; b * effBatch < v.length; b++) {
        const batch = await prepare(b, v, false);
        try {
          const { inputs, target } = split(batch);
          const r = await trainer.evaluate(inputs, target);
          const m = Object.values(inputs)[0]!.shape[0]!;
          sum += r.loss * m;
          count += m;
        } finally {
          dispose(batch);
        }
      }
      return sum / count;
    };

    // ---- the loop ---------------------------------------------------------------------------------
    const result: TrainResult = { stopped: 'done', steps: 0, epochs: 0, skipped: 0, losses: [], valid: [], bestValid: null, checkpoint: null, seconds: 0 };
    const t0 = performance.now();
    let samplesDone = 0;
    const evalEvery = o.evalEvery ?? perEpoch;
    // A batch is prepared while the previous step runs: its rejection is handled here at once (else
    // an unhandled rejection kills the process mid-step) and surfaces when the loop awaits it.
    const prefetch = (b: number) => {
      const p = prepare(b, o.data, true);
      p.catch(() => {});
      return p;
    };
    let next: Promise<Record<string, Tensor>> | null = loopState.batches < totalSteps ? prefetch(loopState.batches) : null;
    try {
      while (loopState.batches < totalSteps) {
        if (o.signal?.aborted) { result.stopped = 'aborted'; break; }
        let batch: Record<string, Tensor>;
        try {
          batch = await next!;
        } catch (e) {
          next = null;
          // the dataset failed: keep what was learned (a checkpoint of the last completed step), then
          // reject with the dataset's own error
          log({ event: 'error', step: loopState.batches, message: (e as Error)?.message ?? String(e) });
          try {
            await saveCheckpoint();
          } catch (ce) {
            if (e instanceof Error) e.message += ` (and the checkpoint of step ${loopState.batches} could not be written: ${(ce as Error).message})`;
          }
          throw e;
        }
        const b = loopState.batches;
        // the next batch is read and uploaded while this step runs
        next = b + 1 < totalSteps ? prefetch(b + 1) : null;
        const lr = learningRate(schedule, baseLr, b, totalSteps);
        trainer.lr = lr;
        let r;
        try {
          const { inputs, target } = split(batch);
          r = await trainer.step(inputs, target);
        } finally {
          dispose(batch);
        }
        loopState.batches = b + 1;
        loopState.step = trainer.steps;
        loopState.skipped = trainer.skipped;
        loopState.epoch = Math.floor(loopState.batches / perEpoch);
        loopState.position = loopState.batches % perEpoch;
        samplesDone += effBatch;
        result.losses.push({ step: loopState.batches, loss: r.loss });
        log({ event: 'step', stage, step: loopState.batches, loss: r.loss, lr, gradNorm: r.gradNorm, skipped: r.skipped });

        let validLoss: number | undefined;
        if (o.valid && (loopState.batches % evalEvery === 0 || loopState.batches === totalSteps)) {
          validLoss = await validate();
          result.valid.push({ step: loopState.batches, loss: validLoss });
          log({ event: 'valid', stage, step: loopState.batches, loss: validLoss });
          const minDelta = o.earlyStopping?.minDelta ?? 0;
          if (loopState.bestValid === null || validLoss < loopState.bestValid - minDelta) {
            loopState.bestValid = validLoss;
            loopState.evalsWithoutImprovement = 0;
          } else {
            loopState.evalsWithoutImprovement++;
          }
        }
        const elapsed = (performance.now() - t0) / 1000;
        const sps = samplesDone / Math.max(elapsed, 1e-9);
        o.onProgress?.({
          stage, step: loopState.batches, totalSteps, epoch: loopState.epoch, loss: r.loss, lr, samplesPerSecond: sps,
          etaSeconds: ((totalSteps - loopState.batches) * effBatch) / Math.max(sps, 1e-9), skipped: loopState.skipped, valid: validLoss,
        });
        if (o.checkpointEvery && loopState.batches % o.checkpointEvery === 0) await saveCheckpoint();
        if (o.earlyStopping && loopState.evalsWithoutImprovement >= o.earlyStopping.patience) { result.stopped = 'early-stopping'; break; }
      }
    } finally {
      if (next) dispose(await next.catch(() => ({})));
    }
    if (o.checkpointDir && (result.stopped !== 'done' || !o.checkpointEvery || loopState.batches % o.checkpointEvery !== 0)) await saveCheckpoint();
    Object.assign(result, {
      steps: loopState.batches, epochs: loopState.batches / perEpoch, skipped: loopState.skipped,
      bestValid: loopState.bestValid, checkpoint: lastCheckpoint, seconds: (performance.now() - t0) / 1000,
    });
    log({ event: 'end', stopped: result.stopped, steps: result.steps, seconds: result.seconds });
    return result;
  }
}

/** Options recorded in a checkpoint that differ from this run's ('lr: 0.001 → 0.002'); steps may differ. */
function changedOptions(recorded: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const norm = (x: Record<string, unknown>) => JSON.parse(JSON.stringify(x)) as Record<string, unknown>;
  const a = norm(recorded), b = norm(now);
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (k === 'totalSteps') continue;
    const x = JSON.stringify(a[k]), y = JSON.stringify(b[k]);
    if (x !== y) out.push(`${k}: ${x ?? 'unset'} → ${y ?? 'unset'}`);
  }
  return out;
}

/** Drops the log lines of steps after `step` (redone after a resume), atomically. */
function trimLog(file: string, step: number): void {
  if (!existsSync(file)) return;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const keep = lines.filter((l) => {
    try {
      const e = JSON.parse(l) as { step?: unknown };
      return typeof e.step !== 'number' || e.step <= step;
    } catch {
      return false; // a line cut short by a crash
    }
  });
  if (keep.length !== lines.length) writeFileAtomic(file, keep.map((l) => l + '\n').join(''));
}
