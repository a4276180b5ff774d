// npm run train:sequential: sequential MNIST row by row (T = 28), or with --pixels pixel by pixel
// (T = 784, meant for a GPU: --device cuda). Trains an integer-order baseline, a fixed-alpha f-SNN, a
// learnable per-layer-alpha f-SNN and a multi-term f-SNN with the same seeds, sizes and budget, and
// prints (and writes into an HTML report) the comparison.
//   npm run train:sequential
//   npm run train:sequential -- --pixels --device cuda
import { Command, Option } from 'commander';
import { runSequential, SEQUENTIAL_DEFAULTS, SEQUENTIAL_RUNS } from '../lib/cli/sequential';
import { numericArg } from '../lib/cli/numeric-arg';

const d = SEQUENTIAL_DEFAULTS;
const program = new Command('sequential-mnist')
  .description('sequential MNIST: integer-order vs fractional-order spiking networks')
  .option('--pixels', 'pixel by pixel (T = 784) instead of row by row (T = 28)')
  .addOption(new Option('--epochs <n>', 'epochs per model').argParser(numericArg('epochs', { integer: true, min: 1 })).default(d.epochs))
  .addOption(new Option('--batch-size <n>', 'mini-batch size').argParser(numericArg('batch-size', { integer: true, min: 1 })).default(d.batchSize))
  .addOption(new Option('--train-size <n>', 'training digits').argParser(numericArg('train-size', { integer: true, min: 1 })).default(d.trainSize))
  .addOption(new Option('--test-size <n>', 'test digits').argParser(numericArg('test-size', { integer: true, min: 1 })).default(d.testSize))
  .addOption(new Option('--hidden <n>', 'hidden LIF neurons').argParser(numericArg('hidden', { integer: true, min: 1 })).default(d.hidden))
  .addOption(new Option('--tau <t>', 'membrane time constant').argParser(numericArg('tau', { positive: true })).default(d.tau))
  .addOption(new Option('--lr <rate>', 'Adam learning rate').argParser(numericArg('lr', { positive: true })).default(d.lr))
  .option('--memory <n>', 'history window of the fractional layers (default: full history)', numericArg('memory', { integer: true, min: 1 }))
  .addOption(new Option('--seed <n>', 'seed').argParser(numericArg('seed', { integer: true, min: 0 })).default(d.seed))
  .addOption(new Option('--device <device>', 'where to run').choices(['cpu', 'cuda']).default('cpu'))
  .option('--only <runs>', `comma-separated subset of ${SEQUENTIAL_RUNS.map((r) => r.key).join(',')}`, (v: string) => v.split(','))
  .option('--out <dir>', `output directory (default ${d.out}, or ${d.out}-pixels with --pixels)`)
  .option('--no-progress', 'no progress bars')
  .showHelpAfterError()
  .parse();
const o = program.opts();

runSequential({
  pixels: !!o.pixels, epochs: o.epochs, batchSize: o.batchSize, trainSize: o.trainSize, testSize: o.testSize, hidden: o.hidden, tau: o.tau,
  lr: o.lr, memory: o.memory, seed: o.seed, device: o.device, only: o.only, progress: o.progress,
  out: o.out ?? (o.pixels ? `${d.out}-pixels` : d.out),
}).catch((e: Error) => {
  console.error(`sequential-mnist: error: ${e.message}`);
  process.exitCode = 1;
});
