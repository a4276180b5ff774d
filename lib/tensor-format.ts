// How a tensor prints (console.log, util.inspect), after PyTorch's rules: above `threshold` elements
// only the first and last `edgeItems` entries of each dimension are shown, with '...' between, and
// only those entries are read from the device (gathered there first), so printing a large tensor
// never copies it whole. Floats: integers as "3.", else 4 decimals, or scientific notation when the
// shown magnitudes span more than 1e3 or leave [1e-4, 1e8).
import type { NativeHandle } from '../types/native';
import { runKernel } from './kernels/run-kernel';

/** Printing options (PyTorch's set_printoptions defaults). */
export interface PrintOptions {
  /** Elements above which the output is summarised. */
  threshold: number;
  /** Entries shown at each end of a summarised dimension. */
  edgeItems: number;
  /** Digits after the decimal point. */
  precision: number;
}

export const PRINT_DEFAULTS: PrintOptions = { threshold: 1000, edgeItems: 3, precision: 4 };

/** What is needed of a tensor to print it. */
export interface Printable {
  shape: readonly number[];
  dtype: 'float32' | 'int32';
  device: string;
  requiresGrad: boolean;
  isDisposed: boolean;
  handle: NativeHandle;
}

/** The entries kept along a dimension of size n: all, or the first and last `edge` (null marks the gap). */
function keptIndices(n: number, summarise: boolean, edge: number): (number | null)[] {
  if (!summarise || n <= 2 * edge) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: edge }, (_, i) => i), null, ...Array.from({ length: edge }, (_, i) => n - edge + i)];
}

/** The values at the kept entries, read from a gathered copy (floats) or in full (int32, small). */
function readKept(t: Printable, kept: (number | null)[][]): ArrayLike<number> {
  const picks = kept.map((k) => Int32Array.from(k.filter((i): i is number => i !== null)));
  const reduced = picks.some((p, d) => p.length !== t.shape[d]);
  if (!reduced) return t.dtype === 'int32' ? t.handle.toInt32Array() : t.handle.toFloat32Array();
  if (t.dtype === 'int32') {
    // indexSelect is float-only: pick the entries on the host
    const all = t.handle.toInt32Array();
    const out: number[] = [];
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    const walk = (d: number, offset: number) => {
      if (d === t.shape.length) return void out.push(all[offset]);
      for (const i of picks[d]) walk(d + 1, offset + i * strides[d]);
    };
    walk(0, 0);
    return out;
  }
  let h: NativeHandle = t.handle;
  const owned: NativeHandle[] = [];
  try {
    picks.forEach((p, d) => {
      if (p.length === t.shape[d]) return;
      h = runKernel('indexSelect', [h], { dim: d, index: p });
      owned.push(h);
    });
    return h.toFloat32Array();
  } finally {
    for (const o of owned) o.dispose();
  }
}

function formatter(values: number[], dtype: 'float32' | 'int32', precision: number): (v: number) => string {
  if (dtype === 'int32') return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  const abs = finite.map(Math.abs).filter((v) => v > 0);
  const max = abs.length ? Math.max(...abs) : 0, min = abs.length ? Math.min(...abs) : 0;
  if (finite.every((v) => Number.isInteger(v)) && max < 1e8) return (v) => (Number.isFinite(v) ? `${v}.` : special(v));
  if (max >= 1e8 || min < 1e-4 || max / min > 1e3) {
    return (v) => {
      if (!Number.isFinite(v)) return special(v);
      const [m, e] = v.toExponential(precision).split('e');
      const sign = e.startsWith('-') ? '-' : '+';
      return `${m}e${sign}${e.replace(/^[+-]/, '').padStart(2, '0')}`;
    };
  }
  return (v) => (Number.isFinite(v) ? v.toFixed(precision) : special(v));
}

/**
 * The text of a tensor, e.g.
 *   tensor([[0.1000, 0.2000],
 *           [0.3000, 0.4000]], shape=[2, 2], dtype=float32, device=cpu, requiresGrad=true)
 */
export function formatTensor(t: Printable, opts: PrintOptions = PRINT_DEFAULTS): string {
  const shapeText = `[${t.shape.join(', ')}]`;
  const tail = `shape=${shapeText}, dtype=${t.dtype}, device=${t.device}${t.requiresGrad ? ', requiresGrad=true' : ''}`;
  if (t.isDisposed) return `tensor(<disposed>, ${tail})`;
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const summarise = numel > opts.threshold;
  const kept = t.shape.map((n) => keptIndices(n, summarise, opts.edgeItems));
  const flat = Array.from(readKept(t, kept));
  const fmt = formatter(flat, t.dtype, opts.precision);
  const cells = flat.map(fmt);
  const width = Math.max(0, ...cells.map((c) => c.length));
  const prefix = 'tensor(';
  let next = 0;
  // Nested brackets; each row of the last dimension on one line, blank lines between higher blocks.
  const build = (d: number, indent: number): string => {
    if (d === t.shape.length) return cells[next++].padStart(width);
    const parts = kept[d].map((i) => (i === null ? '...' : build(d + 1, indent + 1)));
    if (d === t.shape.length - 1) return `[${parts.join(', ')}]`;
    const sep = ',' + '\n'.repeat(t.shape.length - 1 - d) + ' '.repeat(indent + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = numel === 0 ? '[]' : build(0, prefix.length);
  return `${prefix}${body}, ${tail})`;
}
