/** Learning-rate schedules as pure functions of the step (so resumes need no schedule state). */
export type Schedule =
  | { kind: 'constant'; warmup?: number }
  | { kind: 'step'; stepSize: number; gamma?: number; warmup?: number }
  | { kind: 'cosine'; minLr?: number; warmup?: number };

export function validateSchedule(s: Schedule | undefined): Schedule {
  const sched = s ?? { kind: 'constant' };
  if (!sched || typeof sched !== 'object') throw new TypeError('schedule: expected an object');
  const warm = sched.warmup ?? 0;
  if (!Number.isInteger(warm) || warm < 0) throw new RangeError('schedule.warmup: expected an integer >= 0');
  switch (sched.kind) {
    case 'constant':
      return sched;
    case 'step':
      if (!Number.isInteger(sched.stepSize) || sched.stepSize < 1) throw new RangeError('schedule.stepSize: expected an integer >= 1');
      if (sched.gamma !== undefined && !(sched.gamma > 0)) throw new RangeError('schedule.gamma: must be > 0');
      return sched;
    case 'cosine':
      if (sched.minLr !== undefined && !(sched.minLr >= 0)) throw new RangeError('schedule.minLr: must be >= 0');
      return sched;
    default:
      throw new RangeError(`schedule.kind: expected 'constant', 'step' or 'cosine', got '${String((sched as { kind?: unknown }).kind)}'`);
  }
}

/** The learning rate for optimizer step `step` (0-based) of `total`. */
export function learningRate(s: Schedule, baseLr: number, step: number, total: number): number {
  const warmup = s.warmup ?? 0;
  if (step < warmup) return (baseLr * (step + 1)) / warmup;
  const t = step - warmup;
  switch (s.kind) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * Math.pow(s.gamma ?? 0.1, Math.floor(t / s.stepSize));
    case 'cosine': {
      const span = Math.max(1, total - warmup);
      const minLr = s.minLr ?? 0;
      return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos((Math.PI * Math.min(t, span)) / span));
    }
  }
}
