// Shape arithmetic shared by every op on the TypeScript side (the native layer has its own one
// helper, shape_numel in native/tensor.h): sizes are checked to be non-negative integers and the
// product is checked not to pass 2^53, past which a JavaScript number stops counting exactly.

/** The element count of a shape; throws, naming op and shape, on a bad size or an inexact product. */
export function shapeNumel(shape: readonly number[], op: string): number {
  for (const d of shape)
    if (!Number.isSafeInteger(d) || d < 0)
      throw new Error(`${op}: shape [${shape.join(', ')}] has the size ${d}; every size must be an integer in [0, 2^53)`);
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    if (n > Number.MAX_SAFE_INTEGER / d)
      throw new Error(`${op}: shape [${shape.join(',')}] is too large: it has more than 2^53 elements, more than any device can hold; ` +
        'use a smaller shape or smaller batches');
    n *= d;
  }
  return n;
}

/**
 * An integer geometry option (kernel size, stride, padding, dilation) given as n or [h, w]:
 * both values must be integers >= min. A fraction such as 1.5 is an error, never truncated.
 */
export function intPair(v: unknown, fallback: number, name: string, op: string, min: number): [number, number] {
  const pair = v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((x) => Number.isSafeInteger(x) && x >= min))
    throw new Error(`${op}: ${name} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}`);
  return [pair[0], pair[1]];
}
