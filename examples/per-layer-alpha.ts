// npm run demo:alpha: the four ways to set the fractional orders (global scalar, per-layer
// single-term, multi-term broadcast, per-layer multi-term), each trained a few hundred steps on
// MNIST, then the same flat list read as 'per_layer' and as 'multiterm'.
//   npm run demo:alpha -- --epochs 1 --hidden 64
import { Command, Option } from 'commander';
import { ALPHA_DEMO_DEFAULTS, runAlphaDemo } from '../lib/cli/alpha-demo';
import { numericArg } from '../lib/cli/numeric-arg';

const d = ALPHA_DEMO_DEFAULTS;
const program = new Command('per-layer-alpha')
  .description('the four alpha configuration modes, trained on MNIST')
  .addOption(new Option('--epochs <n>', 'epochs per mode (125 steps each on 8,000 digits at batch 64)').argParser(numericArg('epochs', { integer: true, min: 1 })).default(d.epochs))
  .addOption(new Option('--hidden <n>', 'hidden LIF neurons').argParser(numericArg('hidden', { integer: true, min: 1 })).default(d.hidden))
  .addOption(new Option('--lr <rate>', 'Adam learning rate').argParser(numericArg('lr', { positive: true })).default(d.lr))
  .addOption(new Option('--seed <n>', 'seed').argParser(numericArg('seed', { integer: true, min: 0 })).default(d.seed))
  .addOption(new Option('--train-size <n>', 'training digits').argParser(numericArg('train-size', { integer: true, min: 1 })).default(d.trainSize))
  .showHelpAfterError()
  .parse();
const o = program.opts();

runAlphaDemo({ epochs: o.epochs, hidden: o.hidden, lr: o.lr, seed: o.seed, trainSize: o.trainSize }).catch((e: Error) => {
  console.error(`per-layer-alpha: error: ${e.message}`);
  process.exitCode = 1;
});
