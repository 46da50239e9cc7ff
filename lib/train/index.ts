export { train, type TrainOptions, type TrainResult, type Progress } from './loop.js';
export { Trainer, rngState, setRngState, type TrainerOptions, type StepResult } from './trainer.js';
export { ArrayDataset, PanCollectionDataset, gather, type FusionDataset } from './dataset.js';
export { learningRate, validateSchedule, type Schedule } from './schedule.js';
export { readCheckpoint, writeCheckpoint, type Checkpoint, type LoopState } from './checkpoint.js';
export { epochOrder, stepFlips } from './rng.js';
export { CallbackList, type Callback, type StepEnd, type EpochEnd, type ValidationEnd, type CheckpointSaved, type TrainControl } from './callbacks.js';
export {
  CsvLogger,
  JsonlLogger,
  TensorBoardLogger,
  createLoggers,
  parseLoggerKinds,
  LOGGER_KINDS,
  type Logger,
  type LoggerKind,
  type LogImage,
} from './loggers.js';
export { globToRegExp, isNoDecay, parseGroupsOption, resolveParamGroups, type ParamGroupSpec, type ResolvedGroup } from './groups.js';
export { resolveMonitor, type MonitorOptions, type BestEntry } from './monitor.js';
export { type ValidationOptions } from './validation.js';
export { torchOptimizerState, writeTorchOptimizer, type TorchOptimizerExport } from './torch-optim.js';
