/** specfuse: spectral image fusion (pansharpening) models on libtorch, from Node.js. */
import { applyDefaultThreads } from './device.js';

applyDefaultThreads();

export * from './tensor.js';
export * from './device.js';
export { Module, type ModelSpec, type ParameterCounts } from './module.js';
export * from './models/index.js';
export { compilePattern, selectNames } from './freeze.js';
export type { DType, HostArray, HostData } from './host.js';
export * from './train/index.js';
export { loadWeights, loadStateDict, saveWeights, planLoad, iptToPanAdapter, edsrToPanAdapter, loadPanAdapterPretrained, WeightsError, type LoadReport, type LoadOptions, type NameMapping } from './weights.js';
