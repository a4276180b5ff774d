// The global counter-based generator state (seed, offset). Every draw of n numbers uses the Philox
// counters offset .. offset+n-1 and then advances the offset (rounded up to a multiple of 4, one
// Philox block), so results depend only on the seed and the order of draws — on any device.
let seed = 0;
let offset = 0;

/**
 * Seeds the global random stream (rand, randn, bernoulli, dropout, initialisation): the same seed gives the same numbers on every device.
 */
export function manualSeed(s: number): void {
  if (!Number.isInteger(s) || s < 0 || s > Number.MAX_SAFE_INTEGER) throw new Error(`manualSeed: seed must be an integer in [0, 2^53), got ${s}`);
  seed = s;
  offset = 0;
}

/** The global stream's seed and position (pass to setRngState() to replay). */
export function getRngState(): {
  /** The seed. */
  seed: number;
  /** Elements drawn so far. */
  offset: number;
} {
  return { seed, offset };
}

/** Restores a state from getRngState(). */
export function setRngState(state: { seed: number; offset: number }): void {
  manualSeed(state.seed);
  offset = state.offset;
}

/** Reserves n counters; returns the (seed, offset) to draw them with. */
export function reserve(n: number): { seed: number; offset: number } {
  const at = { seed, offset };
  offset += Math.ceil(n / 4) * 4;
  return at;
}
