// Observes the event loop by counting its turns, never by the clock: a test that asserts a duration
// or a rate fails at random on a machine that is faster, slower or busier than the one it was written on.

/**
 * Runs `work` and counts the event-loop turns (setImmediate callbacks) that happen after it started
 * and before its promise settled. Work done on the JS thread cannot let a single turn through, however
 * long it takes; work done on another thread lets the loop spin while it runs.
 */
export async function turnsWhilePending<T>(work: () => Promise<T>): Promise<{ turns: number; value: T }> {
  let turns = 0;
  let pending = true;
  const spin = (): void => {
    if (!pending) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    const value = await work();
    return { turns, value };
  } finally {
    pending = false;
  }
}
