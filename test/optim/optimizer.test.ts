// The Optimizer base: parameter groups, zeroGrad, skipping parameters without gradients, stateDict /
// loadStateDict (resume = uninterrupted), validation of parameters, memory (state survives tidy()).
import { tensor } from '../../lib/creation';
import { tidy } from '../../lib/memory';
import { Parameter } from '../../lib/nn/parameter';
import { Tensor } from '../../lib/tensor';
import { Adam, AdamW, Optimizer, OptimizerStateDict, SGD } from '../../lib/optim';
import '../../lib/ops/methods';

const values = (t: Tensor) => Array.from(t.toFloat32Array());
const param = (v: number[], shape = [v.length]) => tensor(v, shape, { requiresGrad: true });
const setGrad = (p: Tensor, g: number[]) => (p.grad = tensor(g, p.shape.slice()));

describe('parameter groups', () => {
  test('each group uses its own lr; options a group leaves out come from the defaults', () => {
    const w = param([1, 1]);
    const alpha = param([1]);
    const opt = new SGD([{ params: [w] }, { params: [alpha], lr: 0.01, momentum: 0.5 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum, g.dampening])).toEqual([[0.1, 0, 0], [0.01, 0.5, 0]]);
    setGrad(w, [1, -2]);
    setGrad(alpha, [1]);
    opt.step();
    expect(values(w)).toEqual([Math.fround(1 - 0.1), Math.fround(1 + 0.2)]);
    expect(values(alpha)).toEqual([Math.fround(1 - 0.01)]);
    opt.step();  // the second group has momentum: buf = 0.5 * 1 + 1 = 1.5
    expect(values(alpha)[0]).toBeCloseTo(0.99 - 0.015, 6);
  });

  test('addParamGroup adds a group later; a group may pass a single Tensor', () => {
    const a = param([1]);
    const b = param([2]);
    const opt = new Adam([a], { lr: 0.1 });
    opt.addParamGroup({ params: b, lr: 0.5, betas: [0.5, 0.9] });
    expect(opt.paramGroups).toHaveLength(2);
    expect(opt.paramGroups[1].params).toEqual([b]);
    expect(opt.paramGroups[1].betas).toEqual([0.5, 0.9]);
    expect(opt.paramGroups[1].eps).toBe(1e-8);
    setGrad(a, [1]);
    setGrad(b, [1]);
    opt.step();
    // The first Adam step moves each parameter by about lr (m / sqrt(v) = 1 after bias correction).
    expect(values(a)[0]).toBeCloseTo(0.9, 5);
    expect(values(b)[0]).toBeCloseTo(1.5, 5);
  });

  test('groups never share option arrays (betas) with the defaults or each other', () => {
    const opt = new Adam([{ params: [param([1])] }, { params: [param([1])] }]);
    opt.paramGroups[0].betas[0] = 0.5;
    expect(opt.paramGroups[1].betas[0]).toBe(0.9);
    expect(opt.defaults.betas[0]).toBe(0.9);
  });

  test('a parameter may appear only once', () => {
    const a = param([1]);
    expect(() => new SGD([a, a], { lr: 0.1 })).toThrow(/params\[1\] \[1\] on (?:cpu|cuda) appears twice in the group; list each parameter once/);
    const opt = new SGD([a], { lr: 0.1 });
    expect(() => opt.addParamGroup({ params: [param([2]), a] })).toThrow(/is already in group 0; each parameter may appear in only one group/);
    expect(opt.paramGroups).toHaveLength(1);
  });

  test('parameters must be float32 leaf Tensors that require grad', () => {
    expect(() => new SGD([tensor([1], [1])])).toThrow(/does not require grad; create it with \{ requiresGrad: true \}/);
    const leaf = param([1, 2]);
    const computed = leaf.mul(2);
    expect(() => new SGD([computed])).toThrow(/is not a leaf tensor/);
    expect(() => new SGD([1 as unknown as Tensor])).toThrow(/params\[0\] is not a Tensor \(got number\); an optimizer can only optimize Tensors/);
    expect(() => new SGD(leaf as unknown as Tensor[])).toThrow(/got a single Tensor \[2\] on (?:cpu|cuda); wrap it in an array: \[param\]/);
    expect(() => new SGD([])).toThrow(/empty parameter list/);
    expect(() => new SGD([{ params: [] }])).toThrow(/the group has no parameters/);
    expect(() => new SGD(null as unknown as Tensor[])).toThrow(/params must be an iterable of Tensors/);
    expect(() => new SGD([leaf, { params: [param([1])] }] as unknown as Tensor[])).toThrow(/mixes Tensors and parameter groups/);
  });

  test('accepts any iterable of tensors and Parameters', () => {
    const p = new Parameter(tensor([1, 2], [2]));
    function* gen() {
      yield p;
    }
    const opt = new SGD(gen(), { lr: 1 });
    setGrad(p, [1, 1]);
    opt.step();
    expect(values(p)).toEqual([0, 1]);
  });
});

describe('zeroGrad and step', () => {
  test('zeroGrad() disposes the gradients and sets them to null (set-to-none); zeroGrad(false) zeroes them', () => {
    const a = param([1, 2]);
    const b = param([3]);
    const opt = new SGD([a, b], { lr: 0.1 });
    const ga = setGrad(a, [1, 1]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
    expect(ga.isDisposed).toBe(true);
    const gb = setGrad(b, [5]);
    opt.zeroGrad(false);
    expect(b.grad).toBe(gb);
    expect(values(gb)).toEqual([0]);
  });

  test('parameters whose grad is null are skipped (no update, no state)', () => {
    const a = param([1, 2]);
    const b = param([3]);
    const opt = new Adam([a, b], { lr: 0.1 });
    setGrad(a, [1, 1]);
    opt.step();
    opt.step();
    expect(values(b)).toEqual([3]);
    expect(opt.state.has(b)).toBe(false);
    expect(opt.state.get(a)!.step).toBe(2);
    setGrad(b, [1]);
    opt.step();
    expect(opt.state.get(b)!.step).toBe(1);  // b's own count: its bias correction starts at step 1
    expect(values(b)[0]).toBeCloseTo(2.9, 5);
  });

  test('backward() then step() then zeroGrad() trains through autograd', () => {
    const w = param([3]);
    const opt = new SGD([w], { lr: 0.25 });
    tidy(() => {
      w.mul(w).sum().backward();  // d/dw w^2 = 2w = 6
      opt.step();
    });
    expect(values(w)).toEqual([1.5]);
    expect(w.grad).not.toBeNull();
    opt.zeroGrad();
    expect(w.grad).toBeNull();
  });

  test('step(closure) evaluates the closure first and returns its result', () => {
    const w = param([2]);
    const opt = new SGD([w], { lr: 0.5 });
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = tidy(() => {
        const out = w.mul(w).sum();
        out.backward();
        return out.item();
      });
      return l;
    });
    expect(loss).toBe(4);
    expect(values(w)).toEqual([0]);
  });

  test('the state made inside a tidy() survives it', () => {
    const w = param([1, 1]);
    const opt = new AdamW([w], { lr: 0.1 });
    tidy(() => {
      setGrad(w, [1, 1]);
      opt.step();
    });
    const st = opt.state.get(w)!;
    expect(st.buffers.expAvg.isDisposed).toBe(false);
    expect(st.buffers.expAvgSq.isDisposed).toBe(false);
    setGrad(w, [1, 1]);
    expect(() => opt.step()).not.toThrow();
  });

  test('an lr made invalid between steps is refused at the next step, and a disposed gradient has a clear error', () => {
    const w = param([1]);
    const opt = new SGD([w], { lr: 0.1 });
    setGrad(w, [1]);
    opt.paramGroups[0].lr = -1;
    expect(() => opt.step()).toThrow(/SGD.step \(group 0\): invalid learning rate -1/);
    opt.paramGroups[0].lr = 0.1;
    w.grad!.dispose();
    expect(() => opt.step()).toThrow(/the gradient of parameter 0 in group 0 \(\[1\] on (?:cpu|cuda)\) was disposed; clear gradients with zeroGrad\(\)/);
  });

  test('dispose() frees the state; the next step starts afresh', () => {
    const w = param([1]);
    const opt = new Adam([w]);
    setGrad(w, [1]);
    opt.step();
    const m = opt.state.get(w)!.buffers.expAvg;
    opt.dispose();
    expect(m.isDisposed).toBe(true);
    expect(opt.state.size).toBe(0);
    opt.step();
    expect(opt.state.get(w)!.step).toBe(1);
  });
});

describe('stateDict / loadStateDict', () => {
  /** Two groups, parameters of several shapes (one without a gradient at first), gradients from a fixed formula. */
  function setup(make: (ps: Tensor[][]) => Optimizer<{ lr: number }>, init?: number[][]) {
    const data = init ?? [[0.5, -1, 2, 0.25, -0.75, 1.5], [1, -2], [0.3]];
    const ps = [tensor(data[0], [2, 3], { requiresGrad: true }), tensor(data[1], [2], { requiresGrad: true }), tensor(data[2], [], { requiresGrad: true })];
    const opt = make([[ps[0], ps[1]], [ps[2]]]);
    return { ps, opt };
  }
  const gradsAt = (t: number, p: Tensor, k: number) =>
    Array.from(p.toFloat32Array(), (x, i) => Math.sin(1.3 * t + 0.7 * i + k) + 0.5 * x);
  function train(ps: Tensor[], opt: Optimizer<{ lr: number }>, from: number, to: number) {
    for (let t = from; t < to; t++) {
      opt.zeroGrad();
      ps.forEach((p, k) => {
        if (k === 2 && t < 1) return;  // the scalar gets no gradient on the first step
        setGrad(p, gradsAt(t, p, k));
      });
      opt.step();
    }
  }

  const makers: [string, (g: Tensor[][]) => Optimizer<{ lr: number }>][] = [
    ['SGD nesterov + weight decay', (g) => new SGD([{ params: g[0] }, { params: g[1], lr: 0.02, dampening: 0 }], { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1 })],
    ['Adam amsgrad', (g) => new Adam([{ params: g[0] }, { params: g[1], lr: 0.01, betas: [0.5, 0.6] }], { lr: 0.05, amsgrad: true, weightDecay: 0.1 })],
    ['AdamW', (g) => new AdamW([{ params: g[0] }, { params: g[1], lr: 0.01 }], { lr: 0.05, maximize: true })],
  ];

  test.each(makers)('%s: 3 steps, save, load into a fresh optimizer over cloned params, 2 steps = 5 uninterrupted steps', (_name, make) => {
    const straight = setup(make);
    train(straight.ps, straight.opt, 0, 5);

    const first = setup(make);
    train(first.ps, first.opt, 0, 3);
    const sd = first.opt.stateDict();
    const clones = first.ps.map((p) => Array.from(p.toFloat32Array()));
    const resumed = setup(make, clones);
    // A fresh optimizer with other options: loading restores the saved ones.
    resumed.opt.paramGroups[0].lr = 123;
    resumed.opt.loadStateDict(sd);
    expect(resumed.opt.paramGroups[0].lr).toBe(first.opt.paramGroups[0].lr);
    train(resumed.ps, resumed.opt, 3, 5);

    resumed.ps.forEach((p, k) => expect(values(p)).toEqual(values(straight.ps[k])));
    expect(JSON.stringify(resumed.opt.stateDict())).toBe(JSON.stringify(straight.opt.stateDict()));
  });

  test('the state dict is plain data (Float32Arrays, numbers, index arrays) and survives JSON with number[] state', () => {
    const { ps, opt } = setup(makers[1][1]);
    train(ps, opt, 0, 2);
    const sd = opt.stateDict();
    expect(sd.paramGroups.map((g) => g.params)).toEqual([[0, 1], [2]]);
    expect(Object.keys(sd.state).sort()).toEqual(['0', '1', '2']);
    expect(sd.state[0].step).toBe(2);
    expect(sd.state[2].step).toBe(1);
    expect(sd.state[0].expAvg).toBeInstanceOf(Float32Array);
    expect((sd.state[0].expAvg as Float32Array).length).toBe(6);

    const json = JSON.stringify(sd, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v));
    const other = setup(makers[1][1], ps.map((p) => Array.from(p.toFloat32Array())));
    other.opt.loadStateDict(JSON.parse(json) as OptimizerStateDict);
    train(ps, opt, 2, 4);
    train(other.ps, other.opt, 2, 4);
    other.ps.forEach((p, k) => expect(values(p)).toEqual(values(ps[k])));
  });

  test('the state dict does not alias the optimizer', () => {
    const { ps, opt } = setup(makers[1][1]);
    train(ps, opt, 0, 1);
    const sd = opt.stateDict();
    (sd.paramGroups[0].betas as number[])[0] = 0.1;
    (sd.state[0].expAvg as Float32Array)[0] = 99;
    expect((opt.paramGroups[0].betas as number[])[0]).toBe(0.9);
    expect((opt.stateDict().state[0].expAvg as Float32Array)[0]).not.toBe(99);
    // Nor does the loaded optimizer alias the dict it loaded.
    const other = setup(makers[1][1]);
    other.opt.loadStateDict(sd);
    (sd.paramGroups[0].betas as number[])[1] = 0.2;
    expect(other.opt.paramGroups[0].betas as number[]).toEqual([0.1, 0.999]);
  });

  test('loadStateDict checks the dict and changes nothing when it is refused', () => {
    const make = makers[1][1];
    const { ps, opt } = setup(make);
    train(ps, opt, 0, 2);
    const sd = opt.stateDict();
    const target = setup(make);
    train(target.ps, target.opt, 0, 1);
    const before = JSON.stringify(target.opt.stateDict());
    const copy = (): OptimizerStateDict => ({
      state: Object.fromEntries(Object.entries(sd.state).map(([k, v]) => [k, { ...v }])),
      paramGroups: sd.paramGroups.map((g) => ({ ...g, params: g.params.slice() })),
    });
    const refuse = (bad: OptimizerStateDict | unknown, msg: RegExp) => {
      expect(() => target.opt.loadStateDict(bad as OptimizerStateDict)).toThrow(msg);
      expect(JSON.stringify(target.opt.stateDict())).toBe(before);
    };

    refuse(null, /expected \{ state, paramGroups \} as returned by stateDict\(\)/);
    refuse({ ...copy(), paramGroups: copy().paramGroups.slice(0, 1) },
      /the state dict has 1 parameter group\(s\) but this optimizer has 2; create the optimizer with the same groups/);
    const fewer = copy();
    fewer.paramGroups[0].params = [0];
    refuse(fewer, /parameter group 0 has 1 parameter\(s\) in the state dict but 2 here/);
    const shape = copy();
    shape.state[1] = { ...shape.state[1], expAvg: new Float32Array(3) };
    refuse(shape, /'expAvg' in the state of parameter 1 \(\[2\] on (?:cpu|cuda)\) has 3 values but the parameter has 2; the state dict was saved for parameters of other shapes/);
    const missing = copy();
    delete missing.state[0].expAvgSq;
    refuse(missing, /the state of parameter 0 \(\[2,3\] on (?:cpu|cuda)\) lacks 'expAvgSq'/);
    const step = copy();
    step.state[0].step = -1;
    refuse(step, /has step -1; it must be an integer >= 0/);
    const stray = copy();
    stray.state[7] = stray.state[0];
    refuse(stray, /the state has an entry for parameter 7, but paramGroups lists no parameter 7/);
    const dup = copy();
    dup.paramGroups[1].params = [0];
    refuse(dup, /parameter index 0 appears more than once/);
    const badOpt = copy();
    badOpt.paramGroups[1].betas = [1.5, 0.9];
    refuse(badOpt, /Adam.loadStateDict \(group 1\): invalid beta parameter at index 0: 1.5/);
    const wrongType = copy();
    wrongType.state[0] = { ...wrongType.state[0], expAvg: 'x' as unknown as number[] };
    refuse(wrongType, /'expAvg' in the state of parameter 0 .* must be a Float32Array or a number\[\]/);

    // A state dict of another kind of optimizer.
    const sgd = setup(makers[0][1]);
    train(sgd.ps, sgd.opt, 0, 1);
    refuse(sgd.opt.stateDict(), /the state of parameter 0 \(\[2,3\] on (?:cpu|cuda)\) has an unknown entry 'momentumBuffer'; a Adam state holds expAvg, expAvgSq, maxExpAvgSq, step \(was it saved by another optimizer\?\)/);
    expect(() => sgd.opt.loadStateDict(sd)).toThrow(/SGD.loadStateDict: the state of parameter 0 .* has an unknown entry 'step'/);
  });

  test('loading frees the state tensors it replaces', () => {
    const { ps, opt } = setup(makers[1][1]);
    train(ps, opt, 0, 1);
    const old = opt.state.get(ps[0])!.buffers.expAvg;
    opt.loadStateDict(opt.stateDict());
    expect(old.isDisposed).toBe(true);
    expect(opt.state.get(ps[0])!.buffers.expAvg.isDisposed).toBe(false);
  });
});
