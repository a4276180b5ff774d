// npm run bench:gpu — one full training step on the GPU (forward over T steps, cross-entropy on the
// time-averaged output, backward, Adam step) for configs A-F, Ffast and G (the fast history), median of
// 20 steps after 5 warm-up steps, each step bracketed by cuda.synchronize() (so the time is the GPU's,
// host overhead included). Rows A-E also on the CPU backend (fewer repetitions). Then the fractional
// kernels alone: time and achieved DRAM bandwidth (minimal bytes moved / time) against the device's
// copy bandwidth measured in the same run. Without a usable GPU it prints why and exits 0. Each config
// prints a 'row' line as it finishes, so a run cut short still shows what it measured.
// The spikeDE column holds anchors: spikeDE's times on an H200 as quoted in issue 9's table (measured
// outside this project, in another run, undated there). They are not measured by this script, so no
// ratio against them is printed.
//   FSNN_BENCH_CONFIGS=A,B   only these configs      FSNN_BENCH_CPU=0   skip the CPU rows
//   FSNN_BENCH_STEPS=20 FSNN_BENCH_WARMUP=5           FSNN_MATMUL=tf32   TF32 matmul
//   FSNN_BENCH_SECONDS=12    at most about this many seconds of timed steps per config (fewer steps,
//                            at least 3, when a step is slow; default: no cap)
//   FSNN_BENCH_HISTORY=fast  the fractional history of configs A-F: exact, fast or auto (default: the
//                            wrapper's, auto, which is the exact history on CUDA); Ffast and G always
//                            run the fast history
import { cuda } from '../lib';
import { build, CONFIGS, timeSynced } from './gpu-configs';
import { native } from '../lib/native';
import { machine, table } from './common';
import type { FractionalNativeGrads } from '../types/native';
import { fractionalForwardRaw, HISTORIES, type FractionalHistory } from '../lib/fractional/op';

/** Frees the results of native.fractionalBackward (gI, and the parameter gradients, which stay on the device). */
const disposeGrads = (g: FractionalNativeGrads) => [g.gI, g.gAlpha, g.gWeight, g.gTau].forEach((h) => h?.dispose());
/** The backward as a training step with learnable alpha runs it: with the chain to alpha and the weight. */
const GRADS = { alpha: true, weight: true };

const env = (k: string, d: string) => process.env[k] ?? d;
const STEPS = Number(env('FSNN_BENCH_STEPS', '20'));
const WARMUP = Number(env('FSNN_BENCH_WARMUP', '5'));
const CPU_STEPS = Number(env('FSNN_BENCH_CPU_STEPS', '3'));
const WANT = env('FSNN_BENCH_CONFIGS', 'A,B,C,D,E,F,Ffast,G').split(',');
const RUN_CPU = env('FSNN_BENCH_CPU', '1') !== '0';
const SECONDS = Number(env('FSNN_BENCH_SECONDS', '0'));
const HISTORY = env('FSNN_BENCH_HISTORY', 'auto') as FractionalHistory;
if (!HISTORIES.includes(HISTORY)) throw new Error(`FSNN_BENCH_HISTORY=${HISTORY}: use one of ${HISTORIES.join(', ')}`);
const MiB = 1024 * 1024;

let seed = 7;
function rnd(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}

const SPIKEDE_NOTE = 'spikeDE anchor s: spikeDE seconds per step on an NVIDIA H200, quoted from issue 9\'s table ' +
  '(another run, outside this project, undated there; not measured by this benchmark, so no ratio is given).';

function main(): void {
  console.log(`machine: ${machine()}`);
  if (!cuda.isAvailable()) {
    console.log(`SKIPPED: GPU training-step benchmark: ${cuda.unavailableReason()}`);
    return;
  }
  if (process.env.FSNN_MATMUL === 'tf32') cuda.setMatmulPrecision('tf32');
  console.log(`gpu: ${cuda.deviceName(0)}; matmul precision ${cuda.getMatmulPrecision()}; fractional history ${HISTORY}`);
  console.log(`steps: median of ${STEPS} after ${WARMUP} warm-up (cpu: ${CPU_STEPS} after 1)\n`);

  // Device copy bandwidth (read + write) for reference: 1 GiB device-to-device clone.
  const big = native.runKernel('full', [], { shape: [256 * MiB], value: 1, device: 'cuda' });
  const copyMs = timeSynced(() => native.runKernel('clone', [big]).dispose(), 5);
  const copyGBs = (2 * big.byteSize) / (copyMs / 1e3) / 1e9;
  big.dispose();

  const rows: (string | number)[][] = [['cfg', 'T', 'B', 'net', 'history', 'gpu ms', 'steps', 'target ms', 'vs target', 'spikeDE anchor s', 'cpu ms', 'gpu peak MiB', 'allocs (warm)']];
  const fracRows: (string | number)[][] = [['cfg', 'N (layer 1)', 'fwd ms', 'fwd GB/s', 'bwd ms', 'bwd GB/s', '% of copy BW (fwd/bwd)']];
  for (const c of CONFIGS) {
    if (!WANT.includes(c.name)) continue;
    cuda.emptyCache();
    cuda.resetPeakMemoryStats();
    const g = build(c, 'cuda', HISTORY);
    let gpuMs = NaN;
    let reps = 0;
    let allocs = '';
    try {
      let lastMs = 0;
      for (let k = 0; k < WARMUP; k++) {
        const t0 = process.hrtime.bigint();
        g.step();
        cuda.synchronize();
        lastMs = Number(process.hrtime.bigint() - t0) / 1e6;
      }
      reps = SECONDS > 0 ? Math.max(3, Math.min(STEPS, Math.floor((SECONDS * 1e3) / Math.max(lastMs, 1e-3)))) : STEPS;
      const a0 = cuda.memoryStats().numAllocs;
      gpuMs = timeSynced(g.step, reps, 0, 'cuda');
      allocs = String(cuda.memoryStats().numAllocs - a0);
    } catch (e) {
      console.log(`config ${c.name} failed on the GPU: ${(e as Error).message}`);
    }
    const peak = cuda.memoryStats().peakAllocatedBytes / MiB;
    g.dispose();
    let cpuMs = NaN;
    if (RUN_CPU && c.cpu) {
      const h = build(c, 'cpu', HISTORY);
      cpuMs = timeSynced(h.step, CPU_STEPS, 1, 'cpu');
      h.dispose();
    }
    const row = [
      c.name, c.T, c.B, c.sizes.join('-'), c.history ?? HISTORY, gpuMs.toFixed(2), reps, c.target, gpuMs <= c.target ? 'ok' : 'MISSED',
      c.anchor ?? 'not runnable', Number.isNaN(cpuMs) ? '-' : cpuMs.toFixed(1), peak.toFixed(0), allocs,
    ];
    rows.push(row);
    console.log(`row ${row.map((v, j) => `${rows[0][j]}=${v}`).join(', ')}`);

    // The fractional kernels alone, layer 1: N = B x hidden neurons (in this config's history; skipped
    // above 2^28 elements, which a host Float32Array of the input would not hold comfortably).
    const N = c.B * c.sizes[1];
    if (c.T * N > 2 ** 28) {
      fracRows.push([c.name, N, 'skipped', '', '', '', `T x N = ${c.T * N} elements`]);
      continue;
    }
    const K = [c.method, new Float64Array([0.3]), new Float64Array([1]), 1] as const;  // kernel spec
    const fast = (c.history ?? HISTORY) === 'fast';
    const params = { kind: 'lif' as const, tau: 2, threshold: 1, surrogate: 'arctan' as const, scale: 5, memory: c.T + 1, history: c.history ?? HISTORY };
    const Id = new Float32Array(c.T * N);
    for (let k = 0; k < Id.length; k++) Id[k] = 2 * rnd();
    const I = native.fromFloat32(Id, [c.T, N], 'cuda');
    const saved = fractionalForwardRaw(I, ...K, params, true);
    const gS = native.runKernel('full', [], { shape: [c.T, N], value: 0.01, device: 'cuda' });
    const fwdMs = timeSynced(() => {
      const r = fractionalForwardRaw(I, ...K, params, true);
      r.spikes.dispose();
      r.v?.dispose();
    });
    const bwdMs = timeSynced(() => disposeGrads(native.fractionalBackward(I, saved.v!, saved.spikes, gS, null, ...K, params, GRADS)));
    // Minimal DRAM traffic: forward reads I, writes spikes and v; backward reads I, v, spikes, gS and
    // writes dI, and (exact history) writes q, then the dK correlation reads q and v once more.
    const arr = c.T * N * 4;
    const fwdGBs = (3 * arr) / (fwdMs / 1e3) / 1e9, bwdGBs = ((fast ? 5 : 8) * arr) / (bwdMs / 1e3) / 1e9;
    fracRows.push([c.name, N, fwdMs.toFixed(3), fwdGBs.toFixed(0), bwdMs.toFixed(3), bwdGBs.toFixed(0),
      `${((100 * fwdGBs) / copyGBs).toFixed(0)}% / ${((100 * bwdGBs) / copyGBs).toFixed(0)}%`]);
    for (const t of [I, saved.spikes, saved.v!, gS]) t.dispose();
    cuda.emptyCache();
  }
  console.log(table(rows));
  console.log('');
  console.log(SPIKEDE_NOTE);
  console.log(`cuBLAS: ${cuda.cublasStatus()}`);
  console.log(`\ndevice copy bandwidth (1 GiB clone, read + write): ${copyGBs.toFixed(0)} GB/s`);
  console.log('fractional kernels alone (layer 1, full memory, the config\'s history):');
  console.log(table(fracRows));
  console.log('\nallocs (warm): cudaMalloc calls during the timed steps (0 = the caching allocator serves everything).');
}

main();
