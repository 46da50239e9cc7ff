/**
 * Deterministic, stateless randomness for the training loop: every draw is a pure function of
 * (seed, purpose, counter), so a resumed run makes exactly the same choices as an uninterrupted one
 * without saving generator state.
 */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A small seeded generator (mulberry32) for one purpose. */
export function generator(seed: number, purpose: number, counter: number): () => number {
  let s = mix32(mix32(seed >>> 0) ^ mix32(purpose * 0x9e3779b9) ^ mix32(counter * 0x85ebca6b));
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The sample order of one epoch: a Fisher-Yates shuffle seeded by (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number, shuffle = true): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (!shuffle) return order;
  const rand = generator(seed, 1, epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Flip augmentation for one step: [flipH, flipV], the same for every sample of the batch. */
export function stepFlips(seed: number, step: number): [boolean, boolean] {
  const rand = generator(seed, 2, step);
  return [rand() < 0.5, rand() < 0.5];
}
