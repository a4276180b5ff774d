// npm run demo:alpha: the four ways to set the fractional orders (global scalar, per-layer
// single-term, multi-term broadcast, per-layer multi-term), each trained a few hundred steps on
// MNIST, then the same flat list read as 'per_layer' and as 'multiterm'.
//   npm run demo:alpha -- --epochs 1 --hidden 64
import { Command } from 'commander';
import { ALPHA_DEMO_DEFAULTS, runAlphaDemo } from '../lib/cli/alpha-demo';
import { parseIntArg, parsePositive } from '../lib/cli/program';

const d = ALPHA_DEMO_DEFAULTS;
const program = new Command('per-layer-alpha')
  .description('the four alpha configuration modes, trained on MNIST')
  .option('--epochs <n>', `epochs per mode (125 steps each on 8,000 digits at batch 64) (default ${d.epochs})`, parseIntArg('epochs', 1))
  .option('--hidden <n>', `hidden LIF neurons (default ${d.hidden})`, parseIntArg('hidden', 1))
  .option('--lr <rate>', `Adam learning rate (default ${d.lr})`, parsePositive('lr'))
  .option('--seed <n>', `seed (default ${d.seed})`, parseIntArg('seed', 0))
  .option('--train-size <n>', `training digits (default ${d.trainSize})`, parseIntArg('train-size', 1))
  .showHelpAfterError()
  .parse();
const o = program.opts();

runAlphaDemo({ epochs: o.epochs, hidden: o.hidden, lr: o.lr, seed: o.seed, trainSize: o.trainSize }).catch((e: Error) => {
  console.error(`per-layer-alpha: error: ${e.message}`);
  process.exitCode = 1;
});
