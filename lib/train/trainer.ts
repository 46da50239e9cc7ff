/** Trainer: the native training step bound to a Module (forward, loss, backward, optimizer step). */
import { native, type NativeTrainer, type NativeTensor } from '../native.js';
import { nativeInputs, type Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { asDistributedError } from '../distributed/index.js';

export interface TrainerOptions {
  /** 'qnr': the no-reference loss (1 − QNR + spectral consistency terms) for full-resolution training; needs pan, ms and lms, no target. */
  loss?: 'mse' | 'l1' | 'qnr';
  optimizer?: 'adam' | 'adamw' | 'sgd';
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  /** Max global gradient norm; 0 or absent: no clipping. */
  clipGradNorm?: number;
  /** 'bf16': autocast the forward (CUDA; CPU too where supported). */
  autocast?: 'none' | 'bf16';
  /** A NaN/Inf loss or gradient: 'error' stops with a clear error; 'skip' skips the batch and counts it. */
  nanPolicy?: 'error' | 'skip';
  /** Forward stage passed to the model (default: the model's current stage). */
  stage?: number;
}

/** Data parallel: `loss` is the mean over the ranks (the global batch's), `localLoss` this rank's own. */
export interface StepResult {
  loss: number;
  gradNorm: number;
  skipped: boolean;
  localLoss: number;
}

export class Trainer implements Disposable {
  /** @internal */
  readonly native: NativeTrainer;
  readonly model: Module;

  /** The optimizer covers the parameters trainable now: set the stage / freeze first. */
  constructor(model: Module, options: TrainerOptions = {}) {
    this.model = model;
    const stage = options.stage ?? model.stage ?? undefined;
    const opts: Record<string, number | string | boolean> = {};
    for (const [k, v] of Object.entries({ ...options, stage })) if (v !== undefined) opts[k] = v as number | string;
    this.native = new native.NativeTrainer(model.native, opts);
  }

  /**
   * Whether steps need a target: false for self-supervised stages (CrossDiff's diffusion
   * pre-training) and the no-reference 'qnr' loss.
   */
  get needsTarget(): boolean {
    return this.native.needsTarget;
  }

  /** One optimizer step on a batch, off the JS thread. */
  async step(inputs: Record<string, Tensor>, target?: Tensor): Promise<StepResult> {
    try {
      return await this.native.step(nativeInputs(inputs), this.#target(target));
    } catch (e) {
      throw asDistributedError(e);
    }
  }

  /**
   * Data-parallel training over the process group of initDistributed(), before the first step:
   * rank 0's parameters (frozen ones too) and buffers are broadcast to every rank, and from then
   * on each step averages the gradients across ranks after backward and before clipping, and the
   * ranks agree on non-finite losses (the NaN policy acts on all of them at the same step).
   */
  async setDistributed(): Promise<void> {
    try {
      await this.native.setDistributed();
    } catch (e) {
      throw asDistributedError(e);
    }
  }

  /** Loss without gradients (and the output when asked for: for a self-supervised stage, its prediction). */
  async evaluate(inputs: Record<string, Tensor>, target?: Tensor, keepOutput = false): Promise<{ loss: number; output?: Tensor }> {
    const r = await this.native.evaluate(nativeInputs(inputs), this.#target(target), keepOutput);
    return r.output ? { loss: r.loss, output: new Tensor(r.output) } : { loss: r.loss };
  }

  #target(target: Tensor | undefined) {
    if (target === undefined && !this.needsTarget) return undefined;
    if (!(target instanceof Tensor)) throw new TypeError('target: expected a Tensor');
    return target.native;
  }

  /** The learning rate of the first group; setting it sets every group's. */
  get lr(): number {
    return this.native.lr;
  }
  set lr(v: number) {
    this.native.setLr(v);
  }
  /** The trainable tensors in the optimizer's order (torch.optim's parameter indices). */
  get paramNames(): string[] {
    return this.native.paramNames;
  }
  /**
   * Parameter groups (before the first step): each group's tensors by name, its lr and weight
   * decay. Every trainable tensor must be in exactly one group.
   */
  setParamGroups(groups: ReadonlyArray<{ params: readonly string[]; lr: number; weightDecay: number }>): void {
    const names = this.paramNames;
    const groupOf = new Array<number>(names.length).fill(-1);
    const index = new Map(names.map((n, i) => [n, i]));
    groups.forEach((g, gi) => {
      for (const p of g.params) {
        const i = index.get(p);
        if (i === undefined) throw new RangeError(`setParamGroups: '${p}' is not a trainable parameter`);
        if (groupOf[i] !== -1) throw new RangeError(`setParamGroups: '${p}' is in two groups`);
        groupOf[i] = gi;
      }
    });
    const missing = names.filter((_, i) => groupOf[i] === -1);
    if (missing.length) throw new RangeError(`setParamGroups: no group for ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`);
    this.native.setParamGroups(
      groupOf,
      groups.map((g) => g.lr),
      groups.map((g) => g.weightDecay),
    );
  }
  /** Each group's current learning rate. */
  get groupLrs(): number[] {
    return this.native.groupLrs;
  }
  set groupLrs(lrs: number[]) {
    this.native.setGroupLrs(lrs);
  }
  get steps(): number {
    return this.native.steps;
  }
  get skipped(): number {
    return this.native.skipped;
  }
  get trainableTensors(): number {
    return this.native.trainableTensors;
  }

  /** Optimizer moments and step counts by parameter name, for checkpoints. */
  optimizerState(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.native.optimizerState())) out[k] = new Tensor(v);
    return out;
  }
  loadOptimizerState(state: Record<string, Tensor>, counters?: { steps: number; skipped: number }): void {
    this.native.loadOptimizerState(nativeInputs(state));
    if (counters) this.native.setCounters(counters.steps, counters.skipped);
  }

  dispose(): void {
    this.native.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** libtorch's CPU generator state (for exact resumes) and its restore. */
export function rngState(): Tensor {
  return new Tensor(native.rngState());
}
export function setRngState(state: Tensor): void {
  native.setRngState(state.native);
}
