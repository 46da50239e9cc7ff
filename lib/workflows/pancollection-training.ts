/**
 * Training on PanCollection .h5 files: the files read by sample and divided by the data's scale
 * (the sensor's DN range, from the file name unless given), and the optimizer state exported in
 * torch.optim's layout at the end of a run.
 */
import { join } from 'node:path';
import type { HostArray } from '../host.js';
import { sensorFromPath, sensorScale } from '../data/index.js';
import { PanCollectionDataset, readCheckpoint, writeTorchOptimizer } from '../train/index.js';
import { WorkflowOptionError } from './workflow-errors.js';

/** A PanCollection file's samples divided by `scale` (DN -> the model's [0, 1] range). */
export class ScaledDataset {
  constructor(
    private readonly inner: PanCollectionDataset,
    private readonly scale: number,
  ) {}
  get length(): number {
    return this.inner.length;
  }
  get keys(): PanCollectionDataset['keys'] {
    return this.inner.keys;
  }
  async batch(indices: readonly number[]): Promise<Record<string, HostArray>> {
    const b = await this.inner.batch(indices);
    for (const a of Object.values(b)) {
      const d = a.data as Float32Array;
      for (let i = 0; i < d.length; i++) d[i]! /= this.scale;
    }
    return b;
  }
}

/** Training (and validation) data from PanCollection files, scaled; close() when done. */
export interface PanCollectionTrainingData {
  data: ScaledDataset;
  valid?: ScaledDataset;
  scale: number;
  close(): void;
}

/**
 * Opens `train` (and `valid`) for training: divided by `scale`, by default the scale of the sensor
 * the training file's name says (WV3's 2047 when it says none).
 */
export async function openPanCollectionTraining(train: string, options: { valid?: string; scale?: number } = {}): Promise<PanCollectionTrainingData> {
  const scale = options.scale ?? sensorScale(String(sensorFromPath(train) ?? 'wv3'));
  if (!(scale > 0)) throw new WorkflowOptionError('scale', 'scale: expected a positive number');
  const data = await PanCollectionDataset.open(train);
  let valid: PanCollectionDataset | undefined;
  try {
    valid = options.valid ? await PanCollectionDataset.open(options.valid) : undefined;
  } catch (e) {
    data.close();
    throw e;
  }
  return {
    data: new ScaledDataset(data, scale),
    valid: valid && new ScaledDataset(valid, scale),
    scale,
    close() {
      data.close();
      valid?.close();
    },
  };
}

/** Writes the optimizer state of the run folder's latest checkpoint in torch.optim's layout (optimizer.torch.safetensors); false without a checkpoint. */
export function exportTorchOptimizer(out: string): boolean {
  const ck = readCheckpoint(join(out, 'checkpoints'));
  if (!ck) return false;
  writeTorchOptimizer(join(out, 'optimizer.torch.safetensors'), ck);
  return true;
}
