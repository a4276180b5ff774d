import { tensor } from '../lib/creation';
import '../lib/ops/methods';
import { fractionalNeuron } from '../lib/fractional/op';
const T = Number(process.argv[2] ?? 2048), B = 16, F = 256;
const data = new Float32Array(T * B * F).fill(0.7);
for (const history of ['fast', 'exact', 'fast'] as const) {
  const I = tensor(data, [T, B, F]).requiresGrad_();
  const a = tensor([0.3, 0.8]).requiresGrad_();
  let t0 = Date.now();
  const out = fractionalNeuron(I, a, null, { method: 'l1', history, tau: 2 });
  const t1 = Date.now();
  out.spikes.sum().backward();
  console.log(history, 'fwd', t1 - t0, 'bwd', Date.now() - t1);
}
