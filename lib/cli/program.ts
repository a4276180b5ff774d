// The `fsnn` command line (commander): `fsnn train` and `fsnn infer`. Invalid flags or values print
// the reason and the usage, and exit non-zero. The work itself lives in ./train and ./infer.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AlphaMode, AlphaSpec, CoefficientSpec } from '../snn/alpha-config';
// Only the light configuration module is loaded up front: bad flags are refused before the native
// addon and the data load; ./train and ./infer are required when a command runs.
import { ENCODINGS, Encoding, INFER_DEFAULTS, TRAIN_DEFAULTS, TrainConfig, UsageError, validateTrainConfig } from './config';
import type { InferResult } from './infer';
import type { TrainResult } from './train';

export interface CliIO {
  /** Normal output (help, results). */
  out: (s: string) => void;
  /** Errors and usage after an error. */
  err: (s: string) => void;
}

const defaultIO: CliIO = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

// ---- value parsers: each throws InvalidArgumentError with the reason ----

export function parseIntArg(name: string, min: number): (v: string) => number {
  return (v) => {
    if (!/^[+-]?\d+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be an integer >= ${min}.`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}.`);
    return n;
  };
}

export function parsePositive(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number (e.g. 0.001).`);
    return n;
  };
}

export function parseBool(name: string): (v: string) => boolean {
  return (v) => {
    const s = v.trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(s)) return true;
    if (['false', 'no', 'off', '0'].includes(s)) return false;
    throw new InvalidArgumentError(`${name} takes true or false.`);
  };
}

function order(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0 && v <= 1))
    throw new InvalidArgumentError(`alpha ${where}${String(v)} is outside (0, 1]; every fractional order must satisfy 0 < alpha <= 1.`);
  return v;
}

/**
 * --alpha: a number (global scalar), a comma list (one order per layer, or a multi-term set; see
 * --alpha-mode), or JSON for per-layer multi-term, e.g. '[[0.3,0.8],[0.5]]'.
 */
export function parseAlphaArg(v: string): AlphaSpec {
  const s = v.trim();
  if (s.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      throw new InvalidArgumentError(`'${v}' is not valid JSON; write per-layer multi-term orders as '[[0.3,0.8],[0.5]]'.`);
    }
    if (!Array.isArray(parsed) || parsed.length === 0) throw new InvalidArgumentError('alpha must be a non-empty list.');
    return parsed.map((e, i) => (Array.isArray(e) ? (e.length ? e.map((x, m) => order(x, `[${i}][${m}] = `)) : (() => { throw new InvalidArgumentError(`alpha layer ${i} has no orders.`); })()) : order(e, `[${i}] = `)));
  }
  const parts = s.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '' || !Number.isFinite(Number(p))))
    throw new InvalidArgumentError("alpha must be a number (0.5), a comma list (0.5,0.6) or JSON ('[[0.3,0.8],[0.5]]').");
  const nums = parts.map((p, i) => order(Number(p), parts.length > 1 ? `[${i}] = ` : '= '));
  return nums.length === 1 ? nums[0] : nums;
}

/** --coefficients: like --alpha but any finite numbers (term weights). */
export function parseCoefficientArg(v: string): CoefficientSpec {
  const s = v.trim();
  const fin = (x: unknown) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new InvalidArgumentError(`coefficient ${String(x)} is not a finite number.`);
    return x;
  };
  if (s.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      throw new InvalidArgumentError(`'${v}' is not valid JSON.`);
    }
    if (!Array.isArray(parsed)) throw new InvalidArgumentError('coefficients must be a list.');
    return parsed.map((e) => (Array.isArray(e) ? e.map(fin) : fin(e)));
  }
  const nums = s.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
  nums.forEach(fin);
  return nums.length === 1 ? nums[0] : nums;
}

export function parseHidden(v: string): number[] {
  const parts = v.split(',').map((p) => p.trim());
  if (!parts.length || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1))
    throw new InvalidArgumentError('hidden must be one or more positive layer sizes, e.g. 256 or 512,256.');
  return parts.map(Number);
}

export function parseMemory(v: string): number | 'full' {
  if (v.trim().toLowerCase() === 'full') return 'full';
  return parseIntArg('memory', 1)(v);
}

function choice<T extends string>(name: string, values: readonly T[], aliases: Record<string, T> = {}): (v: string) => T {
  return (v) => {
    const s = v.trim();
    if ((values as readonly string[]).includes(s)) return s as T;
    if (aliases[s]) return aliases[s];
    throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}.`);
  };
}

const ALPHA_MODES: readonly AlphaMode[] = ['auto', 'per_layer', 'multiterm'];
const METHODS = ['l1', 'gl', 'euler'] as const;

function configure(cmd: Command, io: CliIO): Command {
  return cmd
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (s, write) => write(s) })
    .allowExcessArguments(false)
    .exitOverride();
}

/** After an error: the reason (printed by commander), then the usage line and where the options are. */
function usageAfterError(cmd: Command): Command {
  return cmd.showHelpAfterError(`Usage: ${fullName(cmd)} ${cmd.usage()}\nRun '${fullName(cmd)} --help' to see every option.`);
}

function fullName(cmd: Command): string {
  return cmd.name() === 'fsnn' ? 'fsnn' : `fsnn ${cmd.name()}`;
}

/** Commander options of `fsnn train` -> a TrainConfig (defaults from TRAIN_DEFAULTS). */
export function trainConfigFrom(opts: Record<string, unknown>, cmd: Command): TrainConfig {
  const d = TRAIN_DEFAULTS;
  const given = (k: string) => cmd.getOptionValueSource(k) === 'cli' || cmd.getOptionValueSource(k) === 'env';
  const method = (opts.method as string | undefined) ?? d.method;
  const integrator = method === 'euler' ? 'odeint' : 'fdeint';
  if (integrator === 'odeint' && (given('alpha') || given('alphaMode')))
    throw new UsageError('--method euler is integer order (alpha = 1): --alpha and --alpha-mode do not apply; drop them, or use --method l1/gl');
  const c: TrainConfig = {
    ...d,
    epochs: (opts.epochs as number) ?? d.epochs,
    batchSize: (opts.batchSize as number) ?? d.batchSize,
    T: (opts.T as number) ?? d.T,
    alpha: (opts.alpha as AlphaSpec) ?? d.alpha,
    alphaMode: (opts.alphaMode as AlphaMode) ?? (given('alpha') ? 'auto' : d.alphaMode),
    multiCoefficient: opts.coefficients as CoefficientSpec | undefined,
    learnAlpha: integrator === 'odeint' && !given('learnAlpha') ? false : ((opts.learnAlpha as boolean) ?? d.learnAlpha),
    learnCoefficient: (opts.learnCoefficient as boolean) ?? d.learnCoefficient,
    integrator,
    method: method as TrainConfig['method'],
    memory: opts.memory === 'full' ? undefined : (opts.memory as number | undefined),
    encoding: (opts.encoding as Encoding) ?? d.encoding,
    hidden: (opts.hidden as number[]) ?? d.hidden,
    tau: (opts.tau as number) ?? d.tau,
    threshold: (opts.threshold as number) ?? d.threshold,
    lr: (opts.lr as number) ?? d.lr,
    schedule: (opts.schedule as TrainConfig['schedule']) ?? d.schedule,
    device: (opts.device as TrainConfig['device']) ?? d.device,
    seed: (opts.seed as number) ?? d.seed,
    out: opts.save === false ? null : ((opts.out as string) ?? d.out),
    data: (opts.data as string | undefined) ?? null,
    trainSize: (opts.trainSize as number | undefined) ?? null,
    testSize: (opts.testSize as number | undefined) ?? null,
    augment: (opts.augment as number) ?? d.augment,
    readoutScale: (opts.readoutScale as number) ?? d.readoutScale,
    progress: opts.progress !== false,
  };
  // With an explicit flat --alpha of one value per layer, 'auto' would warn; the list length decides.
  if (given('alpha') && !given('alphaMode') && Array.isArray(c.alpha) && !c.alpha.some(Array.isArray))
    c.alphaMode = c.alpha.length === c.hidden.length + 1 && !Array.isArray(c.multiCoefficient) ? 'per_layer' : 'multiterm';
  return c;
}

function trainCommand(io: CliIO, onResult?: (r: unknown) => void): Command {
  const d = TRAIN_DEFAULTS;
  const cmd = configure(new Command('train'), io)
    .description('Train an f-SNN classifier on MNIST; writes a checkpoint (safetensors), a JSONL log and an HTML report')
    .option('--epochs <n>', `training epochs (default ${d.epochs})`, parseIntArg('epochs', 1))
    .option('--batch-size <n>', `mini-batch size (default ${d.batchSize})`, parseIntArg('batch-size', 1))
    .option('--T <n>', `time steps per sample (default ${d.T}; the sequential encodings set their own)`, parseIntArg('T', 1))
    .option('--alpha <orders>', "fractional orders: 0.5 (all layers), 0.5,0.6 (per layer, or a multi-term set), or JSON '[[0.3,0.8],[0.5]]' (per-layer multi-term) (default 0.5,0.5)", parseAlphaArg)
    .addOption(new Option('--alpha-mode <mode>', 'how a flat --alpha list is read: one order per layer, or one multi-term set for all layers (default: per_layer when the list has one value per neuron layer)').argParser(choice('alpha-mode', ALPHA_MODES, { 'per-layer': 'per_layer', 'multi-term': 'multiterm' })))
    .option('--coefficients <weights>', 'term weights of multi-term orders (same forms as --alpha; default all 1)', parseCoefficientArg)
    .option('--learn-alpha [bool]', 'learn the orders (default true)', parseBool('learn-alpha'))
    .option('--no-learn-alpha', 'keep the orders fixed')
    .option('--learn-coefficient [bool]', 'learn the term weights (default false)', parseBool('learn-coefficient'))
    .addOption(new Option('--method <method>', `discretisation: l1 or gl (fractional), euler (integer-order baseline) (default ${d.method})`).argParser(choice('method', METHODS)))
    .option('--memory <n>', "history window: the update uses the n-1 most recent states, or 'full' (default full)", parseMemory)
    .addOption(new Option('--encoding <kind>', `input coding (default ${d.encoding})`).argParser(choice('encoding', ENCODINGS, { rows: 'sequential-rows', pixels: 'sequential-pixels' })))
    .option('--hidden <sizes>', `hidden layer sizes, comma-separated (default ${d.hidden.join(',')})`, parseHidden)
    .option('--tau <t>', `membrane time constant of the LIF layers (default ${d.tau})`, parsePositive('tau'))
    .option('--threshold <v>', `firing threshold of the LIF layers (default ${d.threshold})`, parsePositive('threshold'))
    .option('--lr <rate>', `Adam learning rate (default ${d.lr})`, parsePositive('lr'))
    .addOption(new Option('--schedule <kind>', `learning-rate schedule over the epochs (default ${d.schedule})`).argParser(choice('schedule', ['cosine', 'constant'] as const)))
    .addOption(new Option('--device <device>', 'cpu, or cuda where a GPU is available (default cpu)').argParser(choice('device', ['cpu', 'cuda'] as const, { gpu: 'cuda' })))
    .option('--seed <n>', `seed of the initialisation, shuffling and augmentation (default ${d.seed})`, parseIntArg('seed', 0))
    .option('--out <dir>', `output directory (default ${d.out})`)
    .option('--no-save', 'write no checkpoint, log or report')
    .option('--data <dir>', 'directory of the full MNIST IDX files (train on train-*, test on t10k-*); default: the 10,000 digits of the mnist package, split 8,000/2,000')
    .option('--train-size <n>', 'training samples (default 8000, or the whole IDX training set)', parseIntArg('train-size', 1))
    .option('--test-size <n>', 'test samples (default 2000, or the whole t10k set)', parseIntArg('test-size', 1))
    .option('--augment <px>', `random shifts of up to px pixels during training, 0 for none (default ${d.augment})`, parseIntArg('augment', 0))
    .option('--readout-scale <s>', `logits = output spike rate x s (default ${d.readoutScale})`, parsePositive('readout-scale'))
    .option('--no-progress', 'no progress bar (epoch summaries only)');
  usageAfterError(cmd);
  cmd.action(async (opts: Record<string, unknown>) => {
    let config: TrainConfig;
    try {
      config = trainConfigFrom(opts, cmd);
      validateTrainConfig(config); // before any work
    } catch (e) {
      if (e instanceof UsageError) cmd.error(`error: ${e.message}`, { exitCode: 2, code: 'fsnn.usage' });
      throw e;
    }
    const { train } = require('./train') as typeof import('./train');
    const result: TrainResult = await train(config, { log: (l) => io.out(l + '\n') });
    onResult?.(result);
  });
  return cmd;
}

function inferCommand(io: CliIO, onResult?: (r: unknown) => void): Command {
  const d = INFER_DEFAULTS;
  const cmd = configure(new Command('infer'), io)
    .description('Batch inference with a trained checkpoint; writes one JSON line per sample {index, prediction, scores?, label?}')
    .requiredOption('--checkpoint <file>', 'model.safetensors written by fsnn train (the architecture comes from its metadata)')
    .requiredOption('--input <file>', 'inputs: .npy (float32/float64/uint8, C order, [count, ...]), an IDX images file (optionally .gz), or JSON')
    .option('--output <file>', 'predictions (JSONL); default: standard output')
    .option('--labels <file>', 'labels (IDX labels file or .npy of integers) to report the accuracy')
    .option('--batch-size <n>', `samples per forward pass (default ${d.batchSize})`, parseIntArg('batch-size', 1))
    .option('--chunk-size <n>', `samples read from the input file at a time (default ${d.chunkSize})`, parseIntArg('chunk-size', 1))
    .addOption(new Option('--device <device>', 'cpu, or cuda where a GPU is available (default cpu)').argParser(choice('device', ['cpu', 'cuda'] as const, { gpu: 'cuda' })))
    .option('--scores', 'also write each sample\'s class scores')
    .option('--input-scale <divisor>', "divide input values by this; 'auto': 255 for uint8 data, else 1 (default auto)", (v: string) => (v === 'auto' ? 'auto' : parsePositive('input-scale')(v)))
    .option('--seed <n>', 'seed of the Poisson encoder (poisson-coded models only)', parseIntArg('seed', 0))
    .usage('--checkpoint <file> --input <file> [--output <file>] [--labels <file>] [options]');
  usageAfterError(cmd);
  cmd.action(async (opts: Record<string, unknown>) => {
    try {
      const { infer } = require('./infer') as typeof import('./infer');
      const result: InferResult = await infer({
        checkpoint: opts.checkpoint as string,
        input: opts.input as string,
        output: (opts.output as string | undefined) ?? null,
        labels: (opts.labels as string | undefined) ?? null,
        batchSize: (opts.batchSize as number) ?? d.batchSize,
        chunkSize: (opts.chunkSize as number) ?? d.chunkSize,
        device: (opts.device as 'cpu' | 'cuda') ?? d.device,
        scores: !!opts.scores,
        inputScale: (opts.inputScale as number | 'auto') ?? d.inputScale,
        seed: opts.seed as number | undefined,
      }, { log: (l) => (opts.output ? io.out(l + '\n') : io.err(l + '\n')) });
      onResult?.(result);
    } catch (e) {
      if (e instanceof UsageError) cmd.error(`error: ${e.message}`, { exitCode: 2, code: 'fsnn.usage' });
      throw e;
    }
  });
  return cmd;
}

/** The `fsnn` program. `onResult` receives each command's result (for tests and scripts). */
export function createProgram(io: CliIO = defaultIO, onResult?: (r: unknown) => void): Command {
  const program = configure(new Command('fsnn'), io)
    .description('fractional-order spiking neural networks: train and run f-SNN classifiers')
    .version(require('../../package.json').version as string);
  program.addCommand(trainCommand(io, onResult));
  program.addCommand(inferCommand(io, onResult));
  return usageAfterError(program);
}

/**
 * Runs the CLI on argv (without the node and script entries) and resolves to the exit code:
 * 0 on success, 2 on invalid flags or values (after printing the reason and the usage), 1 on a failed run.
 */
export async function runCli(argv: string[], io: CliIO = defaultIO, onResult?: (r: unknown) => void): Promise<number> {
  const program = createProgram(io, onResult);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0; every other one is a usage error
      return e.exitCode === 0 ? 0 : 2;
    }
    const cmd = argv.find((a) => a === 'train' || a === 'infer') ?? '';
    io.err(`fsnn${cmd ? ' ' + cmd : ''}: error: ${(e as Error).message}\n`);
    return 1;
  }
}
