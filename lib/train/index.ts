export { train, type TrainOptions, type TrainResult, type Progress } from './loop.js';
export { Trainer, rngState, setRngState, type TrainerOptions, type StepResult } from './trainer.js';
export { ArrayDataset, PanCollectionDataset, gather, type FusionDataset } from './dataset.js';
export { learningRate, validateSchedule, type Schedule } from './schedule.js';
export { readCheckpoint, writeCheckpoint, type Checkpoint, type LoopState } from './checkpoint.js';
export { epochOrder, stepFlips } from './rng.js';
