/**
 * A checkpoint's optimizer state in torch.optim's layout, for a PyTorch user to continue the run:
 * one safetensors file whose tensors are `state.<i>.step`, `state.<i>.exp_avg`,
 * `state.<i>.exp_avg_sq` (Adam/AdamW) or `state.<i>.momentum_buffer` (SGD), where i is torch's
 * parameter index (the position over the param_groups' parameters, in order), and whose metadata
 * holds `param_groups` (JSON, with each group's `params` as those indices and `param_names`).
 *
 *   from safetensors import safe_open
 *   f = safe_open('optimizer.torch.safetensors', 'pt')
 *   groups = json.loads(f.metadata()['param_groups'])
 *   state = {}
 *   for k in f.keys(): _, i, name = k.split('.'); state.setdefault(int(i), {})[name] = f.get_tensor(k)
 *   opt.load_state_dict({'state': state, 'param_groups': groups})
 *
 * The learning rate of each group is the one its next step uses (the schedule evaluated there).
 */
import type { HostArray } from '../host.js';
import { writeSafetensors } from '../checkpoint-formats/index.js';
import { writeFileAtomic } from '../weights.js';
import type { Checkpoint } from './checkpoint.js';
import type { ResolvedGroup } from './groups.js';
import { learningRate, type Schedule } from './schedule.js';

export interface TorchOptimizerExport {
  tensors: Map<string, HostArray>;
  paramGroups: Array<Record<string, unknown>>;
}

export function torchOptimizerState(ck: Checkpoint): TorchOptimizerExport {
  const o = ck.state.options as {
    optimizer?: string;
    lr: number;
    beta1?: number;
    beta2?: number;
    eps?: number;
    weightDecay?: number;
    momentum?: number;
    schedule: Schedule;
    totalSteps: number;
    paramGroups?: ResolvedGroup[];
  };
  if (!o.paramGroups)
    throw new RangeError(`checkpoint ${ck.dir}: no parameter groups recorded (written by an older specfuse); cannot number the parameters as torch does`);
  const optimizer = o.optimizer ?? 'adam';
  const tensors = new Map<string, HostArray>();
  const paramGroups: Array<Record<string, unknown>> = [];
  let index = 0;
  for (const g of o.paramGroups) {
    const ids: number[] = [];
    for (const name of g.params) {
      const i = index++;
      ids.push(i);
      if (optimizer === 'sgd') {
        const buf = ck.optimizer.get(`${name}.momentum_buffer`);
        if (buf) tensors.set(`state.${i}.momentum_buffer`, buf);
        continue;
      }
      const step = ck.optimizer.get(`${name}.step`);
      if (!step) continue; // never stepped: torch has no state for it either
      // torch keeps `step` as a 0-d float32 tensor
      tensors.set(`state.${i}.step`, { dtype: 'float32', shape: [], data: Float32Array.of(Number(step.data[0])) });
      tensors.set(`state.${i}.exp_avg`, ck.optimizer.get(`${name}.exp_avg`)!);
      tensors.set(`state.${i}.exp_avg_sq`, ck.optimizer.get(`${name}.exp_avg_sq`)!);
    }
    const lr = learningRate(o.schedule, g.lr, ck.state.batches, o.totalSteps);
    paramGroups.push(
      optimizer === 'sgd'
        ? { lr, momentum: o.momentum ?? 0.9, dampening: 0, weight_decay: g.weightDecay, nesterov: false, maximize: false, params: ids, param_names: g.params }
        : {
            lr,
            betas: [o.beta1 ?? 0.9, o.beta2 ?? 0.999],
            eps: o.eps ?? 1e-8,
            weight_decay: g.weightDecay,
            amsgrad: false,
            maximize: false,
            params: ids,
            param_names: g.params,
          },
    );
  }
  return { tensors, paramGroups };
}

/** Writes torchOptimizerState(ck) as one safetensors file (atomically). */
export function writeTorchOptimizer(path: string, ck: Checkpoint): void {
  const { tensors, paramGroups } = torchOptimizerState(ck);
  const optimizer = String((ck.state.options as { optimizer?: string }).optimizer ?? 'adam');
  writeFileAtomic(
    path,
    writeSafetensors(tensors, {
      format: 'torch.optim',
      optimizer: { adam: 'Adam', adamw: 'AdamW', sgd: 'SGD' }[optimizer] ?? optimizer,
      param_groups: JSON.stringify(paramGroups),
    }),
  );
}
