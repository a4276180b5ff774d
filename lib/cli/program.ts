// The `fsnn` command line (commander): `fsnn train` and `fsnn infer`. Invalid flags or values print
// the reason and the usage, and exit non-zero. The work itself lives in ./train and ./infer.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AlphaMode, AlphaSpec, CoefficientSpec, parseAlphaConfig } from '../snn/alpha-config';
import { memoryWindowProblem } from '../fractional/memory-window';
import { FRACTIONAL_ORDER_METHODS } from '../fractional/kernel';
// Only the light configuration module is loaded up front: bad flags are refused before the native
// addon and the data load; ./train and ./infer are required when a command runs.
import { ENCODINGS, Encoding, INFER_DEFAULTS, neuronLayers, TRAIN_DEFAULTS, TrainConfig, UsageError, validateTrainConfig } from './config';
import { numericArg } from './numeric-arg';
import { ensureDirectory, ensureParentDirectory } from './output-dir';
import type { InferResult } from './infer';
import type { TrainResult } from './train';

export interface CliIO {
  /** Normal output (help, results). */
  out: (s: string) => void;
  /** Errors and usage after an error. */
  err: (s: string) => void;
}

const defaultIO: CliIO = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

// ---- value parsers for the flags commander cannot check itself (orders, lists); each throws
// InvalidArgumentError with the reason. Numbers use numericArg, fixed sets Option.choices(). ----

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
  const s = v.trim();
  if (s.toLowerCase() === 'full') return 'full';
  const n = /^[+-]?\d+(\.\d*)?$/.test(s) ? Number(s) : s;
  const problem = memoryWindowProblem(n);
  if (problem) throw new InvalidArgumentError(`${problem}, or 'full'.`);
  return n as number;
}

/** Accepted values of the choice flags: the canonical names first, then the aliases (mapped by ALIASES). */
const ALPHA_MODE_CHOICES = ['auto', 'per_layer', 'multiterm', 'per-layer', 'multi-term'] as const;
const METHOD_CHOICES = [...FRACTIONAL_ORDER_METHODS, 'euler'] as const;
const HISTORY_CHOICES = ['auto', 'exact', 'fast'] as const;
/** 'sequential' is the encoder's name in the library (data.encode('sequential'), rows by default). */
const ENCODING_CHOICES = [...ENCODINGS, 'sequential', 'rows', 'pixels'] as const;
const SCHEDULE_CHOICES = ['cosine', 'constant'] as const;
const DEVICE_CHOICES = ['cpu', 'cuda', 'gpu'] as const;
const BOOL_CHOICES = ['true', 'false'] as const;
const ALIASES: Record<string, string> = {
  'per-layer': 'per_layer', 'multi-term': 'multiterm', sequential: 'sequential-rows', rows: 'sequential-rows', pixels: 'sequential-pixels', gpu: 'cuda',
};

/** The canonical name of a choice value (aliases mapped, other values unchanged). */
function canonical<T extends string>(v: unknown): T | undefined {
  if (v === undefined) return undefined;
  return (ALIASES[v as string] ?? v) as T;
}

/** --learn-alpha [bool] and the like: commander gives 'true' / 'false' (choices), true (preset) or false (--no-...). */
function asBool(v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  return v === true || v === 'true';
}

const choiceOption = (flags: string, description: string, choices: readonly string[], def: string) =>
  new Option(flags, description).choices(choices).default(def);

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

/**
 * Commander options of `fsnn train` -> a TrainConfig (defaults from TRAIN_DEFAULTS). A flat --alpha
 * list without --alpha-mode is read per layer when it has one value per neuron layer; otherwise as a
 * multi-term set, and `warn` receives the library's warning about that reading.
 */
export function trainConfigFrom(opts: Record<string, unknown>, cmd: Command, warn: (message: string) => void = () => undefined): TrainConfig {
  const d = TRAIN_DEFAULTS;
  const given = (k: string) => cmd.getOptionValueSource(k) === 'cli' || cmd.getOptionValueSource(k) === 'env';
  const method = (opts.method as string | undefined) ?? d.method;
  const integrator = method === 'euler' ? 'odeint' : 'fdeint';
  if (integrator === 'odeint' && (given('alpha') || given('alphaMode')))
    throw new UsageError('--method euler is integer order (alpha = 1): --alpha and --alpha-mode do not apply; drop them, or use --method l1/gl');
  const hidden = (opts.hidden as number[]) ?? d.hidden;
  const c: TrainConfig = {
    ...d,
    epochs: (opts.epochs as number) ?? d.epochs,
    batchSize: (opts.batchSize as number) ?? d.batchSize,
    T: (opts.T as number) ?? d.T,
    // Without --alpha every neuron layer starts at 0.5 (the default [0.5, 0.5] for other depths too).
    alpha: given('alpha') ? (opts.alpha as AlphaSpec) : new Array<number>(hidden.length + 1).fill(0.5),
    alphaMode: given('alphaMode') ? canonical<AlphaMode>(opts.alphaMode)! : given('alpha') ? 'auto' : d.alphaMode,
    multiCoefficient: opts.coefficients as CoefficientSpec | undefined,
    learnAlpha: integrator === 'odeint' && !given('learnAlpha') ? false : (asBool(opts.learnAlpha) ?? d.learnAlpha),
    learnCoefficient: asBool(opts.learnCoefficient) ?? d.learnCoefficient,
    integrator,
    method: method as TrainConfig['method'],
    memory: opts.memory === 'full' || opts.memory === undefined ? undefined : (opts.memory as number),
    history: (opts.history as TrainConfig['history']) ?? d.history,
    encoding: canonical<Encoding>(opts.encoding) ?? d.encoding,
    hidden,
    tau: (opts.tau as number) ?? d.tau,
    threshold: (opts.threshold as number) ?? d.threshold,
    lr: (opts.lr as number) ?? d.lr,
    schedule: (opts.schedule as TrainConfig['schedule']) ?? d.schedule,
    device: canonical<TrainConfig['device']>(opts.device) ?? d.device,
    seed: (opts.seed as number) ?? d.seed,
    out: opts.save === false ? null : ((opts.out as string) ?? d.out),
    data: (opts.data as string | undefined) ?? null,
    trainSize: (opts.trainSize as number | undefined) ?? null,
    testSize: (opts.testSize as number | undefined) ?? null,
    augment: (opts.augment as number) ?? d.augment,
    readoutScale: (opts.readoutScale as number) ?? d.readoutScale,
    progress: opts.progress !== false,
  };
  // An explicit flat --alpha without --alpha-mode: one value per neuron layer reads as per-layer orders
  // (the CLI's documented rule, silent); any other length is the library's 'auto' reading, multi-term,
  // whose warning is passed on.
  if (c.alphaMode === 'auto' && Array.isArray(c.alpha) && !c.alpha.some(Array.isArray)) {
    if (c.alpha.length === neuronLayers(c) && !Array.isArray(c.multiCoefficient)) c.alphaMode = 'per_layer';
    else {
      try {
        const messages: string[] = [];
        const parsed = parseAlphaConfig(c.alpha, 'auto', c.multiCoefficient, neuronLayers(c), (m) => messages.push(m));
        c.alphaMode = parsed.mode === 'per_layer' ? 'per_layer' : 'multiterm';
        for (const m of messages)
          warn(`${m.replace(/^SNNWrapper: /, '').replace("set alphaMode: 'multiterm'", 'pass --alpha-mode multiterm')} ` +
            `(or --alpha-mode per_layer with one value per neuron layer)`);
      } catch {
        // an invalid combination: validateTrainConfig names it
      }
    }
  }
  return c;
}

/** argv without `--nproc N` / `--nproc=N` (what the workers of `--nproc` run). */
function withoutNproc(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc') i++;
    else if (!argv[i].startsWith('--nproc=')) out.push(argv[i]);
  }
  return out;
}

/**
 * --nproc N (N > 1) in a process that is not already a worker: runs the same command in N workers
 * through `fsnn launch` (on this machine, a free port) and resolves when they have all finished.
 * Returns false when this process should do the work itself.
 */
async function relaunched(nproc: number, argv: string[], io: CliIO): Promise<boolean> {
  const { envWorldSize } = require('../distributed/env') as typeof import('../distributed/env');
  if (nproc <= 1 || envWorldSize() > 1) return false;
  const { launch, cliEntryNodeArgs } = require('./launch') as typeof import('./launch');
  const r = await launch({ nprocPerNode: nproc, masterPort: 0, nodeArgs: [...cliEntryNodeArgs(), ...withoutNproc(argv)], log: (l) => io.err(l + '\n') });
  if (r.exitCode !== 0) throw new Error(`${nproc} workers: ${r.message.replace(/^fsnn launch: /, '')}`);
  return true;
}

function trainCommand(io: CliIO, onResult?: (r: unknown) => void, argv: string[] = []): Command {
  const d = TRAIN_DEFAULTS;
  const int = (name: string, min: number) => numericArg(name, { integer: true, min });
  const positive = (name: string) => numericArg(name, { positive: true });
  const cmd = configure(new Command('train'), io)
    .description('Train an f-SNN classifier on MNIST; writes a checkpoint (safetensors), a JSONL log and an HTML report')
    .addOption(new Option('--epochs <n>', 'training epochs').argParser(int('epochs', 1)).default(d.epochs))
    .addOption(new Option('--batch-size <n>', 'mini-batch size').argParser(int('batch-size', 1)).default(d.batchSize))
    .addOption(new Option('--T <n>', 'time steps per sample (the sequential encodings set their own)').argParser(int('T', 1)).default(d.T))
    .addOption(new Option('--alpha <orders>', "fractional orders: 0.5 (all layers), 0.5,0.6 (per layer, or a multi-term set; see --alpha-mode), or JSON '[[0.3,0.8],[0.5]]' (per-layer multi-term)")
      .argParser(parseAlphaArg).default(d.alpha, '0.5 in every neuron layer'))
    .addOption(choiceOption('--alpha-mode <mode>', 'how a flat --alpha list is read: one order per neuron layer (per_layer), one multi-term set shared by all layers (multiterm), or ' +
      'auto: per_layer when the list has one value per neuron layer, else multiterm with a warning', ALPHA_MODE_CHOICES, 'auto'))
    .addOption(new Option('--coefficients <weights>', 'term weights of multi-term orders (same forms as --alpha; default all 1)').argParser(parseCoefficientArg))
    .addOption(new Option('--learn-alpha [bool]', 'learn the orders').choices(BOOL_CHOICES).preset('true').default(true))
    .option('--no-learn-alpha', 'keep the orders fixed')
    .addOption(new Option('--learn-coefficient [bool]', 'learn the term weights').choices(BOOL_CHOICES).preset('true').default(false))
    .addOption(choiceOption('--method <method>', 'discretisation: l1, gl, pred (Adams-Bashforth predictor, single-term alpha), trap (= l1) (fractional), euler (integer-order baseline)', METHOD_CHOICES, d.method))
    .addOption(new Option('--memory <n>', "history window: the update uses the n-1 most recent states, or 'full'").argParser(parseMemory).default('full'))
    .addOption(choiceOption('--history <kind>', 'history sum: exact (all lags, O(T^2)), fast (sum of exponentials, O(T); full history only) or auto (whichever is faster for T)', HISTORY_CHOICES, d.history))
    .addOption(choiceOption('--encoding <kind>', "input coding; 'sequential' (or 'rows') is 'sequential-rows', 'pixels' is 'sequential-pixels'", ENCODING_CHOICES, d.encoding))
    .addOption(new Option('--hidden <sizes>', 'hidden layer sizes, comma-separated').argParser(parseHidden).default(d.hidden, d.hidden.join(',')))
    .addOption(new Option('--tau <t>', 'membrane time constant of the LIF layers').argParser(positive('tau')).default(d.tau))
    .addOption(new Option('--threshold <v>', 'firing threshold of the LIF layers').argParser(positive('threshold')).default(d.threshold))
    .addOption(new Option('--lr <rate>', 'Adam learning rate').argParser(positive('lr')).default(d.lr))
    .addOption(choiceOption('--schedule <kind>', 'learning-rate schedule over the epochs', SCHEDULE_CHOICES, d.schedule))
    .addOption(choiceOption('--device <device>', "where to run ('gpu' is 'cuda'; cuda needs a GPU)", DEVICE_CHOICES, d.device))
    .addOption(new Option('--seed <n>', 'seed of the initialisation, shuffling and augmentation').argParser(int('seed', 0)).default(d.seed))
    .addOption(new Option('--out <dir>', 'output directory (created if missing)').default(d.out))
    .option('--no-save', 'write no checkpoint, log or report')
    .option('--data <dir>', 'directory of the full MNIST IDX files (train on train-*, test on t10k-*); default: the 10,000 digits of the mnist package, split 8,000/2,000')
    .option('--train-size <n>', 'training samples (default 8000, or the whole IDX training set)', int('train-size', 1))
    .option('--test-size <n>', 'test samples (default 2000, or the whole t10k set)', int('test-size', 1))
    .addOption(new Option('--augment <px>', 'random shifts of up to px pixels during training, 0 for none').argParser(int('augment', 0)).default(d.augment))
    .addOption(new Option('--readout-scale <s>', 'logits = output spike rate x s').argParser(positive('readout-scale')).default(d.readoutScale))
    .option('--no-progress', 'no progress bar (epoch summaries only)')
    .addOption(new Option('--nproc <n>', 'train data-parallel in n processes on this machine (through fsnn launch; --batch-size is the global batch, split over them)')
      .argParser(int('nproc', 1)).default(1));
  usageAfterError(cmd);
  cmd.action(async (opts: Record<string, unknown>) => {
    let config: TrainConfig;
    try {
      config = trainConfigFrom(opts, cmd, (m) => io.err(`fsnn train: warning: ${m}\n`));
      validateTrainConfig(config); // before any work
      if (config.out !== null) ensureDirectory(config.out, '--out');
    } catch (e) {
      if (e instanceof UsageError) cmd.error(`error: ${e.message}`, { exitCode: 2, code: 'fsnn.usage' });
      throw e;
    }
    if (await relaunched(opts.nproc as number, argv, io)) return;
    const { train } = require('./train') as typeof import('./train');
    const result: TrainResult = await train(config, { log: (l) => io.out(l + '\n') });
    onResult?.(result);
  });
  return cmd;
}

function inferCommand(io: CliIO, onResult?: (r: unknown) => void, argv: string[] = []): Command {
  const d = INFER_DEFAULTS;
  const int = (name: string, min: number) => numericArg(name, { integer: true, min });
  const cmd = configure(new Command('infer'), io)
    .description('Batch inference with a trained checkpoint; writes one JSON line per sample {index, prediction, scores?, label?}')
    .requiredOption('--checkpoint <file>', 'model.safetensors written by fsnn train (the architecture comes from its metadata)')
    .requiredOption('--input <file>', 'inputs: .npy (float32/float64/uint8, C order, [count, ...]), an IDX images file (optionally .gz), or JSON')
    .option('--output <file>', "predictions (JSONL; its directory is created if missing); default or '-': standard output")
    .option('--labels <file>', 'labels (IDX labels file or .npy of integers) to report the accuracy')
    .addOption(new Option('--batch-size <n>', 'samples per forward pass').argParser(int('batch-size', 1)).default(d.batchSize))
    .addOption(new Option('--chunk-size <n>', 'samples read from the input file at a time').argParser(int('chunk-size', 1)).default(d.chunkSize))
    .addOption(choiceOption('--device <device>', "where to run ('gpu' is 'cuda'; cuda needs a GPU)", DEVICE_CHOICES, d.device))
    .option('--scores', 'also write each sample\'s class scores')
    .addOption(new Option('--input-scale <divisor>', "divide input values by this; 'auto': 255 for uint8 data, else 1")
      .argParser((v: string) => (v === 'auto' ? 'auto' : numericArg('input-scale', { positive: true })(v))).default(d.inputScale))
    .option('--seed <n>', 'seed of the Poisson encoder (poisson-coded models only; default: the training run\'s evaluation seed)', int('seed', 0))
    .addOption(new Option('--nproc <n>', 'shard the input over n processes on this machine (through fsnn launch); the output stays one file in input order')
      .argParser(int('nproc', 1)).default(1))
    .usage('--checkpoint <file> --input <file> [--output <file>] [--labels <file>] [options]');
  usageAfterError(cmd);
  cmd.action(async (opts: Record<string, unknown>) => {
    try {
      const output = (opts.output as string | undefined) ?? null;
      if (output !== null && output !== '-') ensureParentDirectory(output, '--output');
      if (await relaunched(opts.nproc as number, argv, io)) return;
      const { infer } = require('./infer') as typeof import('./infer');
      const result: InferResult = await infer({
        checkpoint: opts.checkpoint as string,
        input: opts.input as string,
        output,
        labels: (opts.labels as string | undefined) ?? null,
        batchSize: (opts.batchSize as number) ?? d.batchSize,
        chunkSize: (opts.chunkSize as number) ?? d.chunkSize,
        device: canonical<'cpu' | 'cuda'>(opts.device) ?? d.device,
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

/** `fsnn launch`: starts the workers of a distributed job (./launch); `exit` receives their exit code. */
function launchCommand(io: CliIO, exit: (code: number) => void): Command {
  const int = (name: string, min: number) => numericArg(name, { integer: true, min });
  const cmd = configure(new Command('launch'), io)
    .description('Run a script in N worker processes of a distributed job (like torchrun): sets RANK, WORLD_SIZE, LOCAL_RANK, ' +
      'MASTER_ADDR and MASTER_PORT for distributed.initProcessGroup(), and stops every worker when one fails')
    .addOption(new Option('--nproc-per-node <n>', 'workers on this machine').argParser(int('nproc-per-node', 1)).default(1))
    .addOption(new Option('--nnodes <n>', 'machines in the job').argParser(int('nnodes', 1)).default(1))
    .addOption(new Option('--node-rank <r>', "this machine's index, 0..nnodes-1").argParser(int('node-rank', 0)).default(0))
    .option('--master-addr <host>', "rank 0's host (node 0); required with --nnodes > 1", '127.0.0.1')
    .addOption(new Option('--master-port <port>', "rank 0's store port; 0 picks a free one (one machine only)").argParser(int('master-port', 0)).default(29500))
    .addOption(new Option('--grace-ms <ms>', 'how long stopped workers get between SIGTERM and SIGKILL').argParser(int('grace-ms', 0)).default(3000))
    .argument('<script>', 'the worker script (.js, or .ts through ts-node)')
    .argument('[args...]', "the script's own arguments")
    .passThroughOptions()
    .usage('[options] <script> [args...]');
  usageAfterError(cmd);
  cmd.action(async (script: string, args: string[], opts: Record<string, unknown>) => {
    const { launch, scriptNodeArgs } = require('./launch') as typeof import('./launch');
    const r = await launch({
      nprocPerNode: opts.nprocPerNode as number, nnodes: opts.nnodes as number, nodeRank: opts.nodeRank as number,
      masterAddr: opts.masterAddr as string, masterPort: opts.masterPort as number, graceMs: opts.graceMs as number,
      nodeArgs: scriptNodeArgs(script, args), log: (l) => io.err(l + '\n'),
    });
    exit(r.exitCode);
  });
  return cmd;
}

/** The `fsnn` program. `onResult` receives each command's result (for tests and scripts). */
export function createProgram(io: CliIO = defaultIO, onResult?: (r: unknown) => void, argv: string[] = [], exit: (code: number) => void = () => undefined): Command {
  const program = configure(new Command('fsnn'), io)
    .description('fractional-order spiking neural networks: train and run f-SNN classifiers')
    .version(require('../../package.json').version as string)
    .enablePositionalOptions();
  program.addCommand(trainCommand(io, onResult, argv));
  program.addCommand(inferCommand(io, onResult, argv));
  program.addCommand(launchCommand(io, exit));
  return usageAfterError(program);
}

/**
 * Runs the CLI on argv (without the node and script entries) and resolves to the exit code:
 * 0 on success, 2 on invalid flags or values (after printing the reason and the usage), 1 on a failed run.
 */
export async function runCli(argv: string[], io: CliIO = defaultIO, onResult?: (r: unknown) => void): Promise<number> {
  let exitCode = 0;
  const program = createProgram(io, onResult, argv, (code) => { exitCode = code; });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0; every other one is a usage error
      return e.exitCode === 0 ? 0 : 2;
    }
    const cmd = argv.find((a) => a === 'train' || a === 'infer' || a === 'launch') ?? '';
    io.err(`fsnn${cmd ? ' ' + cmd : ''}: error: ${(e as Error).message}\n`);
    return 1;
  }
}
