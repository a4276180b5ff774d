// Sequential MNIST, a long-memory task: the digit is shown row by row (T = 28 steps of 28 inputs) or
// pixel by pixel (T = 784 steps of one input; meant for a GPU). A feed-forward spiking network has
// no recurrence, so what it remembers of earlier rows is what its membranes keep: the integer-order
// LIF forgets exponentially, the fractional one with a power law. Four models are trained with the
// same data, seeds, sizes and budget, and compared in a table and an HTML report.
import * as fs from 'fs';
import * as path from 'path';
import { comparisonReportHtml, ComparedRun } from '../report/comparison';
import { fmtAlphas, fmtPct } from './common';
import { definedOnly, TRAIN_DEFAULTS, TrainConfig } from './config';
import { train } from './train';

export interface SequentialOptions {
  /** Pixel by pixel (T = 784) instead of row by row (T = 28). */
  pixels: boolean;
  epochs: number;
  batchSize: number;
  trainSize: number;
  testSize: number;
  hidden: number;
  tau: number;
  lr: number;
  seed: number;
  /** History window (undefined: full history). */
  memory?: number;
  device: 'cpu' | 'cuda';
  /** Output directory (null: nothing written). */
  out: string | null;
  /** Only these runs (keys of SEQUENTIAL_RUNS; default all four). */
  only?: string[];
  progress: boolean;
  log: (line: string) => void;
}

export const SEQUENTIAL_DEFAULTS: SequentialOptions = {
  pixels: false, epochs: 8, batchSize: 64, trainSize: 8000, testSize: 2000, hidden: 256, tau: 5, lr: 2e-3, seed: 0,
  device: 'cpu', out: 'runs/sequential-mnist', progress: true, log: (l) => console.log(l),
};

export interface SequentialRunSpec {
  key: string;
  name: string;
  description: string;
  config: Partial<TrainConfig>;
}

export const SEQUENTIAL_RUNS: SequentialRunSpec[] = [
  {
    key: 'integer', name: 'integer order (odeint)', description: "LIF with the ordinary first derivative (integrator 'odeint', explicit Euler): exponential forgetting",
    config: { integrator: 'odeint', method: 'euler', learnAlpha: false },
  },
  {
    key: 'fixed', name: 'f-SNN, fixed alpha', description: 'fractional LIF, alpha = 0.5 in both layers, not learned (L1 scheme, full history)',
    config: { alpha: [0.5, 0.5], alphaMode: 'per_layer', learnAlpha: false },
  },
  {
    key: 'learned', name: 'f-SNN, learnable per-layer alpha', description: 'fractional LIF, one order per layer starting at 0.5, learned with the weights',
    config: { alpha: [0.5, 0.5], alphaMode: 'per_layer', learnAlpha: true },
  },
  {
    key: 'multiterm', name: 'f-SNN, multi-term', description: 'orders [0.3, 0.6, 0.9] with weights [0.5, 0.3, 0.2] in every layer, orders and weights learned',
    config: { alpha: [0.3, 0.6, 0.9], alphaMode: 'multiterm', multiCoefficient: [0.5, 0.3, 0.2], learnAlpha: true, learnCoefficient: true },
  },
];

export interface SequentialResult {
  runs: ComparedRun[];
  report: string | null;
}

export async function runSequential(options: Partial<SequentialOptions> = {}): Promise<SequentialResult> {
  const o = { ...SEQUENTIAL_DEFAULTS, ...definedOnly(options) };
  const log = o.log;
  const specs = o.only ? SEQUENTIAL_RUNS.filter((r) => o.only!.includes(r.key)) : SEQUENTIAL_RUNS;
  if (o.only && specs.length !== o.only.length)
    throw new Error(`unknown run(s) ${o.only.filter((k) => !SEQUENTIAL_RUNS.some((r) => r.key === k)).join(', ')}; the runs are ${SEQUENTIAL_RUNS.map((r) => r.key).join(', ')}`);
  const encoding = o.pixels ? 'sequential-pixels' : 'sequential-rows';
  const T = o.pixels ? 784 : 28;
  if (o.pixels && o.device === 'cpu')
    log(`note: pixel by pixel is T = 784 steps; with the full history each neuron's update sums over every earlier step, ` +
      `so this runs for a long time on a CPU: use --device cuda, or --memory (e.g. 64) and smaller --train-size / --epochs.`);
  const runs: ComparedRun[] = [];
  for (const [i, s] of specs.entries()) {
    log('');
    log(`=== ${i + 1}/${specs.length}: ${s.name}: ${s.description}`);
    const config: TrainConfig = {
      ...TRAIN_DEFAULTS, epochs: o.epochs, batchSize: o.batchSize, trainSize: o.trainSize, testSize: o.testSize, hidden: [o.hidden],
      tau: o.tau, lr: o.lr, seed: o.seed, memory: o.memory, device: o.device, encoding, T, augment: 0, progress: o.progress,
      out: o.out === null ? null : path.join(o.out, s.key), title: `sequential MNIST (${o.pixels ? 'pixels' : 'rows'}): ${s.name}`,
      ...s.config,
    };
    const r = await train(config, { log: (l) => log(`  ${l.replace(/\n/g, '\n  ')}`) });
    const fractional = config.integrator !== 'odeint';
    runs.push({
      name: s.name, description: s.description, testAccuracy: r.testAccuracy, alphas: fractional ? r.alphas : null,
      coefficients: fractional && config.learnCoefficient ? r.coefficients : null, seconds: r.seconds, epochs: r.epochs,
      report: r.report ? path.relative(o.out ?? '.', r.report) : null,
    });
  }
  log('');
  log(`=== sequential MNIST, ${o.pixels ? 'pixel by pixel (T = 784)' : 'row by row (T = 28)'}: ${o.trainSize} training / ${o.testSize} test digits, ` +
    `${o.epochs} epochs, hidden ${o.hidden}, tau ${o.tau}, lr ${o.lr}, seed ${o.seed}`);
  const table = [['model', 'test acc', 'learned alphas', 'coefficients', 'time'],
    ...runs.map((r) => [r.name, fmtPct(r.testAccuracy), r.alphas ? fmtAlphas(r.alphas) : '- (alpha = 1)', r.coefficients ? fmtAlphas(r.coefficients) : '-', `${r.seconds.toFixed(1)} s`])];
  const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
  for (const row of table) log(row.map((c, j) => c.padEnd(widths[j])).join('  '));
  let report: string | null = null;
  if (o.out !== null) {
    fs.mkdirSync(o.out, { recursive: true });
    report = path.join(o.out, 'comparison.html');
    const settings: [string, string | number][] = [
      ['input', o.pixels ? 'one pixel per step, T = 784' : 'one row of 28 pixels per step, T = 28'],
      ['data', `mnist package, stratified ${o.trainSize}/${o.testSize} split`], ['epochs', o.epochs], ['batch size', o.batchSize],
      ['architecture', `${o.pixels ? 1 : 28}-${o.hidden}-10, LIF (tau ${o.tau}) after each Linear; readout: output spike rate x 10`],
      ['optimizer', `Adam, lr ${o.lr}, cosine schedule`], ['seed', o.seed], ['memory', o.memory ?? 'full history'], ['device', o.device],
    ];
    fs.writeFileSync(report, comparisonReportHtml(`Sequential MNIST (${o.pixels ? 'pixel by pixel' : 'row by row'}): integer vs fractional order`, runs, settings));
    log(`report: ${report}`);
  }
  return { runs, report };
}
