/**
 * Module: a model built in C++ (names = the reference state-dict keys), driven from TypeScript.
 * Freezing, stages and parameter counts live here; forward passes run off the JS thread.
 */
import { native, type NativeModule, type NativeTensor, type TensorDescription, type ConfigValue } from './native.js';
import { Tensor } from './tensor.js';
import { selectNames } from './freeze.js';
import type { DType } from './host.js';
import type { CheckpointDialect } from './weights.js';

export interface ParameterCounts {
  total: number;
  trainable: number;
  modules: Record<string, { total: number; trainable: number }>;
}

/** What a model family declares: its stages and which parameters each one trains. */
export interface ModelSpec {
  family: string;
  /** stage -> patterns of the parameters trained in that stage; all others are frozen. */
  stages: Record<number, readonly string[]>;
  /** Input names the forward takes. */
  inputs: readonly string[];
  /** The reference's training recipe per stage, used where a caller (the CLI) does not say. */
  trainingDefaults?: Record<number, { loss?: 'mse' | 'l1' | 'qnr'; optimizer?: 'adam' | 'adamw' | 'sgd'; lr?: number; batchSize?: number }>;
  /** How the family reads published checkpoints (default: its own names, one file). */
  checkpoints?: CheckpointDialect;
}

/**
 * The options as given, with the module's stage filled in. The keys are the bridge's to check (its
 * one options reader refuses a misspelt key such as `{ stgae: 2 }` with a RangeError naming it), so
 * they are passed through rather than picked, which would drop a typo silently.
 */
function withStage<T extends { stage?: number }>(options: T, stage: number | undefined): T {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options: expected a plain object');
  return { ...options, stage: options.stage ?? stage };
}

/** Named Tensors as the addon takes them (undefined entries skipped); a TypeError names a non-Tensor. */
export function nativeInputs(inputs: Record<string, Tensor | undefined>, what = 'inputs'): Record<string, NativeTensor> {
  if (inputs === null || typeof inputs !== 'object') throw new TypeError(`${what}: expected an object of named Tensors`);
  const raw: Record<string, NativeTensor> = {};
  for (const [k, v] of Object.entries(inputs)) {
    if (v === undefined) continue;
    if (!(v instanceof Tensor)) throw new TypeError(`${what}.${k}: expected a Tensor`);
    raw[k] = v.native;
  }
  return raw;
}

/** What a model builder decides from a user config: the family's spec, the native model and its flat config. */
export interface ModelPlan {
  spec: ModelSpec;
  nativeName: string;
  config: Record<string, ConfigValue>;
}

/** The parameters `spec` trains in `stage` (a RangeError for a stage the family does not have). */
export function stageParameterNames(spec: ModelSpec, names: readonly string[], stage: number): string[] {
  const trainable = spec.stages[stage];
  if (!trainable) {
    throw new RangeError(`stage: ${spec.family} has stages ${Object.keys(spec.stages).join(', ')}, not ${String(stage)}`);
  }
  return trainable.length ? selectNames([...names], trainable) : [];
}

/** Totals and per-top-level-module counts of parameter descriptions. */
export function countParameters(params: readonly TensorDescription[]): ParameterCounts {
  const out: ParameterCounts = { total: 0, trainable: 0, modules: {} };
  for (const p of params) {
    const top = p.name.split('.')[0]!;
    const m = (out.modules[top] ??= { total: 0, trainable: 0 });
    out.total += p.numel;
    m.total += p.numel;
    if (p.requiresGrad) {
      out.trainable += p.numel;
      m.trainable += p.numel;
    }
  }
  return out;
}

export class Module implements Disposable {
  /** @internal */
  readonly native: NativeModule;
  readonly spec: ModelSpec;
  readonly config: Readonly<Record<string, ConfigValue>>;
  #stage: number | null = null;

  /** @internal Use createModel() or createModelAsync(). `built`: a model the addon built off the JS thread. */
  constructor(spec: ModelSpec, nativeName: string, config: Record<string, ConfigValue>, built?: NativeModule) {
    this.spec = spec;
    this.config = Object.freeze({ ...config });
    this.native = built ?? new native.NativeModule(nativeName, config);
  }

  /** @internal Builds the planned model on the JS thread. */
  static fromPlan(plan: ModelPlan): Module {
    return new Module(plan.spec, plan.nativeName, plan.config);
  }

  /** @internal Builds the planned model on the addon's compute thread: the JS thread stays free. */
  static async buildPlan(plan: ModelPlan): Promise<Module> {
    return new Module(plan.spec, plan.nativeName, plan.config, await native.createModule(plan.nativeName, plan.config));
  }

  namedParameters(): TensorDescription[] {
    return this.native.namedParameters();
  }
  namedBuffers(): TensorDescription[] {
    return this.native.namedBuffers();
  }
  parameterNames(): string[] {
    return this.namedParameters().map((p) => p.name);
  }

  /** Stops gradients for the matched parameters. Returns how many tensors changed. */
  freeze(patterns: string | readonly string[]): number {
    return this.native.setRequiresGrad(selectNames(this.parameterNames(), patterns), false);
  }
  unfreeze(patterns: string | readonly string[]): number {
    return this.native.setRequiresGrad(selectNames(this.parameterNames(), patterns), true);
  }

  /** Freezes everything, then unfreezes what the model trains in `stage`. */
  setStage(stage: number): void {
    const names = this.parameterNames();
    const trainable = stageParameterNames(this.spec, names, stage);
    this.native.setRequiresGrad(names, false);
    if (trainable.length) this.native.setRequiresGrad(trainable, true);
    this.#stage = stage;
  }
  get stage(): number | null {
    return this.#stage;
  }
  /**
   * The stage every entry point trains and runs when none is given (train(), trainOnScene, the
   * CLI's `--stage`, and the C++ forward, whose stage 0 means the same): the family's last, the
   * complete model. Earlier stages are the pre-training steps that lead to it (PanAdapter,
   * CrossDiff: stage 1, then 2 from it). The C++ registry holds the stage counts;
   * test/models/config-parity.test.ts checks spec.stages against it.
   */
  get defaultStage(): number {
    return Math.max(...Object.keys(this.spec.stages).map(Number));
  }

  /**
   * Parameter counts, trainable as the parameters are now, or, with `stage`, as setStage(stage)
   * would make them (without changing anything).
   */
  parameterCounts(stage?: number): ParameterCounts {
    const params = this.namedParameters();
    if (stage === undefined) return countParameters(params);
    const trains = new Set(
      stageParameterNames(
        this.spec,
        params.map((p) => p.name),
        stage,
      ),
    );
    return countParameters(params.map((p) => ({ ...p, requiresGrad: trains.has(p.name) })));
  }

  train(on = true): this {
    this.native.train(on);
    return this;
  }
  eval(): this {
    this.native.train(false);
    return this;
  }
  get training(): boolean {
    return this.native.training;
  }
  get device(): string {
    return this.native.device;
  }
  get disposed(): boolean {
    return this.native.disposed;
  }

  /** Moves (and optionally casts) the weights, off the JS thread. */
  async to(device: string, dtype?: DType): Promise<this> {
    await this.native.to(device, dtype);
    return this;
  }

  /** Runs the model on named inputs, off the JS thread. Gradients are off unless `grad: true`. */
  async forward(inputs: Record<string, Tensor>, options: { stage?: number; grad?: boolean; autocast?: 'none' | 'bf16' } = {}): Promise<Tensor> {
    const o = withStage(options, this.#stage ?? undefined);
    return new Tensor(await this.native.forward(nativeInputs(inputs), o));
  }

  /**
   * The forward's named intermediates (PanAdapter: SSPEN priors, prior tokens, the stem, each adapter's
   * input and outputs, the ViT output when the tail uses it, and 'out'), for per-submodule checks.
   */
  async forwardTaps(inputs: Record<string, Tensor>, options: { stage?: number } = {}): Promise<Record<string, Tensor>> {
    const o = withStage(options, this.#stage ?? undefined);
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(await this.native.forwardTaps(nativeInputs(inputs), o))) out[k] = new Tensor(v);
    return out;
  }

  /**
   * A model-specific operation beyond the forward, off the JS thread and without gradients; e.g.
   * CrossDiff's `call('sample', { lms, pan }, { net: 'p2m', sampler: 'ddim', steps: 50 })`.
   * `methods()` lists what the model offers.
   */
  async call(method: string, inputs: Record<string, Tensor>, options: Record<string, ConfigValue> = {}): Promise<Tensor> {
    if (typeof method !== 'string') throw new TypeError('method: expected a string');
    const raw = nativeInputs(inputs);
    return new Tensor(await this.native.call(method, raw, options));
  }
  methods(): string[] {
    return this.native.methods();
  }

  /** Detached copies of every parameter and buffer, by reference name. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.native.stateDict())) out[k] = new Tensor(v);
    return out;
  }
  getTensor(name: string): Tensor {
    return new Tensor(this.native.getTensor(name));
  }

  /**
   * Detached copies of the gradients left by the last backward (e.g. a Trainer step; the next step
   * clears them), for the parameters that have one: frozen parameters never do.
   */
  gradients(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.native.grads())) out[k] = new Tensor(v);
    return out;
  }

  /** Copies the given tensors into parameters/buffers; all names and shapes are checked first. */
  loadTensors(tensors: Record<string, Tensor>): number {
    const raw: Record<string, import('./native.js').NativeTensor> = {};
    for (const [k, v] of Object.entries(tensors)) {
      if (!(v instanceof Tensor)) throw new TypeError(`tensors.${k}: expected a Tensor`);
      raw[k] = v.native;
    }
    return this.native.loadTensors(raw);
  }

  /**
   * Channels-last (NHWC) weights and inputs: the same parameters and outputs in another memory
   * layout, in which oneDNN (CPU) and cuDNN (GPU) convolutions run faster. On by default for
   * PanAdapter, the DLPan CNNs and INF (measured 1.13-1.40x faster training and inference steps
   * on 2 CPU cores); off for CrossDiff, which runs slower in it, and the MLP (no convolutions).
   * Outputs stay contiguous NCHW, state dicts and saved weights are the same either way; turn it
   * off to skip the NHWC copy of each 4-D input on every call.
   */
  setChannelsLast(on = true): this {
    this.native.setChannelsLast(on);
    return this;
  }

  /** Whether the weights and 4-D inputs run channels-last (see setChannelsLast). */
  get channelsLast(): boolean {
    return this.native.channelsLast();
  }

  dispose(): void {
    this.native.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
