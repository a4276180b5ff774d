// npm run bench:gpu-profile — where the fast-history training step's GPU time goes (configs Ffast and G
// of gpu-configs.ts: SNN 1-256-10, B = 64, T = 4,096 and 65,536), to direct the next optimization:
//   1. variants: the step with the defaults, then at each load depth of the fast-history kernels
//      (cuda_fractional_fast.cu, FSNN_CUDA_FAST_AHEAD = 1, 4, 8) and without the split along K of the
//      weight gradients' products (cuda_blas.cu, FSNN_CUDA_SPLITK=0); median of FSNN_PROFILE_STEPS steps
//      after 2 warm-up steps, all in this one process, one variant after the other;
//   2. ops: one step (the defaults) with cuda.synchronize() after every call into the addon, and the time
//      summed per kernel name, largest first, with its share of that step. Each synchronize adds a
//      launch's latency (a few microseconds) to every call, so the shares are of a slightly slower step;
//      "(outside the addon)" is the rest of the step: JavaScript, and any call not made through the
//      addon object.
// With --kernels it runs only the layers' fast kernels alone at T = 4,096 (N = 64 x 256 and 64 x 10),
// forward then backward, once each: a short program for a profiler, e.g.
//   ncu --section WarpStateStats -k "regex:frac_fast_(forward|backward)" node benchmarks/gpu-step-profile.js --kernels
// Without a usable GPU it prints why and exits 0.
//   FSNN_PROFILE_CONFIGS=Ffast,G   FSNN_PROFILE_STEPS=5
import { cuda } from '../lib';
import { native } from '../lib/native';
import { fractionalForwardRaw } from '../lib/fractional/op';
import type { FractionalNativeParams } from '../types/native';
import { build, CONFIGS, timeSynced } from './gpu-configs';
import { table } from './common';

const STEPS = Number(process.env.FSNN_PROFILE_STEPS ?? '5');
const WANT = (process.env.FSNN_PROFILE_CONFIGS ?? 'Ffast,G').split(',');
const KNOBS = ['FSNN_CUDA_FAST_AHEAD', 'FSNN_CUDA_SPLITK'] as const;
const VARIANTS: { label: string; env: Partial<Record<(typeof KNOBS)[number], string>> }[] = [
  { label: 'defaults (loads 8 ahead forward, 4 backward; split-K)', env: {} },
  ...['1', '4', '8'].map((d) => ({ label: `FSNN_CUDA_FAST_AHEAD=${d}`, env: { FSNN_CUDA_FAST_AHEAD: d } })),
  { label: 'FSNN_CUDA_SPLITK=0', env: { FSNN_CUDA_SPLITK: '0' } },
];

function setKnobs(env: Partial<Record<(typeof KNOBS)[number], string>>): void {
  // A plain node process: process.env writes the real environment, which the addon reads at each call.
  for (const k of KNOBS) {
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
}

/** Per-name ms of one step with a synchronize after each addon call, and the step's total ms. */
function opProfile(step: () => void): { total: number; ops: Map<string, number> } {
  const addon = native as unknown as Record<string, (...a: unknown[]) => unknown>;
  const sync = addon.cudaSynchronize;
  const ops = new Map<string, number>();
  const saved = new Map<string, (...a: unknown[]) => unknown>();
  for (const key of Object.keys(addon)) {
    const fn = addon[key];
    if (typeof fn !== 'function' || key === 'cudaSynchronize' || /^[A-Z]/.test(key) || /Async$/.test(key)) continue;
    saved.set(key, fn);
    addon[key] = function (this: unknown, ...args: unknown[]) {
      const t0 = process.hrtime.bigint();
      try {
        return fn.apply(this, args);
      } finally {
        sync();
        const name = key === 'runKernel' ? String(args[0]) : key;
        ops.set(name, (ops.get(name) ?? 0) + Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };
  }
  try {
    cuda.synchronize();
    const t0 = process.hrtime.bigint();
    step();
    cuda.synchronize();
    return { total: Number(process.hrtime.bigint() - t0) / 1e6, ops };
  } finally {
    for (const [k, fn] of saved) addon[k] = fn;
  }
}

function kernelsAlone(): void {
  const T = 4096;
  const spec = ['l1', new Float64Array([0.3]), new Float64Array([1]), 1] as const;
  const params: FractionalNativeParams = { kind: 'lif', tau: 2, threshold: 1, surrogate: 'arctan', scale: 5, memory: T + 1, history: 'fast' };
  for (const N of [64 * 256, 64 * 10]) {
    const I = native.runKernel('full', [], { shape: [T, N], value: 0.7, device: 'cuda' });
    const gS = native.runKernel('full', [], { shape: [T, N], value: 0.01, device: 'cuda' });
    const f = fractionalForwardRaw(I, ...spec, params, true);
    const g = native.fractionalBackward(I, f.v!, f.spikes, gS, null, ...spec, params, { alpha: true, weight: true });
    cuda.synchronize();
    for (const h of [I, gS, f.spikes, f.v, g.gI, g.gAlpha, g.gWeight, g.gTau]) h?.dispose();
    console.log(`kernels alone: T = ${T}, N = ${N}: forward and backward ran`);
  }
}

function main(): void {
  if (!cuda.isAvailable()) {
    console.log(`SKIPPED: GPU step profile: ${cuda.unavailableReason()}`);
    return;
  }
  if (process.argv.includes('--kernels')) return kernelsAlone();
  console.log(`gpu: ${cuda.deviceName(0)}; steps: median of ${STEPS} after 2 warm-up`);
  const variantRows: (string | number)[][] = [['cfg', 'variant', 'step ms', 'target ms']];
  for (const c of CONFIGS.filter((k) => WANT.includes(k.name))) {
    cuda.emptyCache();
    const g = build(c, 'cuda');
    try {
      for (const v of VARIANTS) {
        setKnobs(v.env);
        const ms = timeSynced(g.step, STEPS, 2);
        variantRows.push([c.name, v.label, ms.toFixed(2), c.target]);
        console.log(`variant ${c.name} ${v.label}: ${ms.toFixed(2)} ms`);
      }
      setKnobs({});
      const { total, ops } = opProfile(g.step);
      const rows: (string | number)[][] = [['op', 'ms', '% of step']];
      let named = 0;
      for (const [name, ms] of [...ops].sort((a, b) => b[1] - a[1])) {
        named += ms;
        if (rows.length <= 15) rows.push([name, ms.toFixed(2), ((100 * ms) / total).toFixed(1)]);
      }
      rows.push(['(outside the addon)', (total - named).toFixed(2), ((100 * (total - named)) / total).toFixed(1)]);
      console.log(`\nops ${c.name}: one synchronized step, ${total.toFixed(2)} ms (the 15 largest of ${ops.size} names)`);
      console.log(table(rows));
    } catch (e) {
      console.log(`config ${c.name} failed: ${(e as Error).message}`);
    } finally {
      setKnobs({});
      g.dispose();
    }
  }
  console.log('\nstep time by variant:');
  console.log(table(variantRows));
}

main();
