// The sum-of-exponentials far history of the fractional kernels (native/fractional_soe.*): builds the
// standalone check benchmarks/native/soe_check.cc, which compares the SOE K_L and dK_L/dalpha for l1, gl and
// pred with long double references (closed forms, recurrences, finite differences) at every lag up to 4096
// and on a log grid up to 1e7, and runs a toy recurrence and the adjoint-side sums through the running
// states. Here the printed table is parsed and every tolerance is asserted again.
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '../..');
const compiler = process.env.CXX ?? 'g++';
const hasCompiler = spawnSync(compiler, ['--version']).status === 0;

interface CaseRow {
  method: string;
  alphas: string;
  h: number;
  Q: number;
  L0: number;
  errK: number;
  errdK: number;
  refs: number;
  status: string;
}

function parseCases(out: string): CaseRow[] {
  return out
    .split('\n')
    .filter((line) => line.startsWith('case '))
    .map((line) => {
      const f = line.trim().split(/\s+/);
      return {
        method: f[1],
        alphas: f[2],
        h: Number(f[4]),
        Q: Number(f[5]),
        L0: Number(f[6]),
        errK: Number(f[7]),
        errdK: Number(f[8]),
        refs: Number(f[9]),
        status: f[10],
      };
    });
}

describe('SOE kernel history (native/fractional_soe.cc)', () => {
  test('l1 / gl / pred weights and alpha-derivatives to 1e-7 up to L = 1e7; recurrence and adjoint sums through the states', () => {
    if (!hasCompiler) {
      console.log('SKIPPED: no C++ compiler');
      return;
    }
    const build = spawnSync('bash', [path.join(root, 'benchmarks/native/build_soe_check.sh')], { encoding: 'utf8' });
    expect(build.stderr + build.stdout).toContain('built');
    expect(build.status).toBe(0);
    const run = spawnSync(path.join(root, 'build/soe_check'), ['16384'], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const out = run.stdout;
    console.log(out);
    expect(out.trim().split('\n').pop()).toBe('soe checks: all passed');
    expect(run.status).toBe(0);

    const cases = parseCases(out);
    // 3 methods x (7 alphas x 3 steps + 2 two-term + 1 three-term + 2 fixed-L0) cases
    expect(cases.length).toBe(3 * (21 + 2 + 1 + 2));
    for (const method of ['l1', 'gl', 'pred']) {
      for (const alpha of ['0.010', '0.100', '0.300', '0.500', '0.800', '0.990', '1.000']) {
        for (const h of [1, 0.5, 0.1]) {
          expect(cases.some((c) => c.method === method && c.alphas === alpha && c.h === h)).toBe(true);
        }
      }
      expect(cases.some((c) => c.method === method && c.alphas === '0.300,0.800')).toBe(true);
    }
    for (const c of cases) {
      const label = `${c.method} alpha ${c.alphas} h ${c.h}`;
      expect([label, c.status]).toEqual([label, 'ok']);
      expect(c.errK).toBeLessThanOrEqual(1e-7);
      expect(c.errdK).toBeLessThanOrEqual(1e-7);
      expect(c.refs).toBeLessThanOrEqual(1e-8); // the independent references agree with each other
      expect(c.Q).toBeLessThanOrEqual(80); // nodes (running states per neuron) at tol 1e-9, Lmax 1e7
      expect(c.L0).toBeGreaterThanOrEqual(2);
    }

    // The compressed sets the fast history runs on (compress_soe: trapezoid 1e-10 refit to 3e-8, L0 4):
    // 'cmpr method alphas weights h Lmax Q L0 errK errdK refs status'.
    const cmpr = out
      .split('\n')
      .filter((l) => l.startsWith('cmpr '))
      .map((l) => l.trim().split(/\s+/));
    expect(cmpr.length).toBe(3 * 3 * (2 * 7 + 2));
    for (const f of cmpr) {
      const [Lmax, Q, L0, errK, errdK, refs] = [5, 6, 7, 8, 9, 10].map((i) => Number(f[i]));
      const label = f.slice(0, 6).join(' ');
      expect([label, f[11]]).toEqual([label, 'ok']);
      expect(L0).toBe(4);
      expect(errK).toBeLessThanOrEqual(1e-7);
      expect(errdK).toBeLessThanOrEqual(1e-7);
      expect(refs).toBeLessThanOrEqual(1e-8);
      // about half the trapezoid's nodes: measured 24-25 at Lmax 4096, 31-32 at 65536, 41-44 at 1e7
      expect(Q).toBeLessThanOrEqual(Lmax <= 4096 ? 26 : Lmax <= 65536 ? 33 : 46);
    }

    const qtab = out.split('\n').filter((l) => l.startsWith('qtab '));
    expect(qtab.length).toBe(27);
    for (const line of qtab) expect(line.trim().endsWith(' ok')).toBe(true);

    const recur = out
      .split('\n')
      .filter((l) => l.startsWith('recur '))
      .map((l) => l.trim().split(/\s+/));
    expect(recur.length).toBe(8);
    for (const f of recur) {
      const [errV, adjK, adjdK, tExact, tSoe] = [Number(f[6]), Number(f[7]), Number(f[8]), Number(f[9]), Number(f[10])];
      expect(errV).toBeLessThanOrEqual(1e-7);
      expect(adjK).toBeLessThanOrEqual(1e-7);
      expect(adjdK).toBeLessThanOrEqual(1e-7);
      if (Number(f[3]) >= 16384) expect(tSoe).toBeLessThan(tExact); // linear against quadratic cost
    }
  }, 900000);
});
