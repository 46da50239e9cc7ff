/**
 * The typed surface of the addon: the only file that touches the .node binary.
 *
 * It loads build/Release/specfuse.node (cmake-js) or, failing that, build-gyp/Release/specfuse.node
 * (node-gyp), and refuses to run against a libtorch other than the one the addon was built for.
 */
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DType } from './host.js';

export interface TensorDescription {
  name: string;
  shape: number[];
  dtype: DType;
  requiresGrad: boolean;
  numel: number;
}

export interface NativeTensor {
  readonly shape: number[];
  readonly strides: number[];
  readonly dtype: DType;
  readonly device: string;
  readonly numel: number;
  readonly disposed: boolean;
  readonly requiresGrad: boolean;
  readonly busy: boolean;
  dataSync(): ArrayBufferView;
  data(): Promise<ArrayBufferView>;
  item(): number | bigint | boolean;
  to(target: string): NativeTensor;
  clone(): NativeTensor;
  contiguous(): NativeTensor;
  reshape(shape: number[]): NativeTensor;
  permute(dims: number[]): NativeTensor;
  transpose(dim0: number, dim1: number): NativeTensor;
  slice(dim: number, start?: number, end?: number, step?: number): NativeTensor;
  select(dim: number, index: number): NativeTensor;
  flip(dims: number | number[]): NativeTensor;
  squeeze(dim?: number): NativeTensor;
  unsqueeze(dim: number): NativeTensor;
  add(other: NativeTensor | number): NativeTensor;
  sub(other: NativeTensor | number): NativeTensor;
  mul(other: NativeTensor | number): NativeTensor;
  div(other: NativeTensor | number): NativeTensor;
  matmul(other: NativeTensor): NativeTensor;
  matmulAsync(other: NativeTensor): Promise<NativeTensor>;
  neg(): NativeTensor;
  abs(): NativeTensor;
  sqrt(): NativeTensor;
  exp(): NativeTensor;
  log(): NativeTensor;
  pow(exponent: number): NativeTensor;
  clamp(min?: number | null, max?: number | null): NativeTensor;
  sum(dims?: number | number[] | null, keepdim?: boolean): NativeTensor;
  mean(dims?: number | number[] | null, keepdim?: boolean): NativeTensor;
  max(dim?: number | null, keepdim?: boolean): NativeTensor;
  min(dim?: number | null, keepdim?: boolean): NativeTensor;
  sumAsync(dims?: number | number[] | null, keepdim?: boolean): Promise<NativeTensor>;
  meanAsync(dims?: number | number[] | null, keepdim?: boolean): Promise<NativeTensor>;
  maxAsync(dim?: number | null, keepdim?: boolean): Promise<NativeTensor>;
  minAsync(dim?: number | null, keepdim?: boolean): Promise<NativeTensor>;
  equal(other: NativeTensor): boolean;
  allclose(other: NativeTensor, rtol?: number, atol?: number): boolean;
  dispose(): void;
}

export type ConfigValue = number | boolean | string;

export interface NativeModule {
  namedParameters(): TensorDescription[];
  namedBuffers(): TensorDescription[];
  setRequiresGrad(names: string[], requiresGrad: boolean): number;
  train(on?: boolean): void;
  readonly training: boolean;
  readonly device: string;
  readonly disposed: boolean;
  readonly busy: boolean;
  to(device: string, dtype?: DType): Promise<void>;
  forward(inputs: Record<string, NativeTensor>, options?: { stage?: number; grad?: boolean; autocast?: 'none' | 'bf16' }): Promise<NativeTensor>;
  forwardTaps(inputs: Record<string, NativeTensor>, options?: { stage?: number }): Promise<Record<string, NativeTensor>>;
  call(method: string, inputs: Record<string, NativeTensor>, options?: Record<string, ConfigValue>): Promise<NativeTensor>;
  methods(): string[];
  getTensor(name: string): NativeTensor;
  stateDict(): Record<string, NativeTensor>;
  loadTensors(tensors: Record<string, NativeTensor>): number;
  setChannelsLast(on: boolean): void;
  channelsLast(): boolean;
  /** Copies of .grad for the parameters that have one (from the last backward). */
  grads(): Record<string, NativeTensor>;
  dispose(): void;
}

export interface NativeTrainer {
  step(inputs: Record<string, NativeTensor>, target?: NativeTensor): Promise<{ loss: number; gradNorm: number; skipped: boolean; localLoss: number }>;
  evaluate(inputs: Record<string, NativeTensor>, target?: NativeTensor, keepOutput?: boolean): Promise<{ loss: number; output?: NativeTensor }>;
  /** False for self-supervised stages and no-reference losses. */
  readonly needsTarget: boolean;
  setLr(lr: number): void;
  readonly lr: number;
  /** Parameter groups: the group of each trainable tensor (paramNames order), each group's lr and weight decay. */
  setParamGroups(groupOf: number[], lr: number[], weightDecay: number[]): void;
  setGroupLrs(lrs: number[]): void;
  readonly groupLrs: number[];
  readonly paramNames: string[];
  readonly steps: number;
  readonly skipped: number;
  readonly trainableTensors: number;
  setCounters(steps: number, skipped: number): void;
  optimizerState(): Record<string, NativeTensor>;
  loadOptimizerState(state: Record<string, NativeTensor>): void;
  /** Joins the default process group: broadcasts parameters and buffers from rank 0; later steps average gradients. */
  setDistributed(): Promise<void>;
  dispose(): void;
}

/** The default process group as native/bridge/dist_bind.cc reports it. */
export interface NativeDistInfo {
  rank: number;
  worldSize: number;
  backend: string;
  /** Where the group's tensors live: 'cpu' (Gloo) or this rank's GPU 'cuda:N' (NCCL). */
  device: string;
  commSeconds: number;
  /** What ProcessGroupGloo's inline accessors read through our view of its layout (test/distributed/gloo-abi.test.ts). */
  glooLayout: { threads: number; optionThreads: number; devices: number; timeoutMs: number; backendName: string; rank: number; size: number };
}

/** One image's metric values, by metric name (lib/metrics). */
export type NativeMetricValues = Record<string, number>;

export interface NativeReducedMetricOptions {
  ratio?: number;
  bits?: number;
  blockSize?: number;
  q2nShift?: number;
  dimCut?: number;
  thValues?: boolean;
  scale?: number;
  peak?: number;
  metrics?: readonly string[];
}

export interface NativeFullMetricInputs {
  lms?: NativeTensor;
  ms?: NativeTensor;
  pan?: NativeTensor;
  panLP?: NativeTensor;
  fusedMTF?: NativeTensor;
}

export interface NativeFullMetricOptions {
  ratio?: number;
  bits?: number;
  blockSize?: number;
  thValues?: boolean;
  scale?: number;
  sensor?: string;
  p?: number;
  q?: number;
  alpha?: number;
  beta?: number;
  metrics?: readonly string[];
}

export interface DeviceInfo {
  id: string;
  type: 'cpu' | 'cuda';
  name: string;
  totalMemory: number;
  freeMemory?: number;
}

export interface NativeBinding {
  torchVersion: string;
  libtorchDir: string;
  NativeTensor: abstract new (...args: never[]) => NativeTensor;
  NativeModule: new (model: string, config: Record<string, ConfigValue>) => NativeModule;
  NativeTrainer: new (module: NativeModule, options: Record<string, ConfigValue>) => NativeTrainer;
  rngState(): NativeTensor;
  setRngState(state: NativeTensor): void;
  fromTypedArray(data: ArrayBufferView, shape: number[], dtype?: DType): NativeTensor;
  fromStrided(data: ArrayBufferView, shape: number[], strides: number[], offset: number, dtype?: DType): NativeTensor;
  zeros(shape: number[], dtype?: DType, device?: string): NativeTensor;
  ones(shape: number[], dtype?: DType, device?: string): NativeTensor;
  full(shape: number[], value: number, dtype?: DType, device?: string): NativeTensor;
  rand(shape: number[], dtype?: DType, device?: string): NativeTensor;
  randn(shape: number[], dtype?: DType, device?: string): NativeTensor;
  cat(tensors: NativeTensor[], dim?: number): NativeTensor;
  stack(tensors: NativeTensor[], dim?: number): NativeTensor;
  manualSeed(seed: number): void;
  memory(): { tensors: number; bytes: number; modules: number };
  devices(): DeviceInfo[];
  cudaStatus(): { available: boolean; reason: string; deviceCount: number };
  /** adaptive: size the team to the cores other processes leave free, at most n (bridge/threading.h). */
  setNumThreads(n: number, adaptive?: boolean): void;
  getNumThreads(): number;
  /** Ends the process with `code`, skipping exit-time destructors (the CLI, once a command has finished). */
  exitNow(code: number): never;
  /** Called with the exit code from process.on('exit'): a task still running then ends the process at once (native/addon.cc). */
  guardExit(code: number): void;
  /** The C++ model registry's names (native/models/registry.cc): the one list of models. */
  modelNames(): string[];
  /** Stages per model from the C++ registry: stages 1..n, stage 0 (or none given) = n, for every entry point. */
  modelStages(): Record<string, number>;
  /**
   * Checks a flat model config with the model's C++ option parser, the one authority on its limits
   * (TypeError / RangeError naming the key), and returns it completed with the parser's defaults.
   * Nothing is built.
   */
  resolveModelConfig(model: string, config: Record<string, ConfigValue>): Record<string, ConfigValue>;
  /** The sensor table (native/ops/sensors.cc): canonical ids, further aliases (folded), MS band counts (0: any). */
  sensors(): { id: string; aliases: string[]; bands: number }[];
  /** Builds a model on the compute thread (bridge/model_factory.cc). */
  createModule(model: string, config: Record<string, ConfigValue>): Promise<NativeModule>;
  /** Names, shapes and dtypes of a model's tensors from a shape-only build: no weights allocated. */
  describeModel(model: string, config: Record<string, ConfigValue>): Promise<{ parameters: TensorDescription[]; buffers: TensorDescription[] }>;
  /** Copies host arrays into a module's tensors on the compute thread (bridge/weights_bind.cc). */
  loadHostArrays(module: NativeModule, names: string[], arrays: ArrayBufferView[], shapes: number[][], dtypes: DType[]): Promise<number>;
  acceleratorMemory(device: string, resetPeak?: boolean): { allocated: number; peakAllocated: number; reserved: number; peakReserved: number };
  setCudnnBenchmark(on: boolean): void;
  // Wald's protocol and classical baselines (native/bridge/resample_bind.cc; lib/protocol, lib/baselines).
  // Images are [C, H, W] or [N, C, H, W] (a PAN also [H, W]); results keep the batching; the optional
  // trailing dtype is 'float32' | 'float64' (default: float32 for float32 input, else float64).
  sensorMtf(sensor: string, bands?: number): { sensor: string; bands: number; ms: number[]; pan: number };
  mtfKernel(kind: 'ms' | 'pan' | 'lpgauss', sensor: string, bands: number, ratio: number): NativeTensor;
  mtfFilter(image: NativeTensor, sensor: string, ratio: number, dtype?: string): Promise<NativeTensor>;
  filter2Replicate(image: NativeTensor, kernels: NativeTensor, dtype?: string): Promise<NativeTensor>;
  decimate(image: NativeTensor, ratio: number, dtype?: string): Promise<NativeTensor>;
  imresize(image: NativeTensor, scale: number, antialias?: boolean, dtype?: string): Promise<NativeTensor>;
  bicubicDownsample(image: NativeTensor, ratio: number, dtype?: string): Promise<NativeTensor>;
  interp23tap(image: NativeTensor, ratio: number, dtype?: string): Promise<NativeTensor>;
  lpFilterPlusDec(image: NativeTensor, ratio: number, dtype?: string): Promise<NativeTensor>;
  waldDegrade(
    ms: NativeTensor,
    pan: NativeTensor,
    sensor: string,
    ratio: number,
    panMtf?: boolean,
    dtype?: string,
  ): Promise<{ gt: NativeTensor; lms: NativeTensor; ms: NativeTensor; pan: NativeTensor }>;
  waldPatches(
    ms: NativeTensor,
    pan: NativeTensor,
    sensor: string,
    ratio: number,
    patch: number,
    stride: number,
    flips: boolean,
    panMtf: boolean,
    dtype?: string,
  ): Promise<{ gt: NativeTensor; lms: NativeTensor; ms: NativeTensor; pan: NativeTensor }>;
  takeSamples(tensor: NativeTensor, indices: number[]): Promise<NativeTensor>;
  baselineExp(ms: NativeTensor, ratio: number, dtype?: string): Promise<NativeTensor>;
  baselineBrovey(lms: NativeTensor, pan: NativeTensor, dtype?: string): Promise<NativeTensor>;
  baselineBtH(lms: NativeTensor, pan: NativeTensor, ratio: number, dtype?: string): Promise<NativeTensor>;
  baselineGsa(lms: NativeTensor, pan: NativeTensor, ms: NativeTensor, ratio: number, dtype?: string): Promise<NativeTensor>;
  baselineMtfGlpHpm(lms: NativeTensor, pan: NativeTensor, sensor: string, ratio: number, dtype?: string): Promise<NativeTensor>;
  metricsReduced(fused: NativeTensor, gt: NativeTensor, options?: NativeReducedMetricOptions): Promise<NativeMetricValues[]>;
  metricsFull(fused: NativeTensor, inputs: NativeFullMetricInputs, options?: NativeFullMetricOptions): Promise<NativeMetricValues[]>;
  metricNames(): { reduced: string[]; full: string[]; resample: boolean };
  // c10d process group (native/bridge/dist_bind.cc; lib/distributed.ts)
  distInit(options: Record<string, ConfigValue>): Promise<{ rank: number; worldSize: number; backend: string; device: string }>;
  distAllReduce(tensor: NativeTensor, op?: string): Promise<void>;
  distBroadcast(tensor: NativeTensor, root: number): Promise<void>;
  distBarrier(): Promise<void>;
  distAgree(name: string, value: string): Promise<void>;
  distDestroy(): Promise<void>;
  distInfo(): NativeDistInfo | null;
}

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface BuildInfo {
  libtorch: string;
  torchVersion: string;
  builder: string;
}

/** Which addon builds exist, first the one loaded by default. */
export const addonCandidates = [
  { path: join(packageRoot, 'build', 'Release', 'specfuse.node'), info: join(packageRoot, 'build', 'specfuse-build.json') },
  { path: join(packageRoot, 'build-gyp', 'Release', 'specfuse.node'), info: join(packageRoot, 'build-gyp', 'specfuse-build.json') },
];

function headerVersion(libtorchDir: string): string | null {
  for (const rel of ['include/torch/headeronly/version.h', 'include/torch/csrc/api/include/torch/version.h']) {
    const file = join(libtorchDir, rel);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const part = (n: string) => text.match(new RegExp(`#define TORCH_VERSION_${n} (\\d+)`))?.[1];
    const [a, b, c] = [part('MAJOR'), part('MINOR'), part('PATCH')];
    if (a && b && c) return `${a}.${b}.${c}`;
  }
  return null;
}

/** Loads one addon file after checking that its libtorch is still the one it was built against. */
export function loadAddon(path: string, infoPath: string): NativeBinding {
  if (!existsSync(path)) {
    throw new Error(`specfuse: native addon not built (${path} is missing): run 'npm install' or 'npm run build:native'`);
  }
  if (existsSync(infoPath)) {
    const info = JSON.parse(readFileSync(infoPath, 'utf8')) as BuildInfo;
    // A relative path (libtorch inside the project) is relative to the record: the project can move.
    info.libtorch = resolve(dirname(infoPath), info.libtorch);
    const now = headerVersion(info.libtorch);
    if (now === null) {
      throw new Error(`specfuse: the libtorch this addon was built against (${info.libtorch}) is gone: run 'npm rebuild specfuse'`);
    }
    if (now !== info.torchVersion) {
      throw new Error(`specfuse: built against libtorch ${info.torchVersion}, but ${info.libtorch} now holds ${now}: run 'npm rebuild specfuse'`);
    }
  }
  const require = createRequire(import.meta.url);
  return require(path) as NativeBinding;
}

function loadDefault(): NativeBinding {
  const forced = process.env.SPECFUSE_ADDON;
  if (forced) return loadAddon(resolve(forced), join(dirname(dirname(resolve(forced))), 'specfuse-build.json'));
  const found = addonCandidates.find((c) => existsSync(c.path)) ?? addonCandidates[0]!;
  return loadAddon(found.path, found.info);
}

export const native: NativeBinding = loadDefault();

// process.exit() while a task runs on the compute thread would run libtorch's destructors under it
// (SIGSEGV instead of the exit code): the addon ends such a process itself, with the same code.
// Only the main thread's exit ends the process; a Worker's does not.
if (isMainThread) process.on('exit', (code) => native.guardExit(code));
