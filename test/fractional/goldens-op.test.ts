// The goldens, with each net built layer by layer from the fractional op and a plain linear map,
// against the float64 reference block and, where the case has one, the spikeDE block.
import { flat, GOLDEN_TOL, loadGoldens, relErr, relErrScalar, runGoldenThroughOp } from '../helpers/goldens';

const runCase = runGoldenThroughOp;

describe('fractional op against the goldens (float64 reference, and spikeDE where present)', () => {
  for (const c of loadGoldens()) {
    test(c.name, () => {
      const r = runCase(c);
      const ref = c.reference;
      if (process.env.SHOW_ERR) {
        // the errors the tolerances are set against (the README quotes their maxima)
        const w = Math.max(...Object.entries(ref.grads).map(([k, g]) => relErr(r.grads[k], flat(g))));
        const a = Math.max(...r.alphaGrad.map((g, i) => relErr(g, ref.alpha_grad![i]!)));
        const cf = Math.max(...r.coefGrad.map((g, i) => relErr(g, ref.coefficient_grad![i]!)));
        // eslint-disable-next-line no-console
        console.log(`${c.name}: loss ${relErrScalar(r.loss, ref.loss).toExponential(1)}, weight grads ${w.toExponential(1)}, alpha grads ${a.toExponential(1)}, coefficient grads ${cf.toExponential(1)}`);
      }
      expect(r.output).toEqual(flat(ref.output));
      expect(relErrScalar(r.loss, ref.loss)).toBeLessThan(GOLDEN_TOL.loss);
      for (const [k, g] of Object.entries(ref.grads)) expect(relErr(r.grads[k], flat(g))).toBeLessThan(GOLDEN_TOL.weightGrad);
      r.alphaGrad.forEach((g, i) => expect(relErr(g, ref.alpha_grad![i]!)).toBeLessThan(GOLDEN_TOL.alphaGrad));
      r.coefGrad.forEach((g, i) => expect(relErr(g, ref.coefficient_grad![i]!)).toBeLessThan(GOLDEN_TOL.coefficientGrad));
      if (c.spikede) {
        // spikeDE's own outputs, loss and weight gradients (its alpha gradients: the next test)
        expect(r.output).toEqual(flat(c.spikede.output));
        expect(relErrScalar(r.loss, c.spikede.loss)).toBeLessThan(GOLDEN_TOL.loss);
        for (const [k, g] of Object.entries(c.spikede.grads)) expect(relErr(r.grads[k], flat(g))).toBeLessThan(GOLDEN_TOL.weightGrad);
      }
    });
  }

  test('our L1 alpha gradients differ from spikeDE where spikeDE drops d/dalpha Gamma(2 - alpha); GL ones agree', () => {
    // spikeDE evaluates h^alpha * Gamma(2 - alpha) with math.gamma on a Python float, so its L1 alpha
    // gradient misses the digamma term; for GL (no Gamma factor) both agree. The library's gradients
    // are computed here and compared with spikeDE's block: a change to the library's L1 alpha
    // gradient that matched spikeDE (or broke GL) fails this.
    let l1 = 0, gl = 0;
    for (const c of loadGoldens()) {
      if (!c.spikede || !c.spikede.alpha_grad) continue;
      const ours = runCase(c).alphaGrad.flatMap((g) => Array.from(g));
      const theirs = flat(c.spikede.alpha_grad);
      expect(ours.length).toBe(theirs.length);
      if (c.spec.method === 'l1') {
        // max-norm relative difference 8.1e-3 .. 0.73 on these cases: at least 50 times the tolerance
        // at which the same gradients match the float64 reference (first test)
        expect(relErr(ours, theirs)).toBeGreaterThan(50 * GOLDEN_TOL.alphaGrad);
        l1++;
      } else {
        expect(relErr(ours, theirs)).toBeLessThan(GOLDEN_TOL.alphaGrad);
        gl++;
      }
    }
    expect(l1).toBeGreaterThan(0);
    expect(gl).toBeGreaterThan(0);
  });
});
