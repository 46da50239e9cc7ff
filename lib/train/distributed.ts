/**
 * The training loop's side of data parallelism: which process group it runs in, and the few
 * agreements it needs between ranks (options, stop decisions, validation sums) as plain functions,
 * so that loop.ts stays one code path for one and many processes.
 */
import { agree, allReduce, barrier, destroyDistributed, distributedInfo, initDistributed, type DistributedOptions } from '../distributed/index.js';
import { tensor } from '../tensor.js';

/** true: the group of initDistributed(), or one started from torchrun's environment; an object: start one with these options. */
export type TrainDistributedOption = boolean | DistributedOptions;

export interface DistributedTraining {
  rank: number;
  worldSize: number;
  /** Rejects with a 'mismatch' DistributedError when the ranks' values differ. */
  agree(name: string, value: string): Promise<void>;
  barrier(): Promise<void>;
  /** Adds `values` across ranks, in place. */
  sum(values: Float64Array): Promise<void>;
  /** For each flag, whether it is set on any rank. */
  anyOf(flags: boolean[]): Promise<boolean[]>;
  /**
   * Leaves the group if train() started it: after a clean end, once every rank is done (the store's
   * host, rank 0, must outlive the others' last use); after a failure at once (the others may be
   * inside another collective, and learn of it through their connections).
   */
  leave(clean: boolean): Promise<void>;
}

export async function joinTraining(option: TrainDistributedOption): Promise<DistributedTraining> {
  if (option !== true && (option === null || typeof option !== 'object')) {
    throw new TypeError('options.distributed: expected true or the options of initDistributed');
  }
  let info = distributedInfo();
  let owned = false;
  if (!info) {
    info = await initDistributed(option === true ? {} : option);
    owned = true;
  } else if (option !== true) {
    throw new Error('options.distributed: a process group is already initialized; pass distributed: true to train in it');
  }
  const device = info.device;
  const sum = async (values: Float64Array) => {
    const host = tensor(values, [values.length], 'float64');
    // on the group's device: NCCL reduces CUDA tensors only (dataSync copies back to the CPU)
    const t = device === 'cpu' ? host : host.to(device);
    try {
      await allReduce(t);
      values.set(t.dataSync() as Float64Array);
    } finally {
      if (t !== host) t.dispose();
      host.dispose();
    }
  };
  return {
    rank: info.rank,
    worldSize: info.worldSize,
    agree,
    barrier,
    sum,
    anyOf: async (flags) => {
      const v = Float64Array.from(flags, (f) => (f ? 1 : 0));
      await sum(v);
      return Array.from(v, (x) => x > 0);
    },
    leave: async (clean) => {
      if (!owned) return;
      if (clean) await barrier();
      await destroyDistributed();
    },
  };
}
