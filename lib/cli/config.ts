// The configuration of `fsnn train` and `fsnn infer`: types, defaults and validation. This module
// loads nothing heavy (no native addon), so the command line can refuse bad flags at once.
import * as fs from 'fs';
import { FRACTIONAL_ORDER_METHODS, type FractionalMethod } from '../fractional/kernel';
import { memoryWindowProblem } from '../fractional/memory-window';
import { FractionalHistory, HISTORIES } from '../fractional/op';
import { AlphaMode, AlphaSpec, CoefficientSpec, parseAlphaConfig } from '../snn/alpha-config';

/** A bad flag or value: the CLI prints the reason and the usage, and exits with code 2. */
export class UsageError extends Error {}

export type Encoding = 'direct' | 'poisson' | 'sequential-rows' | 'sequential-pixels';
export const ENCODINGS: readonly Encoding[] = ['direct', 'poisson', 'sequential-rows', 'sequential-pixels'];

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  /** Time steps (direct/poisson coding; the sequential encodings fix T themselves). */
  T: number;
  alpha: AlphaSpec;
  alphaMode: AlphaMode;
  multiCoefficient?: CoefficientSpec;
  learnAlpha: boolean;
  learnCoefficient: boolean;
  /** 'fdeint' (fractional) or 'odeint' (integer order; method 'euler'). */
  integrator: 'fdeint' | 'odeint';
  method: FractionalMethod;
  /** History window (undefined: the full history). */
  memory?: number;
  /** How the history sum is evaluated: 'exact', 'fast' (sum of exponentials, full history only) or 'auto'. */
  history: FractionalHistory;
  encoding: Encoding;
  hidden: number[];
  /** Membrane time constant of every LIF layer. */
  tau: number;
  /** Firing threshold of every LIF layer. */
  threshold: number;
  lr: number;
  schedule: 'cosine' | 'constant';
  device: 'cpu' | 'cuda';
  seed: number;
  /** Output directory (null: write nothing). */
  out: string | null;
  /** Directory of the full MNIST IDX files (null: the 10,000 digits of the `mnist` package). */
  data: string | null;
  /** Training / test samples (null: 8,000 / 2,000 of the package's digits, or the whole IDX sets). */
  trainSize: number | null;
  testSize: number | null;
  /** Random shifts of up to this many pixels (0: none). */
  augment: number;
  readoutScale: number;
  evalBatchSize: number;
  /** Show a progress bar (only when stderr is a terminal). */
  progress: boolean;
  /** Write a step event to the log every this many batches. */
  logEvery: number;
  /** Title of the report. */
  title: string;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  epochs: 10,
  batchSize: 64,
  T: 8,
  alpha: [0.5, 0.5],
  alphaMode: 'per_layer',
  learnAlpha: true,
  learnCoefficient: false,
  integrator: 'fdeint',
  method: 'l1',
  history: 'auto',
  encoding: 'direct',
  hidden: [256],
  tau: 2,
  threshold: 1,
  lr: 2e-3,
  schedule: 'cosine',
  device: 'cpu',
  seed: 0,
  out: 'runs/mnist',
  data: null,
  trainSize: null,
  testSize: null,
  augment: 1,
  readoutScale: 10,
  evalBatchSize: 256,
  progress: true,
  logEvery: 10,
  title: 'f-SNN on MNIST',
};

/** The seed of the stratified split of the package's digits: fixed, so every run shares the test set. */
export const SPLIT_SEED = 0;
export const PACKAGE_TRAIN = 8000;
export const PACKAGE_TEST = 2000;

function intIn(v: number, name: string, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${v}`);
}

/** The number of neuron layers the config's model has. */
export function neuronLayers(c: Pick<TrainConfig, 'hidden'>): number {
  return c.hidden.length + 1;
}

/** Checks a config before anything runs; throws UsageError naming the bad setting and the fix. */
export function validateTrainConfig(c: TrainConfig): void {
  intIn(c.epochs, '--epochs', 1);
  intIn(c.batchSize, '--batch-size', 1);
  intIn(c.T, '--T', 1);
  intIn(c.evalBatchSize, 'evalBatchSize', 1);
  intIn(c.augment, '--augment', 0);
  intIn(c.logEvery, 'logEvery', 1);
  intIn(c.seed, '--seed', 0);
  const memoryProblem = c.memory === undefined ? null : memoryWindowProblem(c.memory);
  if (memoryProblem) throw new UsageError(`--memory: ${memoryProblem}`);
  if (!HISTORIES.includes(c.history)) throw new UsageError(`--history '${c.history}' is unknown; use ${HISTORIES.join(', ')}`);
  if (c.history === 'fast' && c.memory !== undefined)
    throw new UsageError("--history fast needs the full history; drop --memory (or use --history exact or auto, which runs exact with a window)");
  if (!Array.isArray(c.hidden) || c.hidden.length === 0 || c.hidden.some((h) => !Number.isInteger(h) || h < 1))
    throw new UsageError(`--hidden must list one or more positive layer sizes (e.g. 256 or 512,256), got ${JSON.stringify(c.hidden)}`);
  for (const [v, name] of [[c.lr, '--lr'], [c.tau, '--tau'], [c.threshold, '--threshold'], [c.readoutScale, '--readout-scale']] as [number, string][])
    if (!(Number.isFinite(v) && v > 0)) throw new UsageError(`${name} must be a positive number, got ${v}`);
  if (!ENCODINGS.includes(c.encoding)) throw new UsageError(`--encoding '${c.encoding}' is unknown; use ${ENCODINGS.join(', ')}`);
  if (c.schedule !== 'cosine' && c.schedule !== 'constant') throw new UsageError(`--schedule '${c.schedule}' is unknown; use 'cosine' or 'constant'`);
  if (c.integrator !== 'fdeint' && c.integrator !== 'odeint') throw new UsageError(`integrator '${c.integrator}' is unknown; use 'fdeint' or 'odeint'`);
  if (c.integrator === 'odeint') {
    if (c.method !== 'euler') throw new UsageError(`the integer-order integrator uses --method euler, not '${c.method}'`);
    if (c.learnAlpha) throw new UsageError('--method euler is integer order (alpha = 1): there is no alpha to learn; drop --learn-alpha (or pass --no-learn-alpha)');
  } else if (!FRACTIONAL_ORDER_METHODS.includes(c.method)) {
    throw new UsageError(`--method '${c.method}' is unknown; use ${FRACTIONAL_ORDER_METHODS.map((m) => `'${m}'`).join(', ')} (fractional) or 'euler' (integer order)`);
  }
  if (c.device !== 'cpu' && c.device !== 'cuda') throw new UsageError(`--device '${c.device}' is unknown; use 'cpu' or 'cuda'`);
  if (c.trainSize !== null) intIn(c.trainSize, '--train-size', 1);
  if (c.testSize !== null) intIn(c.testSize, '--test-size', 1);
  if (c.data === null && (c.trainSize ?? PACKAGE_TRAIN) + (c.testSize ?? PACKAGE_TEST) > 10000)
    throw new UsageError(`--train-size + --test-size = ${(c.trainSize ?? PACKAGE_TRAIN) + (c.testSize ?? PACKAGE_TEST)} exceeds the 10,000 digits of the mnist package; ` +
      'lower them, or pass --data DIR with the full MNIST IDX files');
  if (c.data !== null && !(fs.existsSync(c.data) && fs.statSync(c.data).isDirectory()))
    throw new UsageError(`--data ${c.data} is not a directory; pass the directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (optionally .gz)`);
  if (c.integrator === 'fdeint') {
    let parsed: ReturnType<typeof parseAlphaConfig>;
    try {
      parsed = parseAlphaConfig(c.alpha, c.alphaMode, c.multiCoefficient, neuronLayers(c), () => undefined);
    } catch (e) {
      throw new UsageError(`--alpha ${JSON.stringify(c.alpha)} with --alpha-mode ${c.alphaMode} does not fit the model's ${neuronLayers(c)} neuron layers ` +
        `(hidden ${c.hidden.join(',')} + output): ${(e as Error).message.replace(/^SNNWrapper: /, '')}`);
    }
    if (c.method === 'pred' && parsed.layers.some((l) => l.alphas.length !== 1))
      throw new UsageError(`--method pred (the fractional Adams-Bashforth predictor) is single-term only, but --alpha ${JSON.stringify(c.alpha)} ` +
        `with --alpha-mode ${c.alphaMode} gives a layer several orders; pass one order per neuron layer (--alpha-mode per_layer), or use --method l1 / gl`);
  }
}

export interface InferOptions {
  checkpoint: string;
  input: string;
  /** Predictions file (JSONL); '-' or null: standard output. */
  output: string | null;
  /** Labels file (IDX or .npy, one label per sample); JSON inputs may carry their own labels. */
  labels?: string | null;
  batchSize: number;
  /** Samples read from the input file at a time (memory use is about chunk x features x 4 bytes). */
  chunkSize: number;
  device: 'cpu' | 'cuda';
  /** Write each sample's class scores too. */
  scores: boolean;
  /** Inputs are divided by this; 'auto': 255 for uint8 storage (raw grey levels), else 1. */
  inputScale: number | 'auto';
  /** Seed of the Poisson encoder (poisson-coded models; default: the training run's evaluation seed). */
  seed?: number;
}

export const INFER_DEFAULTS: Omit<InferOptions, 'checkpoint' | 'input'> = {
  output: null,
  labels: null,
  batchSize: 256,
  chunkSize: 1024,
  device: 'cpu',
  scores: false,
  inputScale: 'auto',
};

/** The entries of `o` that are not undefined (so that spreading over defaults keeps the defaults). */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
