import { tensor } from '../lib';
import { fractionalNeuron } from '../lib/fractional/op';
function lcg(seed: number) { let s = seed >>> 0; return () => ((s = (1664525 * s + 1013904223) >>> 0) / 4294967296); }
const T = Number(process.argv[2] ?? 1024), B = 4, F = 32, N = B * F;
for (const method of ['l1', 'gl'] as const) for (const alphas of [[0.6], [0.3, 0.8]]) {
  const r = lcg(7);
  const drive = Array.from({ length: N }, () => 0.8 + 1.2 * r());
  const data = new Float32Array(T * N);
  for (let k = 0; k < T; k++) for (let n = 0; n < N; n++) data[k * N + n] = drive[n] * (0.5 + r());
  const res: any = {};
  for (const history of ['exact', 'fast'] as const) {
    const I = tensor(data, [T, B, F]).requiresGrad_();
    const a = tensor(Float32Array.from(alphas), [alphas.length]).requiresGrad_();
    const w = tensor(Float32Array.from(alphas.map((_, i) => 1 / (i + 1))), [alphas.length]).requiresGrad_();
    const t0 = Date.now();
    const out = fractionalNeuron(I, a, w, { method, history, returnTrace: true, tau: 2 });
    const loss = out.spikes.sum().add(out.v!.mul(out.v!).sum().mul(0.01));
    loss.backward();
    res[history] = { t: Date.now() - t0, loss: loss.toFloat32Array()[0], s: out.spikes.toFloat32Array(), v: out.v!.toFloat32Array(), gI: I.grad!.toFloat32Array(), ga: Array.from(a.grad!.toFloat32Array()), gw: Array.from(w.grad!.toFloat32Array()) };
  }
  const e = res.exact, f = res.fast;
  let flips = 0, dv = 0, vmax = 0, dgi = 0, gimax = 0;
  for (let i = 0; i < e.s.length; i++) { if (e.s[i] !== f.s[i]) flips++; dv = Math.max(dv, Math.abs(e.v[i] - f.v[i])); vmax = Math.max(vmax, Math.abs(e.v[i])); dgi = Math.max(dgi, Math.abs(e.gI[i] - f.gI[i])); gimax = Math.max(gimax, Math.abs(e.gI[i])); }
  console.log(method, alphas, `T=${T} flips=${flips} dv=${(dv / vmax).toExponential(2)} dgI=${(dgi / gimax).toExponential(2)} loss ${e.loss} ${f.loss}`, 'ga', e.ga, f.ga, 'gw', e.gw, f.gw, `t ${e.t} ${f.t} ms`);
}
