// Every public golden case built with the public API exactly as a user writes it.
import { tensor, nn, LIFNeuron, IFNeuron, SNNWrapper, Tensor } from '../../lib';
import { flat, loadGoldens, relErr, surrogateName } from '../helpers/goldens';

describe('the goldens through nn.Sequential + SNNWrapper', () => {
  for (const c of loadGoldens()) {
    test(c.name, () => {
      const { T, B } = c.spec;
      // The case's layers in order; linear layers are renamed to their Sequential index.
      const layers = c.spec.layers.map((l) => {
        if (l.type === 'linear') return new nn.Linear(l.in!, l.out!);
        const opts = { tau: l.tau, threshold: l.threshold, surrogate: surrogateName(l.surrogate), surrogateScale: l.scale };
        return l.type === 'lif' ? new LIFNeuron(opts) : new IFNeuron(opts);
      });
      const model = new nn.Sequential(...layers);
      const dict: Record<string, Float32Array> = {};
      const nameOf: Record<string, string> = {};
      c.spec.layers.forEach((l, i) => {
        if (l.type !== 'linear') return;
        dict[`${i}.weight`] = Float32Array.from(flat(c.params[`${l.name}.weight`]));
        dict[`${i}.bias`] = Float32Array.from(flat(c.params[`${l.name}.bias`]));
        nameOf[`${l.name}.weight`] = `${i}.weight`;
        nameOf[`${l.name}.bias`] = `${i}.bias`;
      });
      model.loadStateDict(dict);
      const net = new SNNWrapper(model, {
        integrator: 'fdeint',
        alpha: c.spec.alpha,
        alphaMode: c.spec.alpha_mode as 'per_layer' | 'multiterm' | undefined,
        multiCoefficient: c.spec.multi_coefficient,
        learnAlpha: c.spec.learn_alpha ?? false,
        learnCoefficient: c.spec.learn_coefficient ?? false,
      });
      const out = net.forward(tensor(flat(c.x), [T, B, c.spec.layers[0].in!]), c.x_time, { method: c.spec.method, memory: c.spec.memory });
      const loss = out.mul(tensor(flat(c.readout), out.shape.slice())).sum();
      loss.backward();
      const ref = c.reference;
      expect(Array.from(out.toFloat32Array())).toEqual(flat(ref.output));
      expect(Math.abs(loss.item() - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-4);
      const params = Object.fromEntries(model.namedParameters()) as Record<string, Tensor>;
      for (const [k, g] of Object.entries(ref.grads)) expect(relErr(params[nameOf[k]].grad!.toFloat32Array(), flat(g))).toBeLessThan(1e-3);
      // The values actually used are the float32 ones the goldens list.
      net.getPerLayerAlpha().forEach((a, i) => expect(Array.from(a.toFloat32Array())).toEqual(c.alpha[i]));
      net.getPerLayerAlpha().forEach((a, i) => expect(relErr(a.grad!.toFloat32Array(), ref.alpha_grad![i]!)).toBeLessThan(1e-3));
      net.getPerLayerCoefficient().forEach((w, i) => {
        if (c.spec.learn_coefficient) expect(relErr(w.grad!.toFloat32Array(), ref.coefficient_grad![i]!)).toBeLessThan(1e-3);
        else expect(w.requiresGrad).toBe(false);
      });
    });
  }
});
