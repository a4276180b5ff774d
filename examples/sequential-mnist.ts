// npm run train:sequential: sequential MNIST row by row (T = 28), or with --pixels pixel by pixel
// (T = 784, meant for a GPU: --device cuda). Trains an integer-order baseline, a fixed-alpha f-SNN, a
// learnable per-layer-alpha f-SNN and a multi-term f-SNN with the same seeds, sizes and budget, and
// prints (and writes into an HTML report) the comparison.
//   npm run train:sequential
//   npm run train:sequential -- --pixels --device cuda
import { Command, InvalidArgumentError } from 'commander';
import { runSequential, SEQUENTIAL_DEFAULTS, SEQUENTIAL_RUNS } from '../lib/cli/sequential';
import { parseIntArg, parsePositive } from '../lib/cli/program';

const d = SEQUENTIAL_DEFAULTS;
const program = new Command('sequential-mnist')
  .description('sequential MNIST: integer-order vs fractional-order spiking networks')
  .option('--pixels', 'pixel by pixel (T = 784) instead of row by row (T = 28)')
  .option('--epochs <n>', `epochs per model (default ${d.epochs})`, parseIntArg('epochs', 1))
  .option('--batch-size <n>', `mini-batch size (default ${d.batchSize})`, parseIntArg('batch-size', 1))
  .option('--train-size <n>', `training digits (default ${d.trainSize})`, parseIntArg('train-size', 1))
  .option('--test-size <n>', `test digits (default ${d.testSize})`, parseIntArg('test-size', 1))
  .option('--hidden <n>', `hidden LIF neurons (default ${d.hidden})`, parseIntArg('hidden', 1))
  .option('--tau <t>', `membrane time constant (default ${d.tau})`, parsePositive('tau'))
  .option('--lr <rate>', `Adam learning rate (default ${d.lr})`, parsePositive('lr'))
  .option('--memory <n>', 'history window of the fractional layers (default: full history)', parseIntArg('memory', 1))
  .option('--seed <n>', `seed (default ${d.seed})`, parseIntArg('seed', 0))
  .option('--device <device>', 'cpu or cuda (default cpu)', (v: string) => {
    if (v !== 'cpu' && v !== 'cuda') throw new InvalidArgumentError('device must be one of cpu, cuda.');
    return v;
  })
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
