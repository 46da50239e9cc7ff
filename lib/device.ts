/** Devices and threads. */
import { availableParallelism } from 'node:os';
import { native, type DeviceInfo } from './native.js';

export type { DeviceInfo };

/** The CPU and every usable CUDA device, with names and memory sizes. */
export function devices(): DeviceInfo[] {
  return native.devices();
}

/** Whether CUDA can be used, and why not when it cannot. */
export function cuda(): { available: boolean; reason: string; deviceCount: number } {
  return native.cudaStatus();
}

/** libtorch's intra-op threads for this process: exactly n, whatever else runs on the machine. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Default: at most one intra-op thread per available core, fewer while other processes keep cores
 * busy (measured before each native task); SPECFUSE_NUM_THREADS or setNumThreads fixes the count.
 * libtorch's own default counts physical cores of the host, which oversubscribes containers with a
 * CPU quota.
 */
export function applyDefaultThreads(): void {
  const env = Number(process.env.SPECFUSE_NUM_THREADS);
  if (Number.isInteger(env) && env > 0) {
    native.setNumThreads(env);
    return;
  }
  // Under torchrun (or specfuse train --nproc) LOCAL_WORLD_SIZE processes share this machine's
  // cores: each one's ceiling is its share, and the adaptive team shrinks below it under load.
  const local = Number(process.env.LOCAL_WORLD_SIZE);
  const share = Number.isInteger(local) && local > 1 ? local : 1;
  native.setNumThreads(Math.max(1, Math.floor(availableParallelism() / share)), true);
}

export const torchVersion = native.torchVersion;
export const libtorchDir = native.libtorchDir;

/** Current and peak bytes of a CUDA device's caching allocator; `resetPeak` starts a new peak window. */
export function deviceMemory(device: string, resetPeak = false): { allocated: number; peakAllocated: number; reserved: number; peakReserved: number } {
  return native.acceleratorMemory(device, resetPeak);
}

/** cuDNN autotuning for fixed-shape workloads (picks the fastest convolution algorithms). */
export function setCudnnBenchmark(on: boolean): void {
  native.setCudnnBenchmark(on);
}
