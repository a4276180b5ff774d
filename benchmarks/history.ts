// npm run bench:history — one CPU training step (forward, cross-entropy, backward, Adam) of an SNN 1-256-10
// (Linear(1, 256) -> LIF -> Linear(256, 10) -> LIF, alpha [0.3, 0.8] per layer, learnable, method l1) with
// the exact and the fast (sum-of-exponentials) fractional history side by side:
//   T = 1,024, 4,096, 16,384 with B = 64, and T = 65,536 with B = 8.
// Each (T, history) runs in its own child process, so that its peak RSS is its own. The exact history is run
// while its predicted time (from the previous T, x (T ratio)^2 x B ratio) keeps the whole run near
// FSNN_BENCH_BUDGET_S seconds (default 600); beyond that it is skipped with the reason printed.
// Each case runs in rounds of (fast, exact) back to back (FSNN_BENCH_ROUNDS; default 3 while an exact step is
// predicted at <= 30 s, else 1), so that the machine's drift over minutes does not decide the ratio.
// Printed: median step time (FSNN_BENCH_STEPS steps after one warm-up; default 3, 2 from T = 16,384), the ratio,
// the peak RSS, the SOE size Q (and near window L0), the machine, threads and load average.
//   FSNN_BENCH_CASES=1024x64,4096x64   the T x B cases (default the four above).
import { execFileSync } from 'child_process';
import * as os from 'os';
import { machine, median, table } from './common';

interface CaseResult { ms: number; fracMs: number; rssMiB: number; Q: number; L0: number; threads: number; loss: number }
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/** The child: one (T, B, history) case; prints one JSON line. */
async function child(T: number, B: number, history: 'exact' | 'fast'): Promise<void> {
  const { tensor } = await import('../lib/creation');
  const { tidy } = await import('../lib/memory');
  const { native } = await import('../lib/native');
  const { Linear, Sequential } = await import('../lib/nn/layers');
  await import('../lib/ops/methods');
  const { crossEntropy } = await import('../lib/ops/nn');
  const { Adam } = await import('../lib/optim/adam');
  const { manualSeed } = await import('../lib/random/generator');
  const { LIFNeuron } = await import('../lib/snn/neurons');
  const { SNNWrapper } = await import('../lib/snn/wrapper');
  // The time inside the fractional op's native calls (forward kernel, backward), per step.
  const addon = native as unknown as Record<string, (...a: unknown[]) => unknown>;
  let fracMs = 0;
  for (const key of ['runKernel', 'fractionalBackward']) {
    const fn = addon[key];
    addon[key] = function (this: unknown, ...args: unknown[]) {
      if (key === 'runKernel' && args[0] !== 'fractionalForward') return fn.apply(this, args);
      const t0 = process.hrtime.bigint();
      try {
        return fn.apply(this, args);
      } finally {
        fracMs += Number(process.hrtime.bigint() - t0) / 1e6;
      }
    };
  }
  manualSeed(0);
  const model = new Sequential(new Linear(1, 256), new LIFNeuron({ tau: 2, threshold: 1 }), new Linear(256, 10), new LIFNeuron({ tau: 2, threshold: 1 }));
  const net = new SNNWrapper(model, { alpha: [0.3, 0.8], alphaMode: 'per_layer', learnAlpha: true, history });
  const opt = new Adam(net.parameters(), { lr: 1e-3 });
  let s = 7;
  const x = Float32Array.from({ length: T * B }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4);
  const y = Int32Array.from({ length: B }, (_, i) => i % 10);
  let loss = 0;
  const step = () => tidy(() => {
    const out = net.forward(tensor(x, [T, B, 1])).mean(0).mul(10);
    const l = crossEntropy(out, y);
    loss = l.item();
    opt.zeroGrad();
    l.backward();
    opt.step();
  });
  const steps = Number(process.env.FSNN_BENCH_STEPS ?? (T >= 16384 ? 2 : 3));
  step();  // warm-up: kernel and SOE caches, allocator
  const times: number[] = [];
  fracMs = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const info = history === 'fast' ? native.fractionalFastInfo('l1', Float64Array.from([0.3]), Float64Array.from([1]), 1, T) : { Q: 0, L0: 0 };
  const info2 = history === 'fast' ? native.fractionalFastInfo('l1', Float64Array.from([0.8]), Float64Array.from([1]), 1, T) : { Q: 0, L0: 0 };
  const r: CaseResult = {
    ms: median(times), fracMs: fracMs / steps, rssMiB: process.resourceUsage().maxRSS / 1024, Q: Math.max(info.Q, info2.Q), L0: Math.max(info.L0, info2.L0),
    threads: native.info().threads as number, loss,
  };
  process.stdout.write(JSON.stringify(r) + '\n');
}

function runCase(T: number, B: number, history: 'exact' | 'fast', steps?: number): CaseResult {
  const env = steps === undefined ? process.env : { ...process.env, FSNN_BENCH_STEPS: String(steps) };
  const out = execFileSync(process.execPath, [...process.execArgv, __filename, '--case', String(T), String(B), history],
    { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'], env });
  const line = out.trim().split('\n').pop()!;
  return JSON.parse(line) as CaseResult;
}

function main(): void {
  const cases = (process.env.FSNN_BENCH_CASES ?? '1024x64,4096x64,16384x64,65536x8').split(',').map((c) => c.split('x').map(Number) as [number, number]);
  const budget = Number(process.env.FSNN_BENCH_BUDGET_S ?? 600) * 1000;
  console.log(`machine: ${machine()}; load before ${load()}`);
  console.log('one training step (forward, cross-entropy, backward, Adam) of SNN 1-256-10, alpha [0.3, 0.8] per layer (learnable), l1');
  const rows: (string | number)[][] = [['T', 'B', 'rounds', 'exact ms', '(op)', 'fast ms', '(op)', 'exact/fast', 'op ratio', 'fast x per 2x T', 'exact RSS MiB', 'fast RSS MiB', 'Q (L0)', 'threads']];
  const notes: string[] = [];
  let spent = 0, lastExact: { T: number; B: number; ms: number } | null = null, lastFast: { T: number; B: number; ms: number } | null = null;
  for (const [T, B] of cases) {
    // An upper bound: the O(T^2) part grows as T^2, the rest as T.
    const predicted = lastExact ? lastExact.ms * (T / lastExact.T) ** 2 * (B / lastExact.B) : 0;
    const exactSteps = predicted > 30000 ? 1 : undefined;  // long steps: one warm-up and one timed step
    const runs = exactSteps ? 2 : 4;
    // Rounds of (fast, exact) in alternation: the machine's speed drifts over minutes, and the ratio of
    // each round compares the two histories measured back to back.
    const rounds = Number(process.env.FSNN_BENCH_ROUNDS ?? (predicted <= 30000 ? 3 : 1));
    const fasts: CaseResult[] = [], exacts: CaseResult[] = [];
    for (let round = 0; round < rounds; round++) {
      const fast = runCase(T, B, 'fast');
      fasts.push(fast);
      spent += fast.ms * 4;
      if (predicted * runs + spent > budget) {
        if (round === 0)
          notes.push(lastExact
            ? `exact at T = ${T}, B = ${B} skipped: predicted <= ${(predicted / 1000).toFixed(0)} s per step (from T = ${lastExact.T}, x (T ratio)^2 x (B ratio)), ` +
              `${runs} steps with warm-up would pass the ${(budget / 1000).toFixed(0)} s budget (${(spent / 1000).toFixed(0)} s spent)`
            : `exact at T = ${T}, B = ${B} skipped: the ${(budget / 1000).toFixed(0)} s budget (FSNN_BENCH_BUDGET_S) is spent`);
        continue;
      }
      const exact = runCase(T, B, 'exact', exactSteps);
      exacts.push(exact);
      spent += exact.ms * runs;
    }
    const fast = { ...fasts[0], ms: median(fasts.map((f) => f.ms)), fracMs: median(fasts.map((f) => f.fracMs)), rssMiB: Math.max(...fasts.map((f) => f.rssMiB)) };
    const exact = exacts.length ? { ...exacts[0], ms: median(exacts.map((e) => e.ms)), fracMs: median(exacts.map((e) => e.fracMs)), rssMiB: Math.max(...exacts.map((e) => e.rssMiB)) } : null;
    if (exact) lastExact = { T, B, ms: exact.ms };
    // Per-round ratios (rounds with both histories), their median and range.
    const ratios = exacts.map((e, i) => e.ms / fasts[i].ms), opRatios = exacts.map((e, i) => e.fracMs / fasts[i].fracMs);
    const ratioText = (xs: number[]) => xs.length === 1 ? xs[0].toFixed(1) : `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
    const growth = lastFast ? ((fast.ms / B) / (lastFast.ms / lastFast.B)) ** (1 / Math.log2(T / lastFast.T)) : NaN;
    lastFast = { T, B, ms: fast.ms };
    rows.push([T, B, rounds, exact ? exact.ms.toFixed(0) : 'skipped', exact ? exact.fracMs.toFixed(0) : '-', fast.ms.toFixed(0), fast.fracMs.toFixed(0),
      exact ? ratioText(ratios) : '-', exact ? ratioText(opRatios) : '-',
      Number.isFinite(growth) ? growth.toFixed(2) : '-', exact ? exact.rssMiB.toFixed(0) : '-', fast.rssMiB.toFixed(0), `${fast.Q} (${fast.L0})`, fast.threads]);
  }
  console.log(table(rows));
  for (const n of notes) console.log(n);
  console.log('(op): ms per step inside the fractional op (its forward kernel and backward, both layers); the rest is the linear layers, ' +
    'the loss, Adam and the framework');
  console.log(`(fast x per 2x T: the fast time's growth per doubling of T, per sample where B changes; load after ${load()})`);
  console.log('(rounds: (fast, exact) pairs run back to back; times are their medians, ratios the median of the rounds\' ratios and their range)');
}

if (process.argv[2] === '--case') {
  child(Number(process.argv[3]), Number(process.argv[4]), process.argv[5] as 'exact' | 'fast').catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main();
}
