/**
 * The training loop: epochs or steps over a dataset, the next batch prepared while the current
 * step runs, flip augmentation, parameter groups and learning-rate schedules, validation with the
 * field's metrics, a monitored quantity for early stopping and the top-k best weights, atomic
 * checkpoints with exact resume, cancellation through an AbortSignal, Lightning-style callbacks
 * and loggers (TensorBoard, CSV, JSONL). The step itself (forward, loss, backward, optimizer) runs
 * in C++ off the JS thread.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic.js';
import { acquireLock, type Lock } from './lock.js';
import type { Module } from '../module.js';
import { fromHost, manualSeed, type Tensor } from '../tensor.js';
import { loadStateDict } from '../weights.js';
import { Trainer, rngState, setRngState, type TrainerOptions } from './trainer.js';
import type { FusionDataset } from './dataset.js';
import { epochOrder, stepFlips } from './rng.js';
import { learningRate, validateSchedule, type Schedule } from './schedule.js';
import { readCheckpoint, writeCheckpoint, type LoopState } from './checkpoint.js';
import { CallbackList, type Callback } from './callbacks.js';
import { JsonlLogger, type Logger } from './loggers.js';
import { resolveParamGroups, type ParamGroupSpec, type ResolvedGroup } from './groups.js';
import { improves, keepBest, resolveMonitor, type BestEntry, type MonitorOptions } from './monitor.js';
import { ValidationAccumulator, checkValidationOptions, type ValidationOptions } from './validation.js';
import { joinTraining, type DistributedTraining, type TrainDistributedOption } from './distributed.js';

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
  /** The field's metrics at validation (on DN: give the data's scale). */
  validation?: ValidationOptions;
  /** The validation quantity that early stopping and the best weights follow (default valid.loss, min). */
  monitor?: MonitorOptions;
  /** Stop after `patience` validations without an improvement of the monitored value by more than minDelta. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** Keep the k best weights (by the monitor) as checkpointDir/best-step-N.safetensors. Default 1 with checkpointDir. */
  saveTopK?: number;
  /** Also write the best weights here (e.g. best.safetensors beside final.safetensors). */
  bestWeights?: string;
  /**
   * Parameter groups by glob, each with its own lr and weight decay; the schedule applies to each
   * group's rate. Tensors no group matches train with options.lr / options.weightDecay.
   */
  groups?: ParamGroupSpec[];
  /** No weight decay on biases, norms, gates and tensors of rank < 2 (the usual rule). Default false. */
  noDecay?: boolean;
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
  /** Hooks at step end, epoch end, validation end, checkpoint and train end; each may stop training. */
  callbacks?: Callback[];
  /** Where the scalars (losses, lr, gradient norm, validation metrics) and images go. */
  loggers?: Logger[];
  /** One JSON object per step and per validation (a JsonlLogger). */
  logFile?: string;
  /** The key of the training target in the dataset (default 'gt'). */
  target?: string;
  /**
   * Data-parallel training across the ranks of a process group (lib/distributed): true joins the
   * group of initDistributed() (or starts one from torchrun's environment), an object starts one
   * with those options. batchSize is per rank (as in DDP): a step trains on batchSize × worldSize
   * samples, each rank on its own disjoint shard of the epoch's order; rank 0 alone writes
   * checkpoints, logs and best weights.
   */
  distributed?: TrainDistributedOption;
}

export interface TrainResult {
  stopped: 'done' | 'aborted' | 'early-stopping' | 'callback';
  /** Why a callback stopped training. */
  stopReason?: string;
  steps: number;
  epochs: number;
  skipped: number;
  losses: Array<{ step: number; loss: number }>;
  /** Each validation: the step, the loss and the metrics asked for. */
  valid: Array<{ step: number; loss: number } & Record<string, number>>;
  /** The best monitored value (options.monitor) and where it was reached. */
  bestValid: number | null;
  best: { metric: string; step: number; value: number } | null;
  /** The top-k best weight files, best first. */
  topK: BestEntry[];
  /** The parameter groups the optimizer ran with. */
  groups: ResolvedGroup[];
  checkpoint: string | null;
  seconds: number;
}

/** A schedule for a group whose base rate is `ratio` times the run's: cosine's floor scales with it. */
function scaledSchedule(s: Schedule, ratio: number): Schedule {
  return s.kind === 'cosine' && s.minLr !== undefined ? { ...s, minLr: s.minLr * ratio } : s;
}

function check(cond: boolean, ErrorType: typeof TypeError | typeof RangeError, msg: string): void {
  if (!cond) throw new ErrorType(msg);
}

export async function train(model: Module, options: TrainOptions): Promise<TrainResult> {
  const o = options;
  check(o !== null && typeof o === 'object', TypeError, 'options: expected an object');
  const dist = o.distributed ? await joinTraining(o.distributed) : null;
  let result: TrainResult;
  try {
    result = await trainIn(model, o, dist);
  } catch (e) {
    await dist?.leave(false).catch(() => {});
    throw e;
  }
  await dist?.leave(true);
  return result;
}

async function trainIn(model: Module, o: TrainOptions, dist: DistributedTraining | null): Promise<TrainResult> {
  const worldSize = dist?.worldSize ?? 1;
  const rank = dist?.rank ?? 0;
  const lead = rank === 0;
  check(o.data !== undefined && typeof o.data.batch === 'function', TypeError, 'options.data: expected a dataset');
  const batchSize = o.batchSize ?? 4;
  check(Number.isInteger(batchSize) && batchSize >= 1, RangeError, 'options.batchSize: expected an integer >= 1');
  check((o.epochs === undefined) !== (o.steps === undefined), RangeError, 'options: give exactly one of epochs and steps');
  const n = o.data.length;
  check(n >= 1, RangeError, 'options.data: the dataset is empty');
  if (dist) check(n >= batchSize * worldSize, RangeError, `options.data: ${n} samples cannot fill one step of ${worldSize} ranks × batchSize ${batchSize}`);
  const effBatch = Math.min(batchSize, n);
  // one step trains on effBatch samples per rank: a global batch of effBatch × worldSize
  const perEpoch = Math.max(1, Math.floor(n / (effBatch * worldSize)));
  const totalSteps = o.steps ?? o.epochs! * perEpoch;
  check(Number.isInteger(totalSteps) && totalSteps >= 1, RangeError, 'options.steps/epochs: must give at least one step');
  const schedule = validateSchedule(o.schedule);
  const baseLr = o.lr ?? 1e-4;
  const seed = o.seed ?? 0;
  const stage = o.stage ?? model.stage ?? model.defaultStage;
  const targetKey = o.target ?? 'gt';
  const inputKeys = model.spec.inputs.filter((k) => o.data.keys.includes(k));
  const device = o.device ?? model.device;
  if (o.checkpointEvery !== undefined) check(!!o.checkpointDir, TypeError, 'options.checkpointEvery needs options.checkpointDir');

  model.setStage(stage);
  const trainerOpts: TrainerOptions = {
    loss: o.loss,
    optimizer: o.optimizer,
    lr: baseLr,
    beta1: o.beta1,
    beta2: o.beta2,
    eps: o.eps,
    weightDecay: o.weightDecay,
    momentum: o.momentum,
    clipGradNorm: o.clipGradNorm,
    autocast: o.autocast,
    nanPolicy: o.nanPolicy,
    stage,
  };
  const validation = checkValidationOptions(o.validation);
  const monitor = resolveMonitor(o.monitor, validation.metrics);
  const topK = o.saveTopK ?? (o.checkpointDir ? 1 : 0);
  check(Number.isInteger(topK) && topK >= 0, RangeError, 'options.saveTopK: expected an integer >= 0');
  if (o.earlyStopping)
    check(Number.isInteger(o.earlyStopping.patience) && o.earlyStopping.patience >= 1, RangeError, 'options.earlyStopping.patience: expected an integer >= 1');
  const callbacks = new CallbackList(o.callbacks ?? []);
  // rank 0 alone logs (every rank computes the same reduced values)
  const loggers: Logger[] = lead ? [...(o.loggers ?? []), ...(o.logFile ? [new JsonlLogger(o.logFile)] : [])] : [];
  const trainer = new Trainer(model, trainerOpts);
  let groups: ResolvedGroup[];
  try {
    const shapes = new Map(model.namedParameters().map((p) => [p.name, p.shape]));
    groups = resolveParamGroups(
      trainer.paramNames.map((name) => ({ name, shape: shapes.get(name)! })),
      o.groups,
      { lr: baseLr, weightDecay: o.weightDecay ?? 0, noDecay: o.noDecay },
    );
    if (o.groups?.length || o.noDecay) trainer.setParamGroups(groups);
  } catch (e) {
    trainer.dispose();
    throw e;
  }
  const groupLrs = (b: number) => groups.map((g) => learningRate(scaledSchedule(schedule, g.lr / baseLr), g.lr, b, totalSteps));
  // Self-supervised stages and no-reference losses train on the inputs alone.
  const needsTarget = trainer.needsTarget;
  if (needsTarget && !o.data.keys.includes(targetKey)) {
    trainer.dispose();
    throw new RangeError(`options.data: no '${targetKey}' (the target) in the dataset (keys: ${o.data.keys.join(', ')})`);
  }
  const loopState: LoopState = {
    version: 1,
    family: model.spec.family,
    stage,
    step: 0,
    batches: 0,
    epoch: 0,
    position: 0,
    skipped: 0,
    bestValid: null,
    evalsWithoutImprovement: 0,
    config: { ...model.config },
    options: {
      batchSize,
      lr: baseLr,
      schedule,
      seed,
      totalSteps,
      augment: !!o.augment,
      ...trainerOpts,
      paramGroups: groups,
      monitor,
      validation,
      evalEvery: o.evalEvery,
      earlyStopping: o.earlyStopping,
      saveTopK: topK,
      checkpointEvery: o.checkpointEvery,
      ...(dist ? { worldSize } : {}),
    },
    bestStep: null,
    topK: [],
  };

  const log = (name: string, fields: Record<string, unknown>) => {
    for (const l of loggers) l.event?.(name, fields);
  };

  // One run at a time per checkpoint folder: a second one would interleave and prune the first's checkpoints.
  let lock: Lock | undefined;
  try {
    if (o.checkpointDir && lead) lock = acquireLock(o.checkpointDir, 'options.checkpointDir');
    return await run();
  } finally {
    trainer.dispose();
    for (const l of loggers) l.close?.();
    lock?.release();
  }

  async function run(): Promise<TrainResult> {
    // ---- resume -----------------------------------------------------------------------------------
    const ifPresent = o.resume === 'if-present';
    const resumeFrom = o.resume === true || ifPresent ? o.checkpointDir : typeof o.resume === 'string' ? o.resume : undefined;
    let resumed = false;
    if (o.resume === true || ifPresent)
      check(!!o.checkpointDir, TypeError, `options.resume: ${o.resume === true ? 'true' : "'if-present'"} needs options.checkpointDir`);
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
          throw new RangeError(
            `options.resume: ${ck.dir} was trained with other options (${changed.join('; ')}); resume with the same ones, or pass allowOptionChanges: true to change them`,
          );
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
        for (const l of loggers) l.resumeAt?.(ck.state.batches);
        log('resume', { from: ck.dir, step: ck.state.step, ...(changed.length ? { changed } : {}) });
      }
    }

    // libtorch's generator starts from a random seed in every process: seed it, so that the draws
    // inside the steps (diffusion time steps and noise, dropout) repeat with the run's seed. A resumed
    // run has restored the generator's state instead.
    if (!resumed) manualSeed(seed);
    if (dist) {
      // Ranks started with other options, data or model would train apart: refuse at once.
      await dist.agree(
        'training options',
        JSON.stringify({
          family: model.spec.family,
          stage,
          samples: n,
          config: model.config,
          options: loopState.options,
          resumedAt: loopState.batches,
        }),
      );
      await trainer.setDistributed();
    }

    let lastCheckpoint: string | null = null;
    const saveCheckpoint = async () => {
      if (!o.checkpointDir) return;
      // rank 0 writes; the others wait for it, so that a checkpoint exists for every rank once any goes on
      if (!lead) {
        await dist!.barrier();
        return;
      }
      const weights = model.stateDict();
      const optimizer = trainer.optimizerState();
      const rng = rngState();
      try {
        lastCheckpoint = await writeCheckpoint(
          o.checkpointDir,
          `step-${String(loopState.batches).padStart(8, '0')}`,
          { state: { ...loopState }, weights, optimizer: { ...optimizer, __rng__: rng } },
          o.keepCheckpoints ?? 2,
        );
        log('checkpoint', { step: loopState.step, path: lastCheckpoint });
        await callbacks.call('onCheckpoint', { step: loopState.batches, kind: 'latest', path: lastCheckpoint });
      } finally {
        for (const t of [...Object.values(weights), ...Object.values(optimizer), rng]) t.dispose();
      }
      await dist?.barrier();
    };

    // ---- batches ----------------------------------------------------------------------------------
    const orders = new Map<number, number[]>();
    const prepare = async (b: number, data: FusionDataset, train: boolean): Promise<Record<string, Tensor>> => {
      let indices: number[];
      if (train) {
        const epoch = Math.floor(b / perEpoch);
        if (!orders.has(epoch)) {
          orders.clear();
          orders.set(epoch, epochOrder(n, seed, epoch, o.shuffle ?? true));
        }
        const pos = b % perEpoch;
        // this rank's shard of the global batch (DistributedSampler: same order on every rank, disjoint slices)
        const start = (pos * worldSize + rank) * effBatch;
        indices = orders.get(epoch)!.slice(start, start + effBatch);
      } else {
        indices = Array.from({ length: Math.min(effBatch, data.length - b * effBatch) }, (_, i) => b * effBatch + i);
      }
      const host = await data.batch(indices);
      const [flipW, flipH] = train && o.augment ? stepFlips(seed, b) : [false, false];
      const out: Record<string, Tensor> = {};
      try {
        for (const [k, h] of Object.entries(host)) {
          let t = fromHost(h);
          if (h.dtype !== 'float32') {
            const f = t.to('float32');
            t.dispose();
            t = f;
          }
          if (device !== 'cpu') {
            const d = t.to(device);
            t.dispose();
            t = d;
          }
          const dims = [...(flipH ? [2] : []), ...(flipW ? [3] : [])];
          if (dims.length) {
            const f = t.flip(dims);
            t.dispose();
            t = f;
          }
          out[k] = t;
        }
      } catch (e) {
        for (const t of Object.values(out)) t.dispose();
        throw e;
      }
      return out;
    };
    const dispose = (batch: Record<string, Tensor>) => {
      for (const t of Object.values(batch)) t.dispose();
    };
    const split = (batch: Record<string, Tensor>) => {
      const inputs: Record<string, Tensor> = {};
      for (const k of inputKeys) inputs[k] = batch[k]!;
      return { inputs, target: needsTarget ? batch[targetKey]! : undefined };
    };

    const validate = async (): Promise<ValidationAccumulator> => {
      const v = o.valid!;
      const acc = new ValidationAccumulator(validation);
      // each rank validates every worldSize-th batch; the sums are added across ranks below
      for (let b = rank; b * effBatch < v.length; b += worldSize) {
        const batch = await prepare(b, v, false);
        let output: Tensor | undefined;
        try {
          const { inputs, target } = split(batch);
          const r = await trainer.evaluate(inputs, target, acc.wantsOutput && target !== undefined);
          output = r.output;
          await acc.add(r.loss, Object.values(inputs)[0]!.shape[0]!, output, target);
        } finally {
          output?.dispose();
          dispose(batch);
        }
      }
      if (dist) await acc.reduce((values) => dist.sum(values));
      return acc;
    };

    // ---- the loop ---------------------------------------------------------------------------------
    const result: TrainResult = {
      stopped: 'done',
      steps: 0,
      epochs: 0,
      skipped: 0,
      losses: [],
      valid: [],
      bestValid: null,
      best: null,
      topK: [],
      groups,
      checkpoint: null,
      seconds: 0,
    };
    const t0 = performance.now();
    let samplesDone = 0; // over all ranks
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
        // data parallel: the ranks agree on an abort after each step (below), so that all stop at the same one
        if (!dist && o.signal?.aborted) {
          result.stopped = 'aborted';
          break;
        }
        let batch: Record<string, Tensor>;
        try {
          batch = await next!;
        } catch (e) {
          next = null;
          // the dataset failed: keep what was learned (a checkpoint of the last completed step), then
          // reject with the dataset's own error
          log('error', { step: loopState.batches, message: (e as Error)?.message ?? String(e) });
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
        const lrs = groupLrs(b);
        if (lrs.length === 1) trainer.lr = lrs[0]!;
        else trainer.groupLrs = lrs;
        const lr = lrs[0]!;
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
        samplesDone += effBatch * worldSize;
        result.losses.push({ step: loopState.batches, loss: r.loss });
        const scalars: Record<string, number> = { 'train.loss': r.loss, lr, grad_norm: r.gradNorm, skipped: r.skipped ? 1 : 0 };
        if (groups.length > 1)
          groups.forEach((g, i) => {
            scalars[`lr/${g.name}`] = lrs[i]!;
          });
        for (const l of loggers) l.scalars(loopState.batches, scalars, 'step');
        await callbacks.call('onStepEnd', {
          stage,
          step: loopState.batches,
          totalSteps,
          epoch: loopState.epoch,
          loss: r.loss,
          lrs,
          gradNorm: r.gradNorm,
          skipped: r.skipped,
        });

        let validLoss: number | undefined;
        if (o.valid && (loopState.batches % evalEvery === 0 || loopState.batches === totalSteps)) {
          const acc = await validate();
          const metrics = acc.means();
          validLoss = metrics.loss!;
          result.valid.push({ ...metrics, step: loopState.batches, loss: validLoss });
          for (const l of loggers) {
            l.scalars(loopState.batches, Object.fromEntries(Object.entries(metrics).map(([k, x]) => [`valid.${k}`, x])), 'valid');
            if (acc.preview) l.image?.(loopState.batches, 'valid/preview (fused | reference)', acc.preview);
          }
          const value = metrics[monitor.key]!;
          const improved = improves(monitor, value, loopState.bestValid, o.earlyStopping?.minDelta ?? 0);
          if (improved) {
            loopState.evalsWithoutImprovement = 0;
          } else {
            loopState.evalsWithoutImprovement++;
          }
          // the best weights follow every strict improvement (minDelta only paces early stopping)
          if (improves(monitor, value, loopState.bestValid)) {
            loopState.bestValid = value;
            loopState.bestStep = loopState.batches;
          }
          // every rank keeps the same top-k list (the same reduced values); rank 0 writes the files
          const kept = await keepBest(
            model,
            monitor,
            loopState.topK ?? [],
            loopState.batches,
            value,
            lead ? { dir: o.checkpointDir, topK, bestPath: o.bestWeights } : { topK },
          );
          loopState.topK = kept.entries;
          for (const path of kept.written) await callbacks.call('onCheckpoint', { step: loopState.batches, kind: 'best', path });
          await callbacks.call('onValidationEnd', { step: loopState.batches, metrics, monitored: value, improved });
        }
        const elapsed = (performance.now() - t0) / 1000;
        const sps = samplesDone / Math.max(elapsed, 1e-9);
        o.onProgress?.({
          stage,
          step: loopState.batches,
          totalSteps,
          epoch: loopState.epoch,
          loss: r.loss,
          lr,
          samplesPerSecond: sps,
          etaSeconds: ((totalSteps - loopState.batches) * effBatch) / Math.max(sps, 1e-9),
          skipped: loopState.skipped,
          valid: validLoss,
        });
        if (loopState.position === 0) await callbacks.call('onEpochEnd', { epoch: loopState.epoch, step: loopState.batches });
        if (o.checkpointEvery && loopState.batches % o.checkpointEvery === 0) await saveCheckpoint();
        if (o.earlyStopping && loopState.evalsWithoutImprovement >= o.earlyStopping.patience) {
          result.stopped = 'early-stopping';
          break;
        }
        // an abort or a callback's stop on one rank stops all of them at the same step (one collective for both)
        const [aborted, stopped] = dist ? await dist.anyOf([!!o.signal?.aborted, callbacks.stopped]) : [false, callbacks.stopped];
        if (aborted) {
          result.stopped = 'aborted';
          break;
        }
        if (stopped) {
          result.stopped = 'callback';
          result.stopReason = callbacks.stopReason ?? 'a callback on another rank stopped training';
          break;
        }
      }
    } finally {
      if (next) dispose(await next.catch(() => ({})));
    }
    if (o.checkpointDir && (result.stopped !== 'done' || !o.checkpointEvery || loopState.batches % o.checkpointEvery !== 0)) await saveCheckpoint();
    Object.assign(result, {
      steps: loopState.batches,
      epochs: loopState.batches / perEpoch,
      skipped: loopState.skipped,
      bestValid: loopState.bestValid,
      checkpoint: lastCheckpoint,
      seconds: (performance.now() - t0) / 1000,
      best:
        loopState.bestStep != null && loopState.bestValid !== null ? { metric: monitor.metric, step: loopState.bestStep, value: loopState.bestValid } : null,
      topK: loopState.topK ?? [],
    });
    log('end', { stopped: result.stopped, steps: result.steps, seconds: result.seconds, ...(result.stopReason ? { reason: result.stopReason } : {}) });
    await callbacks.end({ stopped: result.stopped, steps: result.steps, reason: result.stopReason });
    return result;
  }
}

/** Run bookkeeping that a resume may change: how long the run is and how often it is saved. */
const RESUMABLE_OPTIONS = new Set(['totalSteps', 'checkpointEvery']);

/**
 * Options recorded in a checkpoint that differ from this run's ('lr: 0.001 → 0.002'). The resolved
 * parameter groups follow the base lr and weight decay, so they are compared relative to those
 * (a changed lr is reported once, as lr).
 */
function changedOptions(recorded: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const norm = (x: Record<string, unknown>) => JSON.parse(JSON.stringify(x)) as Record<string, unknown>;
  const a = norm(recorded),
    b = norm(now);
  const relativeGroups = (o: Record<string, unknown>) => {
    const lr = Number(o.lr) || 0,
      wd = Number(o.weightDecay) || 0;
    const rel = (v: number, base: number) => (base ? v / base : v);
    return (o.paramGroups as ResolvedGroup[] | undefined)?.map((g) => ({
      name: g.name,
      params: g.params,
      lr: rel(g.lr, lr),
      weightDecay: rel(g.weightDecay, wd),
    }));
  };
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (RESUMABLE_OPTIONS.has(k)) continue;
    if (k === 'paramGroups') {
      if (JSON.stringify(relativeGroups(a)) !== JSON.stringify(relativeGroups(b))) out.push('paramGroups: other groups');
      continue;
    }
    const x = JSON.stringify(a[k]),
      y = JSON.stringify(b[k]);
    if (x !== y) out.push(`${k}: ${x ?? 'unset'} → ${y ?? 'unset'}`);
  }
  return out;
}

/** Drops the log lines of steps after `step` (redone after a resume), atomically. */
function trimLog(file: string, step: number): void {
  if (!existsSync(file)) return;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
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
