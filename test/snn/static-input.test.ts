// SNNWrapper.forward(x [B, ...], xTime, { staticInput: true }) against the repeated input [T, B, ...]:
// the layers before the first neuron layer run once, on one step, and the first neuron repeats its input
// current over the T steps. Forward and gradients are compared with the repeated input: bit for bit
// where the arithmetic is the same, with the built-in sgemm, which rounds every row of a product alike
// (OpenBLAS does not even round equal rows of one product alike, so with it the first layer's currents
// agree to float32 rounding); within float32 rounding where the static path sums in another order (the
// first layer's weight and bias gradients and the input's gradient: over T, then over B, instead of one
// sum over T·B rows; achieved: <= 1e-6 of the largest entry here).
import * as path from 'path';
import { execFileSync } from 'child_process';
import { nn, tensor, manualSeed, LIFNeuron, SNNWrapper, Tensor, withNeuronContext } from '../../lib';
import { B, bnNet, C, compare, Comparison, convNet, F, H, mlp, relDiff, repeated, run, S, T, xConv, xMlp } from '../helpers/static-input-cases';

const values = (t: Tensor) => t.toFloat32Array();

/** Every gradient within `tol` of the repeated input's, and x's gradient against the sum over T. */
function expectClose(c: Comparison, tol: number): void {
  for (const [name, rel] of Object.entries(c.gradRel)) expect({ name, close: rel <= tol }).toEqual({ name, close: true });
  expect(c.gxRel).toBeLessThanOrEqual(tol);
  c.traceRel.forEach((r) => expect(r).toBeLessThanOrEqual(tol));
}

describe('with the built-in sgemm (a child process): bit for bit but the sums over T', () => {
  let r: { blas: string; mlp: Comparison; timed: Comparison; conv: Comparison };
  beforeAll(() => {
    // In the GPU bundle the tests are compiled to JavaScript and there is no ts-node: run the .js child there.
    const compiled = __filename.endsWith('.js');
    const child = path.join(__dirname, compiled ? 'static-input.child.js' : 'static-input.child.ts');
    const stdout = execFileSync(process.execPath, [...(compiled ? [] : ['-r', 'ts-node/register/transpile-only']), child], {
      env: { ...process.env, FSNN_BLAS: 'builtin' }, encoding: 'utf8', timeout: 300000,
    });
    r = JSON.parse(stdout.trim().split('\n').pop()!);
  });

  test('the child ran the built-in sgemm', () => {
    expect(r.blas).toBe('builtin');
  });

  test('Linear: spikes and membrane traces bit for bit; every gradient downstream of the first layer too', () => {
    const c = r.mlp;
    expect(c.spikes).toBeGreaterThan(0);
    expect(c.outputEqual).toBe(true);
    expect(c.tracesEqual).toEqual([true, true]);
    expect(c.gradsEqual).toEqual({
      '0.weight': expect.any(Boolean), '0.bias': expect.any(Boolean), '2.weight': true, '2.bias': true,
      'perLayerAlpha.0': true, 'perLayerAlpha.1': true, 'perLayerCoefficient.0': true, 'perLayerCoefficient.1': true,
    });
    // The first layer's gradients and x's sum over T, then B: float32 rounding of another order.
    expectClose(c, 1e-6);
  });

  test('T from xTime (h = 0.5): the same', () => {
    expect(r.timed.outputEqual).toBe(true);
    expect(r.timed.tracesEqual).toEqual([true, true]);
    expectClose(r.timed, 1e-6);
  });

  test('Conv2d and MaxPool2d before the first neuron: forward bit for bit, gradients as for Linear', () => {
    const c = r.conv;
    expect(c.spikes).toBeGreaterThan(0);
    expect(c.outputEqual).toBe(true);
    expect(c.tracesEqual).toEqual([true, true]);
    expect([c.gradsEqual['4.weight'], c.gradsEqual['4.bias'], c.gradsEqual['perLayerAlpha.0'], c.gradsEqual['perLayerAlpha.1']]).toEqual([true, true, true, true]);
    expectClose(c, 1e-6);
  });
});

describe("with this build's sgemm and device", () => {
  test('Linear: the layers before the first neuron run once, on one step [1, B, ...]; the output has all T steps', () => {
    manualSeed(11);
    const net = mlp();
    const first = (net.model as nn.Sequential).at(0);
    const seen: number[][] = [];
    const forward = first.forward.bind(first);
    first.forward = (x: Tensor) => {
      seen.push(x.shape.slice());
      return forward(x);
    };
    const out = net.forward(tensor(xMlp, [B, F]), undefined, { staticInput: true, steps: T });
    expect(seen).toEqual([[1, B, F]]);
    expect(out.shape).toEqual([T, B, 4]);
  });

  test('Linear and Conv2d: traces and gradients within float32 rounding of the repeated input', () => {
    manualSeed(11);
    const net = mlp();
    expectClose(compare(run(net, xMlp, [B, F], true), run(net, xMlp, [B, F], false)), 1e-5);
    manualSeed(12);
    const conv = convNet();
    expectClose(compare(run(conv, xConv, [B, C, S, S], true), run(conv, xConv, [B, C, S, S], false)), 1e-5);
  });

  test('T = 1: the static input is the one step', () => {
    manualSeed(11);
    const net = mlp();
    const a = net.forward(tensor(xMlp, [B, F]), undefined, { staticInput: true, steps: 1 });
    expect(values(a)).toEqual(values(net.forward(tensor(xMlp, [1, B, F]))));
  });
});

describe('BatchNorm before the first neuron', () => {
  const stats = (net: SNNWrapper) => ({ mean: values(net.stateDict()['1.runningMean']), var: values(net.stateDict()['1.runningVar']) });

  test('training mode: the statistics of T·B identical copies are those of the B samples (within float32 rounding)', () => {
    manualSeed(13);
    const net = bnNet();
    const before = Object.fromEntries(Object.entries(net.stateDict()).map(([k, t]) => [k, values(t)]));  // copies: stateDict() shares storage
    const a = run(net, xMlp, [B, F], true);
    const sa = stats(net);
    net.loadStateDict(before);
    const b = run(net, xMlp, [B, F], false);
    const sb = stats(net);
    const c = compare(a, b);
    c.traceRel.forEach((r) => expect(r).toBeLessThanOrEqual(1e-5));
    expect(c.gxRel).toBeLessThanOrEqual(1e-5);
    for (const name of ['0.weight', '1.weight', '1.bias', '3.weight', '3.bias']) expect({ name, rel: c.gradRel[name] <= 1e-5 }).toEqual({ name, rel: true });
    // BatchNorm removes the mean, so the first layer's bias gradient is 0 up to rounding: compare on the weights' scale.
    const scale = Math.max(...b.grads.get('0.weight')!.map(Math.abs));
    for (const g of [a.grads.get('0.bias')!, b.grads.get('0.bias')!]) expect(Math.max(...g.map(Math.abs))).toBeLessThanOrEqual(1e-5 * scale);
    expect(relDiff(sa.mean, sb.mean)).toBeLessThanOrEqual(1e-6);
    // running var = 0.9 * 1 + 0.1 * var * n / (n - 1): the static path counts n = B values, the repeated one T·B
    const batchVar = (rv: Float32Array, n: number) => Float32Array.from(rv, (v) => ((v - 0.9) / 0.1) * (n - 1) / n);
    expect(relDiff(batchVar(sa.var, B), batchVar(sb.var, T * B))).toBeLessThanOrEqual(1e-5);
    expect(relDiff(sa.var, sb.var)).toBeGreaterThan(1e-3);  // the documented difference is real
  });

  test('eval mode: the same running statistics give the same result', () => {
    manualSeed(13);
    const net = bnNet();
    net.eval();
    const c = compare(run(net, xMlp, [B, F], true), run(net, xMlp, [B, F], false));
    c.traceRel.forEach((r) => expect(r).toBeLessThanOrEqual(1e-5));
    expect(c.gxRel).toBeLessThanOrEqual(1e-5);
  });
});

describe('bad use', () => {
  beforeEach(() => manualSeed(14));

  test('T must be known: steps or xTime, and they must agree', () => {
    const net = mlp();
    const x = tensor(xMlp, [B, F]);
    expect(() => net.forward(x, undefined, { staticInput: true })).toThrow(/static input \[B, \.\.\.\] has no time axis.*steps: 8/);
    expect(() => net.forward(x, [0, 1, 2], { staticInput: true, steps: 4 })).toThrow(/steps = 4 but xTime has 3 entries/);
    expect(() => net.forward(x, undefined, { staticInput: true, steps: 0 })).toThrow(/steps = 0 must be a positive integer/);
    expect(() => net.forward(repeated(xMlp, [B, F]), undefined, { steps: T })).toThrow(/pass staticInput: true with it/);
    expect(net.forward(x, [0, 1, 2], { staticInput: true }).shape).toEqual([3, B, 4]);
  });

  test('a model that drops the leading axis before the first neuron is named, with the fix', () => {
    class Folding extends nn.Module {
      fc = new nn.Linear(F, H);
      lif = new LIFNeuron();
      forward(x: Tensor): Tensor {
        return this.lif.forward(this.fc.forward(x.reshape([-1, F])));
      }
    }
    const net = new SNNWrapper(new Folding(), { alpha: 0.5 });
    expect(() => net.forward(tensor(xMlp, [B, F]), undefined, { staticInput: true, steps: T }))
      .toThrow(/LIFNeuron: with staticInput .* must receive a one-step current \[1, B, \.\.\.\], but it got \[5,9\]\. Fix: keep dim 0/);
  });

  test('a time-dependent term before the first neuron (the input is then not static) is refused', () => {
    class TimeCode extends nn.Module {
      fc = new nn.Linear(F, H);
      lif = new LIFNeuron();
      code = tensor(Array.from({ length: T * H }, (_, i) => i / (T * H)), [T, 1, H]);
      forward(x: Tensor): Tensor {
        return this.lif.forward(this.fc.forward(x).add(this.code));
      }
    }
    const net = new SNNWrapper(new TimeCode(), { alpha: 0.5 });
    expect(net.forward(repeated(xMlp, [B, F])).shape).toEqual([T, B, H]);
    expect(() => net.forward(tensor(xMlp, [B, F]), undefined, { staticInput: true, steps: T })).toThrow(/but it got \[6,5,9\]/);
  });

  test('the 2-d input hint names staticInput', () => {
    const net = mlp();
    expect(() => net.forward(tensor(xMlp, [B, F]), [0, 1])).toThrow(/staticInput: true, steps: T/);
  });

  test('withNeuronContext checks a staticInput setting', () => {
    expect(() => withNeuronContext({ staticInput: { steps: 0, repeated: false } }, () => 0)).toThrow(/staticInput must be \{ steps, repeated \}/);
  });
});
