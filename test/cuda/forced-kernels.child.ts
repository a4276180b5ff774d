// Child process of parity.test.ts: the fractional op on cuda against the cpu backend with the kernels
// that the environment forces: the exact history's K table read from global memory
// (FSNN_CUDA_FRAC_GLOBAL_K=1) and the fast history's thread-local-memory kernels
// (FSNN_CUDA_FAST_GENERIC=1). The variables must be in the real environment of the process (jest gives
// each test file a copy of process.env that native code does not see), so the parent runs this file
// with them set. Prints one JSON line: per case, the agreement of every output.
import { native } from '../../lib/native';
import type { FractionalNativeParams, NativeHandle } from '../../types/native';
import { fractionalForwardRaw } from '../../lib/fractional/op';

let seed = 424242;
const rnd = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
};
const data = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rnd());
const hiLo = (h: NativeHandle) => {
  const v = h.toFloat32Array(), n = v.length / 2, o = new Float64Array(n);
  for (let i = 0; i < n; i++) o[i] = v[i] + v[n + i];
  return o;
};
const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-300);
};

interface Case { T: number; N: number; memory?: number; kind: 'lif' | 'if'; surrogate: FractionalNativeParams['surrogate']; method: 'l1' | 'gl'; alphas: number[]; weights: number[]; gV: boolean; fast?: boolean }
const cases: Case[] = [
  { T: 64, N: 120, kind: 'lif', surrogate: 'arctan', method: 'l1', alphas: [0.6], weights: [1], gV: true },        // S = 8
  { T: 64, N: 100, memory: 9, kind: 'if', surrogate: 'sigmoid', method: 'gl', alphas: [0.3, 0.7], weights: [1, 0.4], gV: false },
  { T: 600, N: 80, kind: 'lif', surrogate: 'gaussian', method: 'l1', alphas: [0.5], weights: [1], gV: true },     // S = 16
  { T: 600, N: 70, memory: 40, kind: 'lif', surrogate: 'piecewise_linear', method: 'gl', alphas: [0.4, 0.8], weights: [1, 0.3], gV: true },
  // the fast history (full memory)
  { T: 500, N: 90, kind: 'lif', surrogate: 'arctan', method: 'l1', alphas: [0.3, 0.8], weights: [1, 0.5], gV: true, fast: true },
  { T: 200, N: 65, kind: 'if', surrogate: 'sigmoid', method: 'gl', alphas: [0.6], weights: [1], gV: false, fast: true },
];
const out = cases.map((c) => {
  const spec = [c.method, Float64Array.from(c.alphas), Float64Array.from(c.weights), 1] as const;
  const params: FractionalNativeParams = { kind: c.kind, tau: 2, threshold: 1, surrogate: c.surrogate, scale: 5, memory: c.memory ?? c.T + 1, history: c.fast ? 'fast' : 'exact' };
  const shape = [c.T, c.N], n = c.T * c.N;
  const I = data(n, 0, 2.5), gS = data(n, -1, 1), gV = data(n, -0.2, 0.2);
  const run = (device: 'cpu' | 'cuda') => {
    const h = native.fromFloat32(I, shape, device);
    const f = fractionalForwardRaw(h, ...spec, params, true);
    const b = native.fractionalBackward(h, f.v!, f.spikes, native.fromFloat32(gS, shape, device), c.gV ? native.fromFloat32(gV, shape, device) : null, ...spec, params,
      { alpha: false, weight: false, pairs: true });
    return { spikes: f.spikes.toFloat32Array(), v: f.v!.toFloat32Array(), gI: b.gI.toFloat32Array(), gK: hiLo(b.gK!), gTau: hiLo(b.gTauPair!)[0] };
  };
  const cpu = run('cpu'), gpu = run('cuda');
  let spikeDiffs = 0;
  for (let i = 0; i < n; i++) if (cpu.spikes[i] !== gpu.spikes[i]) spikeDiffs++;
  return {
    name: `T=${c.T} ${c.fast ? 'fast history' : `(S=${c.T >= 512 ? 16 : 8})`} M=${c.memory ?? 'full'} ${c.kind} ${c.surrogate} ${c.method}`, fast: !!c.fast,
    spikeDiffs, v: rel(gpu.v, cpu.v), gI: rel(gpu.gI, cpu.gI), gK: rel(gpu.gK, cpu.gK),
    gTau: Math.abs(gpu.gTau - cpu.gTau) / Math.max(1e-12, Math.abs(cpu.gTau)),
  };
});
process.stdout.write(JSON.stringify({ env: process.env.FSNN_CUDA_FRAC_GLOBAL_K ?? null, fastEnv: process.env.FSNN_CUDA_FAST_GENERIC ?? null, cuda: native.cudaIsAvailable(), cases: out }) + '\n');
