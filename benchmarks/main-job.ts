// The README's "main job" figures: `npm run train` with its default config (10 epochs), then
// `fsnn infer` on the held-out set it wrote, on the sgemm this process uses (run it plain and with
// FSNN_BLAS=builtin for both builds). Prints the machine, the load average, test accuracy, learned
// alphas, wall time, the epochs' summed training time, training samples/s, inference accuracy and samples/s,
// and each neuron layer's firing rate on the held-out set.
//   npx ts-node --transpile-only benchmarks/main-job.ts        (FSNN_EPOCHS=n for a shorter run)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { noGrad } from '../lib/autograd/grad-mode';
import { infer, INFER_DEFAULTS } from '../lib/cli/infer';
import { tensor } from '../lib/creation';
import { readIdxFile } from '../lib/data/idx';
import { tidy } from '../lib/memory';
import { loadModel } from '../lib/snn/model-io';
import { Tensor } from '../lib/tensor';
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
  // Firing rates on the held-out set: the fraction of ones in each neuron layer's spikes [T, B, N], from
  // the checkpoint in eval mode (each neuron layer's forward wrapped to count its output).
  const { net, spec } = loadModel(r.checkpoint!);
  net.eval();
  const images = readIdxFile(path.join(out, 'test-images-idx3-ubyte'));
  const count = images.dims[0], F = images.data.length / count;
  const ones = net.neurons.map(() => 0), total = net.neurons.map(() => 0);
  net.neurons.forEach((neuron, i) => {
    const forward = neuron.forward.bind(neuron);
    neuron.forward = (x: Tensor): Tensor => {
      const y = forward(x);
      ones[i] += y.sum().item();
      total[i] += y.numel;
      return y;
    };
  });
  const T = spec.input?.T ?? 8;
  for (let b0 = 0; b0 < count; b0 += 256) {
    const n = Math.min(256, count - b0);
    const x = Float32Array.from(images.data.subarray(b0 * F, (b0 + n) * F), (v) => Number(v) / 255);
    noGrad(() => tidy(() => { net.forward(tensor(x, [n, F]), undefined, { staticInput: true, steps: T }); }));
  }
  console.log(`firing rates on the ${count} held-out digits (T = ${T}): ${ones.map((o, i) => `layer ${i + 1} ${(100 * o / total[i]).toFixed(1)} %`).join(', ')}`);
  console.log(`load average at the end ${load()}`);
  fs.rmSync(out, { recursive: true, force: true });
})();
