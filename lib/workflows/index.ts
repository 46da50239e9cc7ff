/**
 * The workflows: what a user of specfuse runs, from a Node program as from the command line (the
 * CLI is argument parsing and printing over these). Each is typed, takes an AbortSignal and throws
 * WorkflowOptionError for options to change.
 */
export { WorkflowOptionError, WorkflowInputError, NonFiniteError } from './workflow-errors.js';
export { runModel, type RunModelOptions } from './run-model.js';
export { fuseScene, gridTiles, tileStarts, type TileOptions } from './tiled-fusion.js';
export { countNonFinite, fillNonFinite, finitePolicy, type NonFinite, type WarningSink } from './finite-values.js';
export {
  fuseSceneFile,
  readFusionScene,
  fuseFusionScene,
  writeFusedImage,
  fusedFormat,
  previewPath,
  FUSED_FORMATS,
  type FuseSceneFileOptions,
  type FusionScene,
  type FuseOptions,
  type ReadSceneOptions,
  type SceneFiles,
} from './scene-fusion.js';
export {
  evaluatePansharpening,
  readEvaluationData,
  loadReleasedCnn,
  loadSummary,
  describeEvaluation,
  EVALUATION_RATIO,
  type EvaluatePansharpeningOptions,
  type EvaluationData,
  type EvaluationFiles,
  type PansharpeningEvaluation,
} from './pansharpening-evaluation.js';
export { imageMetrics, selectSample, type ImageMetrics, type ImageMetricsOptions } from './image-metrics.js';
export {
  sceneData,
  sceneReport,
  formatSceneReport,
  sampleReport,
  trainOnScene,
  heldOutReport,
  BORDER_CUT,
  type SceneOptions,
  type SceneData,
  type SceneReport,
  type TrainOnSceneOptions,
  type HeldOutReport,
  type ReportModel,
  type Resolution,
} from './scene-training.js';
export { openRunFolder, joinRunFolder, saveRunWeights, RunFolderError, RUN_OUTPUTS, type RunFolder } from './run-folder.js';
export { trainInRunFolder, type RunFolderTrainingOptions, type RunFolderTrainingResult } from './run-folder-training.js';
export { runDemo, type DemoOptions, type DemoResult } from './demo.js';
export { ScaledDataset, openPanCollectionTraining, exportTorchOptimizer, type PanCollectionTrainingData } from './pancollection-training.js';
export {
  prepareMhifData,
  evaluateMhif,
  formatMhifScores,
  hyperspectralFusionModel,
  trainHyperspectralFusion,
  trainHyperspectralFusionInFolder,
  evaluateHyperspectralFusion,
  loadHyperspectralFusionModel,
  recordedFusionConfig,
  type MhifData,
  type MhifDataOptions,
  type MhifScores,
  type EvaluateMhifOptions,
  type HyperspectralModelOptions,
  type HyperspectralFolderTrainingOptions,
} from './hyperspectral-fusion.js';
