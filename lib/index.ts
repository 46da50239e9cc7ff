/** specfuse: spectral image fusion (pansharpening) models on libtorch, from Node.js. */
import { applyDefaultThreads } from './device.js';

applyDefaultThreads();

export * from './tensor.js';
export * from './device.js';
export { Module, type ModelPlan, type ModelSpec, type ParameterCounts } from './module.js';
export * from './models/index.js';
export { compilePattern, selectNames } from './freeze.js';
export type { DType, HostArray, HostData } from './host.js';
export * from './train/index.js';
export {
  initDistributed,
  destroyDistributed,
  allReduce,
  broadcast,
  barrier,
  agree,
  distributedInfo,
  distributedStats,
  distributedEnv,
  DistributedError,
  type DistributedOptions,
  type DistributedInfo,
  type StoreOptions,
  type DistributedErrorCode,
} from './distributed/index.js';
export {
  loadWeights,
  loadCheckpointFiles,
  loadCheckpointFilesAsync,
  loadStateDict,
  loadStateDictAsync,
  saveWeights,
  modelMetadata,
  planLoad,
  renameState,
  ownNames,
  WeightsError,
  type CheckpointDialect,
  type CheckpointFile,
  type LoadReport,
  type LoadOptions,
  type NameMapping,
  type PreparedLoad,
} from './weights.js';
export { loadModel, recordedModel, recordedConfig, configForWeights, type RecordedModel } from './model-file.js';
export {
  mtfGains,
  mtfKernel,
  mtfKernels,
  lpGaussKernel,
  mtfFilter,
  filterReplicate,
  decimate,
  imresize,
  bicubicDownsample,
  interp23tap,
  lpFilterPlusDec,
  degrade,
  makeWaldDataset,
  toPanSamples,
  disposeSet,
  resolveSensor,
  fullResolutionTiles,
  reducedResolutionTiles,
  type MtfGains,
  type ProtocolSensor,
  type OutDType,
  type OutOptions,
  type ImresizeOptions,
  type WaldSet,
  type DegradeInput,
  type WaldDatasetOptions,
  type WaldDataset,
  type SceneTileOptions,
  type SceneTiles,
  type TileSet,
} from './protocol/index.js';
export {
  simulateMhif,
  spectralProject,
  gaussianKernel,
  cutMhifPatches,
  mhifToHost,
  disposeMhif,
  type MhifSet,
  type MhifSimulationOptions,
  type MhifPatchOptions,
  type MhifPatches,
  type Window,
} from './protocol/hyperspectral-simulation.js';
export { windowStarts, windowGrid, cropWindows } from './protocol/windows.js';
export { NIKON_D700, SRF_WAVELENGTHS, spectralResponse, spectralResponseTensor, type SrfOptions } from './protocol/srf.js';
export * as baselines from './baselines/index.js';
export { runBaseline, type BaselineName, type BaselineInput } from './baselines/index.js';
export * from './metrics/index.js';
export {
  InferenceQueue,
  createInferenceQueue,
  QueueFullError,
  QueueClosedError,
  type InferenceQueueOptions,
  type InferenceRequestOptions,
} from './inference-queue.js';
export * as data from './data/index.js';
/** The checkpoint codecs (safetensors, torch.save zip and legacy files, the restricted unpickler); also as `io`, its former name. */
export * as checkpointFormats from './checkpoint-formats/index.js';
export * as io from './checkpoint-formats/index.js';
export * from './workflows/index.js';
