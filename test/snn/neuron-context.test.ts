// withNeuronContext / currentNeuronContext: scoped per-call settings of neuron layers (like noGrad): nesting
// merges the fields given over the enclosing ones, the previous settings come back after a return or a
// throw, bad settings are refused on entry, and the settings reach a neuron exactly as a wrapper's do.
import { nn, tensor, LIFNeuron, IFNeuron, SNNWrapper, Tensor, withNeuronContext, currentNeuronContext } from '../../lib';
import type { BaseNeuron } from '../../lib';
import { randomData } from '../helpers/gradcheck';

const values = (t: Tensor) => Array.from(t.toFloat32Array());
const T = 10, B = 2, F = 3;
const I = randomData(T * B * F, 9, -0.5, 3);
const x = () => tensor(I, [T, B, F]);

describe('the scope stack', () => {
  test('outside every scope there are no settings', () => {
    expect(currentNeuronContext()).toBeNull();
  });

  test('scopes nest: inner fields win, the others are inherited, and each exit restores the previous settings', () => {
    const seen: unknown[] = [];
    const result = withNeuronContext({ method: 'gl', h: 0.5, memory: 4 }, () => {
      seen.push({ ...currentNeuronContext() });
      withNeuronContext({ memory: 2, recordTrace: true }, () => {
        seen.push({ ...currentNeuronContext() });
        withNeuronContext({ method: 'l1', memory: undefined }, () => seen.push({ ...currentNeuronContext() }));
        seen.push({ ...currentNeuronContext() });
      });
      seen.push({ ...currentNeuronContext() });
      return 42;
    });
    expect(result).toBe(42);
    expect(seen).toEqual([
      { method: 'gl', h: 0.5, memory: 4 },
      { method: 'gl', h: 0.5, memory: 2, recordTrace: true },
      { method: 'l1', h: 0.5, memory: 2, recordTrace: true },  // undefined keeps the enclosing value
      { method: 'gl', h: 0.5, memory: 2, recordTrace: true },
      { method: 'gl', h: 0.5, memory: 4 },
    ]);
    expect(currentNeuronContext()).toBeNull();
  });

  test('an exception at any depth restores every level', () => {
    const boom = new Error('boom');
    withNeuronContext({ method: 'gl' }, () => {
      expect(() => withNeuronContext({ h: 2 }, () => withNeuronContext({ memory: 3 }, () => {
        throw boom;
      }))).toThrow(boom);
      expect(currentNeuronContext()).toEqual({ method: 'gl' });
    });
    expect(currentNeuronContext()).toBeNull();
  });

  test('the settings in force are frozen: they change only by opening a scope', () => {
    withNeuronContext({ h: 2 }, () => {
      const ctx = currentNeuronContext() as { h?: number };
      expect(() => {
        'use strict';
        ctx.h = 3;
      }).toThrow(TypeError);
      expect(currentNeuronContext()!.h).toBe(2);
    });
  });

  test('bad settings are refused on entry, naming the setting and the fix; nothing is left open', () => {
    const fn = jest.fn();
    expect(() => withNeuronContext({ method: 'rk4' as 'l1' }, fn)).toThrow(/withNeuronContext: method 'rk4' is unknown; use 'l1', 'gl', 'pred', 'trap', 'euler'/);
    expect(() => withNeuronContext({ h: 0 }, fn)).toThrow(/withNeuronContext: h = 0 must be a finite number > 0/);
    expect(() => withNeuronContext({ h: NaN }, fn)).toThrow(/h = NaN/);
    expect(() => withNeuronContext({ memory: 0 }, fn)).toThrow(/withNeuronContext: memory window 0 must be an integer >= 1/);
    expect(() => withNeuronContext(null as unknown as {}, fn)).toThrow(/ctx must be an object/);
    expect(() => withNeuronContext({}, 5 as unknown as () => void)).toThrow(/fn must be a function/);
    expect(fn).not.toHaveBeenCalled();
    expect(currentNeuronContext()).toBeNull();
  });

  test('an async fn is an error (the scope would end at its first await)', async () => {
    let p: Promise<number> | undefined;
    expect(() => withNeuronContext({ h: 2 }, () => (p = Promise.resolve(1)))).toThrow(/fn returned a Promise/);
    await p;
    expect(currentNeuronContext()).toBeNull();
  });
});

describe('the settings reach the neurons', () => {
  test('method, h, memory and recordTrace of a scope act as the same wrapper forward options', () => {
    const inWrapper = new LIFNeuron();
    const net = new SNNWrapper(new nn.Sequential(inWrapper), { alpha: 0.35 });
    const xTime = Array.from({ length: T }, (_, k) => k * 0.5);
    const wrapped = values(net.forward(x(), xTime, { method: 'gl', memory: 3, recordTraces: true }));
    const wrappedTrace = values(inWrapper.lastTrace!);
    const alone = new LIFNeuron({ alpha: 0.35 });
    const trace = (ctx: object) => {
      withNeuronContext({ ...ctx, recordTrace: true }, () => alone.forward(x()));
      return values(alone.lastTrace!);
    };
    expect(values(withNeuronContext({ method: 'gl', h: 0.5, memory: 3, recordTrace: true }, () => alone.forward(x())))).toEqual(wrapped);
    expect(values(alone.lastTrace!)).toEqual(wrappedTrace);
    // each setting matters (so the equality above can fail)
    for (const ctx of [{ method: 'l1', h: 0.5, memory: 3 }, { method: 'gl', h: 1, memory: 3 }, { method: 'gl', h: 0.5 }])
      expect(trace(ctx)).not.toEqual(wrappedTrace);
    withNeuronContext({ method: 'gl', h: 0.5, memory: 3 }, () => alone.forward(x()));
    expect(alone.lastTrace).toBeNull();
  });

  test("a scope opened inside a wrapper's forward overrides one setting and keeps the wrapper's others (and its order check)", () => {
    class Windowed extends nn.Module {
      fc = new nn.Linear(F, F);
      lif = new LIFNeuron();
      forward(input: Tensor): Tensor {
        return withNeuronContext({ memory: 2 }, () => this.lif.forward(this.fc.forward(input)));
      }
    }
    const plain = new nn.Sequential(new nn.Linear(F, F), new LIFNeuron());
    const windowed = new Windowed();
    (plain.at(0) as nn.Linear).weight.assign(windowed.fc.weight.toFloat32Array());
    (plain.at(0) as nn.Linear).bias!.assign(windowed.fc.bias!.toFloat32Array());
    const a = new SNNWrapper(windowed, { alpha: 0.4 }), b = new SNNWrapper(plain, { alpha: 0.4 });
    const xTime = Array.from({ length: T }, (_, k) => k * 0.25);
    expect(values(a.forward(x(), xTime, { method: 'gl' }))).toEqual(values(b.forward(x(), xTime, { method: 'gl', memory: 2 })));
    expect(values(a.forward(x(), xTime, { method: 'gl' }))).not.toEqual(values(b.forward(x(), xTime, { method: 'gl' })));
  });

  test('a scope with a calls list records the neurons that run, in order', () => {
    const l = new LIFNeuron({ alpha: 0.5 }), f = new IFNeuron({ alpha: 0.5 });
    const calls: BaseNeuron[] = [];
    withNeuronContext({ calls }, () => {
      f.forward(x());
      l.forward(x());
      f.forward(x());
    });
    expect(calls).toEqual([f, l, f]);
  });

  test("the wrapper's order check sees a neuron that is not among its layers", () => {
    class Sneaky extends nn.Module {
      lif = new LIFNeuron();
      private _hidden = new IFNeuron({ alpha: 0.5 });
      forward(input: Tensor): Tensor {
        return this._hidden.forward(this.lif.forward(input));
      }
    }
    const net = new SNNWrapper(new Sneaky(), { alpha: 0.5 });
    expect(() => net.forward(x())).toThrow(/called: {3}lif, \(IFNeuron, not one of the wrapper's layers\)/);
  });
});
