/**
 * Running a model over images, the one way every workflow does it: the inputs (in the data's
 * units, e.g. DN) divided by the data's scale, moved to the model's device, one forward pass, the
 * output back on the CPU and multiplied by the scale again. Only the inputs the model takes are
 * passed, and every intermediate tensor is freed (scope()).
 */
import type { Module } from '../module.js';
import { scope, type Tensor } from '../tensor.js';
import { checkAborted } from './workflow-errors.js';

export interface RunModelOptions {
  /** The model sees input / scale and its output is multiplied back (default 1: the inputs are already on the model's scale). */
  scale?: number;
  /** Stage of the forward (default: the model's current stage). */
  stage?: number;
  autocast?: 'none' | 'bf16';
  /** Output dtype on the CPU (default: the model's). */
  dtype?: 'float32' | 'float64';
  signal?: AbortSignal;
}

/**
 * `model` on one batch `inputs` ([N, C, H, W] tensors by input name, e.g. lms/pan/ms; extra names
 * are ignored). Returns the output on the CPU, in the inputs' units. The inputs are not freed.
 */
export async function runModel(model: Module, inputs: Readonly<Record<string, Tensor | undefined>>, options: RunModelOptions = {}): Promise<Tensor> {
  checkAborted(options.signal);
  const scale = options.scale ?? 1;
  if (!(typeof scale === 'number' && scale > 0 && Number.isFinite(scale))) throw new RangeError(`scale: expected a positive number, got ${String(scale)}`);
  const device = model.device;
  return scope(async () => {
    const x: Record<string, Tensor> = {};
    for (const name of model.spec.inputs) {
      const t = inputs[name];
      if (!t) continue;
      const scaled = scale === 1 ? t : t.div(scale);
      x[name] = scaled.device === device ? scaled : scaled.to(device);
    }
    let y = await model.forward(x, { stage: options.stage, autocast: options.autocast });
    if (y.device !== 'cpu') y = y.to('cpu');
    if (options.dtype && y.dtype !== options.dtype) y = y.to(options.dtype);
    return scale === 1 ? y : y.mul(scale);
  });
}
