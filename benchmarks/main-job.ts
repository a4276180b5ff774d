// The README's "main job" figures: `npm run train` with its default config (10 epochs), then
// `fsnn infer` on the held-out set it wrote, on the sgemm this process uses (run it plain and with
// FSNN_BLAS=builtin for both builds). Prints the machine, the load average, test accuracy, learned
// alphas, wall time, the epochs' summed training time, training samples/s and inference accuracy and samples/s.
//   npx ts-node --transpile-only benchmarks/main-job.ts        (FSNN_EPOCHS=n for a shorter run)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { infer, INFER_DEFAULTS } from '../lib/cli/infer';
import { train, TRAIN_DEFAULTS } from '../lib/cli/train';
import { native } from '../lib/native';
import { machine } from './common';

(async () => {
  const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`machine: ${machine()}; ${native.info().cpu}; load average ${load()}`);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-main-job-'));
  const epochs = Number(process.env.FSNN_EPOCHS ?? TRAIN_DEFAULTS.epochs);
  const r = await train({ ...TRAIN_DEFAULTS, epochs, out, progress: false }, { log: () => {} });
  const last = r.epochs[r.epochs.length - 1];
  const alphas = r.alphas.map((a) => a.map((v) => v.toFixed(3)).join(', ')).join('], [');
  const trainingSeconds = r.epochs.reduce((s, e) => s + e.seconds, 0);
  console.log(`train (defaults, ${epochs} epochs): test accuracy ${(100 * r.testAccuracy).toFixed(2)} % of ${r.testPredictions.length}, ` +
    `alphas [${alphas}], last epoch ${last.seconds.toFixed(1)} s at ${Math.round(last.samplesPerSec)} samples/s, ` +
    `all epochs' training ${trainingSeconds.toFixed(2)} s, wall ${r.seconds.toFixed(1)} s`);
  const inf = await infer({
    ...INFER_DEFAULTS, checkpoint: r.checkpoint!, input: path.join(out, 'test-images-idx3-ubyte'),
    labels: path.join(out, 'test-labels-idx1-ubyte'), output: path.join(out, 'predictions.jsonl'),
  }, { log: () => {} });
  console.log(`infer: accuracy ${(100 * inf.accuracy!).toFixed(2)} % (${inf.correct}/${inf.count}) at ${Math.round(inf.samplesPerSec)} samples/s`);
  console.log(`load average at the end ${load()}`);
  fs.rmSync(out, { recursive: true, force: true });
})();
