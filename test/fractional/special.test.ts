// Gamma and digamma of the native kernel module (native/special_functions.h) on the range the kernels use,
// x = 2 - alpha in [1, 2), read through the l1 kernel at h = 1, w = 1, where c_0 = 1 and dc_0/dp = 0:
//   K_0 = 1 / Gamma(2 - alpha),   dK_0/dalpha / K_0 = psi(2 - alpha).
// Checked against closed-form values and against the tests' independent Lanczos reference.
import { buildKernel } from '../../lib/fractional/kernel';
import { refDigamma, refGamma } from './special-reference';

const EULER_GAMMA = 0.5772156649015329;
const SQRT_PI = Math.sqrt(Math.PI);

/** Gamma(x) and psi(x) of the native module, for x = 2 - alpha in [1, 2). */
function native(x: number): { gamma: number; digamma: number } {
  const k = buildKernel('l1', [2 - x], [1], 1, 1);
  return { gamma: 1 / k.K[0], digamma: k.dAlpha[0][0] / k.K[0] };
}

function expectRel(actual: number, expected: number, tol: number): void {
  const rel = Math.abs(actual - expected) / Math.abs(expected);
  if (!(rel <= tol)) throw new Error(`got ${actual}, expected ${expected} (relative error ${rel} > ${tol})`);
}

describe('native Gamma on [1, 2)', () => {
  test('closed-form values', () => {
    expect(native(1).gamma).toBe(1);  // exact at the integer: l1 with alpha = 1 is exactly Euler
    expectRel(native(1.5).gamma, SQRT_PI / 2, 2e-15);
    expectRel(native(4 / 3).gamma, 0.8929795115692492, 2e-15);   // Gamma(1/3) / 3
    expectRel(native(5 / 3).gamma, 0.9027452929509336, 2e-15);   // 2 Gamma(2/3) / 3
    expectRel(native(1.25).gamma, 0.9064024770554771, 2e-15);    // Gamma(1/4) / 4
    expectRel(native(1.7).gamma, 0.9086387328532904, 2e-15);
    expectRel(native(1.4616321449683623).gamma, 0.8856031944108887, 2e-15);  // the minimum
  });

  test('agrees with the Lanczos reference on a fine grid', () => {
    for (let i = 0; i < 1000; i++) {
      const x = 1 + i / 1000 + 1e-4;
      expectRel(native(x).gamma, refGamma(x), 1e-14);
    }
  });
});

describe('native digamma on [1, 2)', () => {
  test('closed-form values', () => {
    expectRel(native(1).digamma, -EULER_GAMMA, 2e-15);
    expectRel(native(1.5).digamma, 2 - EULER_GAMMA - 2 * Math.LN2, 1e-14);
    expectRel(native(4 / 3).digamma, 3 - EULER_GAMMA - Math.PI / (2 * Math.sqrt(3)) - 1.5 * Math.log(3), 1e-14);
    expectRel(native(5 / 3).digamma, 1.5 - EULER_GAMMA + Math.PI / (2 * Math.sqrt(3)) - 1.5 * Math.log(3), 1e-14);
    expectRel(native(1.25).digamma, 4 - EULER_GAMMA - Math.PI / 2 - 3 * Math.LN2, 1e-14);
    // The positive zero x0 = 1.4616321449683623: |psi| stays at rounding level there.
    expect(Math.abs(native(1.4616321449683623).digamma)).toBeLessThan(3e-15);
  });

  test('agrees with the Lanczos reference on a fine grid (absolute near the zero)', () => {
    for (let i = 0; i < 1000; i++) {
      const x = 1 + i / 1000 + 1e-4;
      const r = refDigamma(x);
      expect(Math.abs(native(x).digamma - r)).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(r)));
    }
  });

  test('is the derivative of ln Gamma (central differences of -ln K_0)', () => {
    for (const x of [1.05, 1.3, 1.5, 1.8, 1.95]) {
      const d = 1e-5;
      const fd = (Math.log(native(x + d).gamma) - Math.log(native(x - d).gamma)) / (2 * d);
      expect(Math.abs(native(x).digamma - fd)).toBeLessThan(1e-9);
    }
  });
});
