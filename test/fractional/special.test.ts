// Gamma, ln Gamma and digamma against closed-form values and identities they must satisfy.
import { digamma, gamma, lgamma } from '../../lib/fractional/special';

const EULER_GAMMA = 0.5772156649015329;
const SQRT_PI = Math.sqrt(Math.PI);

function expectRel(actual: number, expected: number, tol: number): void {
  const rel = Math.abs(actual - expected) / Math.abs(expected);
  if (!(rel <= tol)) throw new Error(`got ${actual}, expected ${expected} (relative error ${rel} > ${tol})`);
}

/** Points spread over (0, 3], the range the kernels use, plus a few beyond. */
const GRID: number[] = [];
for (let i = 1; i <= 60; i++) GRID.push(0.05 * i - 0.013);
GRID.push(1e-6, 0.01, 4.3, 7.77, 12.5, 31.25);

describe('gamma', () => {
  test('closed-form values', () => {
    expectRel(gamma(0.5), SQRT_PI, 1e-14);
    expectRel(gamma(1.5), SQRT_PI / 2, 1e-14);
    expectRel(gamma(2.5), (3 * SQRT_PI) / 4, 1e-14);
    expectRel(gamma(3.5), (15 * SQRT_PI) / 8, 1e-14);
    expectRel(gamma(1 / 3), 2.678938534707747633, 1e-14);
    expectRel(gamma(0.1), 9.513507698668731286, 1e-14);
    expectRel(gamma(1.7), 0.9086387328532904, 1e-14);
    expectRel(gamma(30.5), 4.8226969334909086e31, 1e-13);
  });

  test('exact at positive integers (so l1 with alpha = 1 reduces exactly to Euler)', () => {
    expect(gamma(1)).toBe(1);
    expect(gamma(2)).toBe(1);
    expect(gamma(3)).toBe(2);
    expect(gamma(5)).toBe(24);
    expect(gamma(11)).toBe(3628800);
  });

  test('recurrence Gamma(x + 1) = x Gamma(x)', () => {
    for (const x of GRID) expectRel(gamma(x + 1), x * gamma(x), 1e-14);
  });

  test('reflection Gamma(x) Gamma(1 - x) = pi / sin(pi x) on (0, 1)', () => {
    for (const x of GRID.filter((v) => v < 1)) expectRel(gamma(x) * gamma(1 - x), Math.PI / Math.sin(Math.PI * x), 1e-14);
  });

  test('duplication Gamma(x) Gamma(x + 1/2) = 2^(1 - 2x) sqrt(pi) Gamma(2x)', () => {
    for (const x of GRID.filter((v) => v < 40)) {
      expectRel(gamma(x) * gamma(x + 0.5), Math.pow(2, 1 - 2 * x) * SQRT_PI * gamma(2 * x), 1e-13);
    }
  });

  test('overflows to Infinity past 171.6 instead of returning garbage', () => {
    expect(Number.isFinite(gamma(171.5))).toBe(true);
    expect(gamma(172.5)).toBe(Infinity);
  });
});

describe('lgamma', () => {
  test('closed-form values', () => {
    expect(lgamma(1)).toBe(0);
    expect(lgamma(2)).toBe(0);
    expectRel(lgamma(0.5), Math.log(SQRT_PI), 1e-14);
    expectRel(lgamma(100), 359.1342053695754, 1e-14); // ln(99!)
    expectRel(lgamma(100.5), 361.43554046777762, 1e-14);
    expectRel(lgamma(1e-8), -Math.log(1e-8) - EULER_GAMMA * 1e-8, 1e-14);
  });

  test('equals ln(gamma) where gamma is finite', () => {
    for (const x of GRID) {
      const l = Math.log(gamma(x));
      expect(Math.abs(lgamma(x) - l)).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(l)));
    }
  });

  test('recurrence lgamma(x + 1) = lgamma(x) + ln x for large x', () => {
    for (const x of [150.25, 300.5, 1234.5, 1e6 + 0.5]) {
      const l = lgamma(x + 1);
      expect(Math.abs(l - (lgamma(x) + Math.log(x)))).toBeLessThanOrEqual(1e-14 * l);
    }
  });
});

describe('digamma', () => {
  test('closed-form values', () => {
    expectRel(digamma(1), -EULER_GAMMA, 1e-14);
    expectRel(digamma(0.5), -1.9635100260214235, 1e-14);
    expectRel(digamma(0.5), -EULER_GAMMA - 2 * Math.LN2, 1e-14);
    expectRel(digamma(2), 1 - EULER_GAMMA, 1e-14);
    expectRel(digamma(1.5), 2 - EULER_GAMMA - 2 * Math.LN2, 1e-13);
    expectRel(digamma(3), 1.5 - EULER_GAMMA, 1e-14);
    expectRel(digamma(1 / 3), -EULER_GAMMA - Math.PI / (2 * Math.sqrt(3)) - 1.5 * Math.log(3), 1e-14);
    expectRel(digamma(0.25), -EULER_GAMMA - Math.PI / 2 - 3 * Math.LN2, 1e-14);
    // The positive zero x0 = 1.4616321449683623: |psi| stays at rounding level there.
    expect(Math.abs(digamma(1.4616321449683623))).toBeLessThan(2e-15);
  });

  test('recurrence psi(x + 1) = psi(x) + 1/x', () => {
    for (const x of GRID) {
      const lhs = digamma(x + 1);
      expect(Math.abs(lhs - (digamma(x) + 1 / x))).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(lhs), 1 / x));
    }
  });

  test('reflection psi(1 - x) - psi(x) = pi cot(pi x) on (0, 1)', () => {
    for (const x of GRID.filter((v) => v < 1)) {
      const rhs = Math.PI / Math.tan(Math.PI * x);
      expect(Math.abs(digamma(1 - x) - digamma(x) - rhs)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(rhs), 1 / x));
    }
  });

  test('is the derivative of lgamma (central finite differences)', () => {
    for (const x of GRID.filter((v) => v > 0.02)) {
      const d = 1e-4 * Math.min(x, 1); // truncation ~ d^2 psi''/6 stays below 1e-8 relative
      const fd = (lgamma(x + d) - lgamma(x - d)) / (2 * d);
      expect(Math.abs(digamma(x) - fd)).toBeLessThanOrEqual(1e-8 * Math.max(1, Math.abs(fd)));
    }
  });
});

describe('domain errors', () => {
  test.each([0, -0.5, -3, NaN, Infinity])('x = %p is rejected with the supported domain', (x) => {
    for (const f of [gamma, lgamma, digamma]) {
      expect(() => f(x)).toThrow(/outside the supported domain \(0, Infinity\); pass a finite positive argument/);
    }
  });
});
