// Every public golden case built with the public API exactly as a user writes it, against the float64
// reference block and, where the case has one, the spikeDE block (outputs, loss, weight gradients).
import { tensor, Tensor } from '../../lib';
import { buildGoldenNet, flat, GOLDEN_TOL, loadGoldens, relErr, relErrScalar } from '../helpers/goldens';

describe('the goldens through nn.Sequential + SNNWrapper', () => {
  for (const c of loadGoldens()) {
    test(c.name, () => {
      const { net, model, nameOf, forward } = buildGoldenNet(c);
      const out = forward();
      const loss = out.mul(tensor(flat(c.readout), out.shape.slice(), { device: out.device })).sum();
      loss.backward();
      const params = Object.fromEntries(model.namedParameters()) as Record<string, Tensor>;
      const blocks = c.spikede ? [c.reference, c.spikede] : [c.reference];
      for (const ref of blocks) {
        expect(Array.from(out.toFloat32Array())).toEqual(flat(ref.output));
        expect(relErrScalar(loss.item(), ref.loss)).toBeLessThan(GOLDEN_TOL.loss);
        for (const [k, g] of Object.entries(ref.grads)) expect(relErr(params[nameOf[k]].grad!.toFloat32Array(), flat(g))).toBeLessThan(GOLDEN_TOL.weightGrad);
      }
      // The values actually used are the float32 ones the goldens list.
      net.getPerLayerAlpha().forEach((a, i) => expect(Array.from(a.toFloat32Array())).toEqual(c.alpha[i]));
      // alpha and coefficient gradients: against the reference only (spikeDE's L1 alpha gradient lacks a
      // term; test/fractional/goldens-op.test.ts checks that difference)
      net.getPerLayerAlpha().forEach((a, i) => expect(relErr(a.grad!.toFloat32Array(), c.reference.alpha_grad![i]!)).toBeLessThan(GOLDEN_TOL.alphaGrad));
      net.getPerLayerCoefficient().forEach((w, i) => {
        if (c.spec.learn_coefficient) expect(relErr(w.grad!.toFloat32Array(), c.reference.coefficient_grad![i]!)).toBeLessThan(GOLDEN_TOL.coefficientGrad);
        else expect(w.requiresGrad).toBe(false);
      });
    });
  }
});
