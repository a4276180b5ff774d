// Every public golden case built with the public API exactly as a user writes it.
import { tensor, Tensor } from '../../lib';
import { buildGoldenNet, flat, loadGoldens, relErr } from '../helpers/goldens';

describe('the goldens through nn.Sequential + SNNWrapper', () => {
  for (const c of loadGoldens()) {
    test(c.name, () => {
      const { net, model, nameOf, forward } = buildGoldenNet(c);
      const out = forward();
      const loss = out.mul(tensor(flat(c.readout), out.shape.slice(), { device: out.device })).sum();
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
