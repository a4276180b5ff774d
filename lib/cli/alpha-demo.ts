// The per-layer alpha demo: the four ways to configure the fractional orders of an f-SNN (global
// scalar, per-layer single-term, one multi-term set broadcast to every layer, per-layer multi-term),
// each trained for a few hundred steps on MNIST with the orders (and term weights) learnable, and
// the disambiguation of a flat list: the same numbers read as per-layer orders or as a multi-term set.
import { Sequential } from '../nn/layers';
import { AlphaMode, AlphaSpec, CoefficientSpec, parseAlphaConfig } from '../snn/alpha-config';
import { SNNWrapper } from '../snn/wrapper';
import { buildMlp, fmtAlphas, fmtPct } from './common';
import { definedOnly, TRAIN_DEFAULTS, TrainConfig } from './config';
import { train } from './train';

export interface AlphaMode4 {
  key: string;
  title: string;
  alpha: AlphaSpec;
  alphaMode: AlphaMode;
  multiCoefficient?: CoefficientSpec;
  learnCoefficient: boolean;
}

/** The four configuration modes of the seed's decision table, for a model with two neuron layers. */
export const ALPHA_MODES: AlphaMode4[] = [
  { key: 'scalar', title: 'global scalar: alpha = 0.5 (every layer starts at 0.5, each learns its own)', alpha: 0.5, alphaMode: 'auto', learnCoefficient: false },
  { key: 'per_layer', title: "per-layer single-term: alpha = [0.4, 0.7], alphaMode 'per_layer'", alpha: [0.4, 0.7], alphaMode: 'per_layer', learnCoefficient: false },
  {
    key: 'multiterm', title: "multi-term broadcast: alpha = [0.3, 0.6, 0.9] with weights [1, 0.5, 0.25], alphaMode 'multiterm' (the same set for every layer)",
    alpha: [0.3, 0.6, 0.9], alphaMode: 'multiterm', multiCoefficient: [1, 0.5, 0.25], learnCoefficient: true,
  },
  {
    key: 'per_layer_multiterm', title: 'per-layer multi-term: alpha = [[0.3, 0.8], [0.5, 0.7, 0.9]], weights [[1, 0.5], [1, 0.3, 0.2]]',
    alpha: [[0.3, 0.8], [0.5, 0.7, 0.9]], alphaMode: 'auto', multiCoefficient: [[1, 0.5], [1, 0.3, 0.2]], learnCoefficient: true,
  },
];

export interface AlphaDemoOptions {
  /** Epochs over the training digits per mode (125 steps each at batch 64 on 8,000 digits). */
  epochs: number;
  hidden: number;
  lr: number;
  seed: number;
  trainSize: number;
  testSize: number;
  log: (line: string) => void;
}

export const ALPHA_DEMO_DEFAULTS: AlphaDemoOptions = {
  epochs: 2, hidden: 256, lr: 2e-3, seed: 0, trainSize: 8000, testSize: 2000, log: (l) => console.log(l),
};

export interface AlphaDemoRow {
  key: string;
  mode: string;
  accuracy: number;
  alphas: number[][];
  coefficients: number[][];
  steps: number;
  seconds: number;
}

/** Reads one flat list both ways (and the way 'auto' reads it, with its warning). */
export function disambiguation(list: number[], hidden: number, log: (l: string) => void): { perLayer: SNNWrapper; multiterm: SNNWrapper; autoWarning: string } {
  const model = () => buildMlp({ inputs: 784, hidden: [hidden], classes: 10, tau: 2 }) as Sequential;
  const perLayer = new SNNWrapper(model(), { alpha: list, alphaMode: 'per_layer' });
  const multiterm = new SNNWrapper(model(), { alpha: list, alphaMode: 'multiterm' });
  const warnings: string[] = [];
  const auto = parseAlphaConfig(list, 'auto', undefined, 2, (m) => warnings.push(m));
  log(`The flat list ${JSON.stringify(list)} with two neuron layers:`);
  log('');
  log("  read as alphaMode 'per_layer' (one order per layer):");
  log(perLayer.describe().replace(/^/gm, '    '));
  log('');
  log("  read as alphaMode 'multiterm' (one multi-term operator, the same in every layer):");
  log(multiterm.describe().replace(/^/gm, '    '));
  log('');
  log(`  alphaMode 'auto' reads it as '${auto.mode}' and warns:`);
  for (const w of warnings) log(`    ${w}`);
  return { perLayer, multiterm, autoWarning: warnings.join('\n') };
}

export async function runAlphaDemo(options: Partial<AlphaDemoOptions> = {}): Promise<AlphaDemoRow[]> {
  const o = { ...ALPHA_DEMO_DEFAULTS, ...definedOnly(options) };
  const log = o.log;
  const rows: AlphaDemoRow[] = [];
  for (const [i, m] of ALPHA_MODES.entries()) {
    log('');
    log(`=== mode ${i + 1}/4: ${m.title}`);
    const config: TrainConfig = {
      ...TRAIN_DEFAULTS, epochs: o.epochs, hidden: [o.hidden], lr: o.lr, seed: o.seed, trainSize: o.trainSize, testSize: o.testSize,
      alpha: m.alpha, alphaMode: m.alphaMode, multiCoefficient: m.multiCoefficient, learnAlpha: true, learnCoefficient: m.learnCoefficient,
      out: null, progress: true, title: `alpha demo: ${m.key}`,
    };
    const r = await train(config, { log: (l) => log(`  ${l.replace(/\n/g, '\n  ')}`) });
    log('  after training:');
    log(r.net.describe().replace(/^/gm, '    '));
    rows.push({
      key: m.key, mode: r.net.config.mode, accuracy: r.testAccuracy, alphas: r.alphas, coefficients: r.coefficients,
      steps: r.epochs.length * Math.ceil(r.data.trainIdx.length / config.batchSize), seconds: r.seconds,
    });
  }
  log('');
  log('=== summary');
  const table = [['mode', 'steps', 'test acc', 'learned alphas', 'coefficients (learned in the multi-term modes)', 'time'],
    ...rows.map((r) => [r.mode, String(r.steps), fmtPct(r.accuracy), fmtAlphas(r.alphas), fmtAlphas(r.coefficients), `${r.seconds.toFixed(1)} s`])];
  const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
  for (const row of table) log(row.map((c, j) => c.padEnd(widths[j])).join('  '));
  log('');
  log('=== disambiguation');
  disambiguation([0.4, 0.8], o.hidden, log);
  return rows;
}
