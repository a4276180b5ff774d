// Loads the spikeDE / float64-reference goldens (test/fixtures/goldens, copied from shared/goldens).
import * as fs from 'fs';
import * as path from 'path';

export interface GoldenLayer { type: 'linear' | 'lif' | 'if'; name: string; in?: number; out?: number; tau?: number; threshold?: number; surrogate?: string; scale?: number }
export interface GoldenBlock { output: number[][][]; loss: number; grads: Record<string, number[] | number[][]>; alpha_grad: (number[] | null)[] | null; coefficient_grad: (number[] | null)[] | null }
export interface GoldenCase {
  name: string;
  spec: { layers: GoldenLayer[]; T: number; B: number; h: number; method: 'l1' | 'gl'; alpha: number | number[] | number[][]; alpha_mode?: string;
    multi_coefficient?: number[] | number[][]; learn_alpha?: boolean; learn_coefficient?: boolean; memory?: number };
  params: Record<string, number[] | number[][]>;
  alpha: number[][];
  coefficient: number[][];
  x: number[][][];
  x_time: number[];
  readout: number[][][];
  spikede?: GoldenBlock;
  reference: GoldenBlock;
}

export function loadGoldens(): GoldenCase[] {
  const file = path.join(__dirname, '..', 'fixtures', 'goldens', 'goldens_public.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).cases as GoldenCase[];
}

export const flat = (a: unknown): number[] => (Array.isArray(a) ? (a as unknown[]).flatMap(flat) : [a as number]);

/** max |a - b| / max(|b|) (max-norm relative error). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

/** spikeDE's surrogate names to ours. */
export const surrogateName = (s: string | undefined) => (s ?? 'arctan_surrogate').replace(/_surrogate$/, '') as 'arctan' | 'sigmoid';
