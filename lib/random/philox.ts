/**
 * Philox4x32-10 counter-based random generator (Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3", SC'11), in pure TypeScript.
 *
 * The native backend has a C++ twin of this generator; both follow the same specification,
 * so a (seed, offset) pair names the same numbers on either side:
 *
 * - key (k0, k1) = (seed mod 2^32, floor(seed / 2^32) mod 2^32), for an integer
 *   0 <= seed < 2^53.
 * - one round: (hi0, lo0) = 0xD2511F53 * c0 and (hi1, lo1) = 0xCD9E8D57 * c2 (full 64-bit
 *   products); new counter = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0). Ten rounds; after each
 *   of the first nine the key is bumped: k0 += 0x9E3779B9, k1 += 0xBB67AE85 (mod 2^32).
 * - uniform / uint32 element at stream index idx: block b = floor(idx / 4), lane = idx mod 4,
 *   counter = (b mod 2^32, floor(b / 2^32), 0, 0); x = out[lane]; u = (x >>> 8) * 2^-24, in [0, 1).
 * - normal element at stream index idx: block b = floor(idx / 2), counter =
 *   (b mod 2^32, floor(b / 2^32), 1, 0); u1 = ((out[0] >>> 8) + 1) * 2^-24 in (0, 1],
 *   u2 = (out[1] >>> 8) * 2^-24; r = sqrt(-2 ln u1); even idx -> r cos(2 pi u2),
 *   odd idx -> r sin(2 pi u2). Computed in float64, then rounded to float32.
 * - bernoulli(p) element at idx: 1 if uniform(idx) < p else 0.
 *
 * Offset rule of the stateful {@link Philox} class: element i of a call reads stream index
 * `offset + i`; afterwards `uniform(n)`, `uint32(n)` and `bernoulli(.., n)` advance the offset by
 * n, and `normal(n)` advances it by n rounded up to a multiple of 2 (so an odd-length normal call
 * discards the partner of its last element, and calls starting at an even offset never split a
 * Box-Muller pair).
 */

// Math functions bound once: hot loops then avoid global lookups (slow inside vm contexts such as
// jest's test sandbox).
const { imul, floor, sqrt, log, cos, sin, fround } = Math;

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO32 = 4294967296;
const TWO_NEG24 = 1 / 16777216;
const TWO_NEG32 = 1 / TWO32;
const TWO_PI = 2 * Math.PI;

/** High 32 bits of the 64-bit product of two uint32 values (exact, via 16-bit halves). */
function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const ll = aLo * bLo;
  const cross = aLo * bHi + aHi * bLo + floor(ll / 65536); // < 3 * 2^32: exact in float64
  return (aHi * bHi + floor(cross / 65536)) >>> 0;
}

/**
 * Philox4x32-10 block function: the four uint32 outputs for counter (c0..c3) and key (k0, k1).
 * All inputs are taken mod 2^32. Writes into `out` (length >= 4) when given.
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  c0 >>>= 0;
  c1 >>>= 0;
  c2 >>>= 0;
  c3 >>>= 0;
  k0 >>>= 0;
  k1 >>>= 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, c0);
    const lo0 = imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

function checkSeed(seed: number, what = 'seed'): void {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `Philox: ${what} must be an integer with 0 <= ${what} < 2^53, got ${String(seed)}; ` +
        `pass a non-negative whole number (e.g. floor(x) or a value from a config).`,
    );
  }
}

function checkCount(n: number, what: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new RangeError(`Philox.${what}: n must be a non-negative integer, got ${String(n)}; pass the number of values wanted.`);
  }
}

/** Splits a seed into the Philox key words. */
function keyOf(seed: number): [number, number] {
  return [seed % TWO32 >>> 0, floor(seed / TWO32) % TWO32 >>> 0];
}

/**
 * Fills `out` with the raw uint32 outputs of the uniform stream (counter word 2 = 0) at stream
 * indices start .. start + out.length - 1.
 */
function fillUint32(k0: number, k1: number, start: number, out: Uint32Array): void {
  const n = out.length;
  if (n === 0) return;
  const blk = new Uint32Array(4);
  let b = floor(start / 4);
  let lane = start - b * 4;
  let i = 0;
  while (i < n) {
    philox4x32(b % TWO32, floor(b / TWO32), 0, 0, k0, k1, blk);
    for (; lane < 4 && i < n; lane++, i++) out[i] = blk[lane];
    lane = 0;
    b++;
  }
}

/** Fills `out` with normal deviates at stream indices start .. start + out.length - 1. */
function fillNormal(k0: number, k1: number, start: number, out: Float32Array): void {
  const n = out.length;
  if (n === 0) return;
  const blk = new Uint32Array(4);
  let b = floor(start / 2);
  let lane = start - b * 2;
  let i = 0;
  while (i < n) {
    philox4x32(b % TWO32, floor(b / TWO32), 1, 0, k0, k1, blk);
    const u1 = ((blk[0] >>> 8) + 1) * TWO_NEG24;
    const u2 = (blk[1] >>> 8) * TWO_NEG24;
    const r = sqrt(-2 * log(u1));
    const a = TWO_PI * u2;
    if (lane === 0) {
      out[i++] = fround(r * cos(a));
      lane = 1;
    }
    if (lane === 1 && i < n) out[i++] = fround(r * sin(a));
    lane = 0;
    b++;
  }
}

/**
 * A Philox4x32-10 stream with a seed and a position (offset). Each call consumes elements from
 * the current offset and advances it (see the module comment for the exact rule).
 */
export class Philox {
  /** The seed of the stream. */
  readonly seed: number;
  private readonly k0: number;
  private readonly k1: number;
  private pos: number;

  constructor(seed: number, offset = 0) {
    checkSeed(seed);
    checkSeed(offset, 'offset');
    this.seed = seed;
    [this.k0, this.k1] = keyOf(seed);
    this.pos = offset;
  }

  /** The stream index the next call starts at. */
  get offset(): number {
    return this.pos;
  }

  private advance(by: number, what: string): number {
    const start = this.pos;
    const end = start + by;
    if (end > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(
        `Philox.${what}: the stream offset would pass 2^53 (offset ${start} + ${by}); ` +
          `start a new generator with a different seed or a smaller offset.`,
      );
    }
    this.pos = end;
    return start;
  }

  /** n raw uint32 outputs (the same stream the uniforms are made from). Advances offset by n. */
  uint32(n: number): Uint32Array {
    checkCount(n, 'uint32');
    const start = this.advance(n, 'uint32');
    const out = new Uint32Array(n);
    fillUint32(this.k0, this.k1, start, out);
    return out;
  }

  /** n uniforms in [0, 1), each a multiple of 2^-24 (exact in float32). Advances offset by n. */
  uniform(n: number): Float32Array {
    checkCount(n, 'uniform');
    const start = this.advance(n, 'uniform');
    const raw = new Uint32Array(n);
    fillUint32(this.k0, this.k1, start, raw);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (raw[i] >>> 8) * TWO_NEG24;
    return out;
  }

  /** n standard normal deviates (Box-Muller). Advances offset by n rounded up to a multiple of 2. */
  normal(n: number): Float32Array {
    checkCount(n, 'normal');
    const start = this.advance(n + (n % 2), 'normal');
    const out = new Float32Array(n);
    fillNormal(this.k0, this.k1, start, out);
    return out;
  }

  /**
   * Bernoulli draws: element i is 1 if uniform_i < p_i else 0. `p` is one probability for all n
   * draws (n required) or one per draw (n defaults to p.length and must equal it if given).
   * Probabilities must lie in [0, 1]. Advances offset by n.
   */
  bernoulli(p: number | Float32Array, n?: number): Float32Array {
    let count: number;
    if (typeof p === 'number') {
      if (n === undefined) {
        throw new TypeError('Philox.bernoulli: with a scalar probability pass the count too, e.g. bernoulli(0.5, 100).');
      }
      checkCount(n, 'bernoulli');
      if (!(p >= 0 && p <= 1)) {
        throw new RangeError(`Philox.bernoulli: probability must be in [0, 1], got ${p}; clamp or rescale it first.`);
      }
      count = n;
    } else {
      count = n === undefined ? p.length : n;
      checkCount(count, 'bernoulli');
      if (count !== p.length) {
        throw new RangeError(
          `Philox.bernoulli: got ${p.length} probabilities but n = ${count}; pass one probability per draw or omit n.`,
        );
      }
      for (let i = 0; i < count; i++) {
        const v = p[i];
        if (!(v >= 0 && v <= 1)) {
          throw new RangeError(
            `Philox.bernoulli: probability ${i} is ${v}, outside [0, 1]; clamp or rescale the probabilities first.`,
          );
        }
      }
    }
    const start = this.advance(count, 'bernoulli');
    const raw = new Uint32Array(count);
    fillUint32(this.k0, this.k1, start, raw);
    const out = new Float32Array(count);
    if (typeof p === 'number') {
      for (let i = 0; i < count; i++) out[i] = (raw[i] >>> 8) * TWO_NEG24 < p ? 1 : 0;
    } else {
      for (let i = 0; i < count; i++) out[i] = (raw[i] >>> 8) * TWO_NEG24 < p[i] ? 1 : 0;
    }
    return out;
  }
}

/**
 * Fisher-Yates shuffle driven by Philox(seed, offset): for i = n-1 down to 1 (draw k = n-1-i),
 * x = uint32 element k of the stream, u = x * 2^-32 (float64), j = floor(u * (i + 1)), swap i, j.
 * Uses n - 1 stream elements. Returns a new array; the input is not modified.
 */
export function shuffle(indices: Int32Array, seed: number, offset = 0): Int32Array {
  checkSeed(seed);
  checkSeed(offset, 'offset');
  const out = Int32Array.from(indices);
  const n = out.length;
  if (n < 2) return out;
  const raw = new Philox(seed, offset).uint32(n - 1);
  for (let i = n - 1, k = 0; i >= 1; i--, k++) {
    const j = floor(raw[k] * TWO_NEG32 * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}
