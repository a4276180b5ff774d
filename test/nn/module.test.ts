// nn.Module: registration from class fields in declaration order, dotted names, children, train/eval,
// to(device), zeroGrad and state dicts (strict loading that names every mismatch).
import { nn, tensor, full, manualSeed, cuda, Tensor } from '../../lib';
import { Adam } from '../../lib/optim';
import { testDevice } from '../helpers/device';

const { Module, Parameter, Linear, Identity, Dropout, BatchNorm1d, Sequential } = nn;

class Block extends Module {
  inner = new Linear(2, 3);
  gain = new Parameter(full([3], 1.5));
  forward(x: Tensor): Tensor {
    return this.inner.forward(x).mul(this.gain);
  }
}

class Net extends Module {
  fc1 = new Linear(4, 2);
  act = new Identity();
  block = new Block();
  count = 3; // plain fields are not registered
  notes: number[] = [1, 2];
  plain = tensor([1, 2, 3]); // a plain Tensor is not a parameter
  drop = new Dropout(0.5);
  fc2 = new Linear(3, 1, { bias: false });
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.drop.forward(this.block.forward(this.act.forward(this.fc1.forward(x)))));
  }
}

const values = (t: Tensor) => Array.from(t.toFloat32Array());

beforeAll(() => manualSeed(1));

describe('registration from class fields', () => {
  test('namedParameters: dotted PyTorch-style names in declaration order, each parameter once', () => {
    const net = new Net();
    expect(net.namedParameters().map(([k]) => k)).toEqual([
      'fc1.weight', 'fc1.bias', 'block.gain', 'block.inner.weight', 'block.inner.bias', 'fc2.weight',
    ]);
    const params = net.parameters();
    expect(params).toHaveLength(6);
    expect(params[0]).toBe(net.fc1.weight);
    expect(params[2]).toBe(net.block.gain);
    expect(params[5]).toBe(net.fc2.weight);
    for (const p of params) expect(p.requiresGrad).toBe(true);
  });

  test('a module own Parameter field comes before its children (as in PyTorch)', () => {
    const b = new Block();
    expect(b.namedParameters().map(([k]) => k)).toEqual(['gain', 'inner.weight', 'inner.bias']);
  });

  test('children()/namedChildren() list direct child modules in declaration order', () => {
    const net = new Net();
    expect(net.namedChildren().map(([k]) => k)).toEqual(['fc1', 'act', 'block', 'drop', 'fc2']);
    expect(net.children()).toEqual([net.fc1, net.act, net.block, net.drop, net.fc2]);
    expect(net.namedModules().map(([k]) => k)).toEqual(['', 'fc1', 'act', 'block', 'block.inner', 'drop', 'fc2']);
  });

  test('a parameter shared by two modules appears once', () => {
    class Tied extends Module {
      a = new Linear(3, 3);
      b = new Linear(3, 3);
      constructor() {
        super();
        this.b.weight = this.a.weight;
      }
      forward(x: Tensor): Tensor {
        return this.b.forward(this.a.forward(x));
      }
    }
    const m = new Tied();
    expect(m.namedParameters().map(([k]) => k)).toEqual(['a.weight', 'a.bias', 'b.bias']);
  });

  test('registerParameter / registerBuffer / registerModule add named entries', () => {
    class M extends Module {
      lin = new Linear(2, 2);
      constructor() {
        super();
        this.registerParameter('extra', new Parameter(full([2], 0)));
        this.registerBuffer('stat', full([2], 5));
        this.registerModule('sub', new Linear(2, 1));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new M();
    expect(m.namedParameters().map(([k]) => k)).toEqual(['extra', 'lin.weight', 'lin.bias', 'sub.weight', 'sub.bias']);
    expect(Object.keys(m.stateDict())).toEqual(['extra', 'lin.weight', 'lin.bias', 'sub.weight', 'sub.bias', 'stat']);
    expect(m.namedChildren().map(([k]) => k)).toEqual(['lin', 'sub']);
    // buffers are state but not parameters
    expect(m.parameters()).not.toContain(m.stateDict().stat);
  });
});

describe('train/eval, zeroGrad, to', () => {
  test('train()/eval() reach every descendant and change behaviour (Dropout)', () => {
    const net = new Net();
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    const x = full([2, 8, 3], 1);
    expect(values(net.drop.forward(x))).toEqual(values(x)); // eval: identity
    net.train();
    expect(net.block.inner.training).toBe(true);
    const y = values(net.drop.forward(x));
    expect(y.some((v) => v === 0)).toBe(true);
    expect(y.every((v) => v === 0 || v === 2)).toBe(true);
    net.train(false);
    expect(net.drop.training).toBe(false);
  });

  test('zeroGrad clears every parameter gradient', () => {
    const net = new Net().eval();
    const out = net.forward(tensor([1, 2, 3, 4, 0.5, 0.5, 0.5, 0.5], [2, 4]));
    out.sum().backward();
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
  });

  test("to('cpu') keeps the values; an unknown device is an error", () => {
    const net = new Net();
    const before = values(net.fc1.weight);
    expect(net.to('cpu')).toBe(net);
    expect(values(net.fc1.weight)).toEqual(before);
    expect(net.fc1.weight.device).toBe('cpu');
    expect(() => net.to('tpu' as 'cpu')).toThrow(/unknown device 'tpu'/);
  });

  const gpu = cuda.isAvailable() ? test : test.skip;
  // eslint-disable-next-line no-console
  if (!cuda.isAvailable()) console.log(`SKIPPED: the to('cuda') test: ${cuda.unavailableReason()}`);
  gpu("to('cuda') moves every parameter and buffer (and back)", () => {
    const m = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
    const w = values((m.at(0) as InstanceType<typeof Linear>).weight);
    m.to('cuda');
    for (const t of Object.values(m.stateDict())) expect(t.device).toBe('cuda');
    m.to('cpu');
    for (const t of Object.values(m.stateDict())) expect(t.device).toBe('cpu');
    expect(values((m.at(0) as InstanceType<typeof Linear>).weight)).toEqual(w);
  });
});

describe('to(): in place, as PyTorch (the Parameter and buffer objects keep their identity)', () => {
  // Where a CUDA device exists the move crosses devices (cpu -> cuda, or cuda -> cpu when the suite runs on
  // cuda); without one, to('cpu') still has to keep every object.
  const home = testDevice;
  const away: 'cpu' | 'cuda' = cuda.isAvailable() ? (home === 'cuda' ? 'cpu' : 'cuda') : 'cpu';
  if (!cuda.isAvailable()) console.log(`SKIPPED: the cross-device part of the in-place to() tests: ${cuda.unavailableReason()}`);

  function model() {
    manualSeed(7);
    return new Sequential(new Linear(3, 4), new BatchNorm1d(4), new Linear(4, 2)).to(home);
  }
  const trainStep = (m: InstanceType<typeof Sequential>, opt: InstanceType<typeof Adam>, device: 'cpu' | 'cuda') => {
    opt.zeroGrad();
    const x = tensor(Array.from({ length: 15 }, (_, i) => Math.sin(i)), [5, 3], { device });
    (m.forward(x) as Tensor).square().sum().backward();
    opt.step();
  };
  const entries = (m: InstanceType<typeof Module>) => Object.entries(m.stateDict());

  test(`an Adam built before to('${away}') keeps training the same Parameter objects; buffers keep theirs`, () => {
    const m = model();
    const opt = new Adam(m.parameters(), { lr: 0.05 });
    const before = entries(m).map(([k, t]) => [k, t, values(t)] as const);
    expect(m.to(away)).toBe(m);
    entries(m).forEach(([k, t], i) => {
      expect(k).toBe(before[i][0]);
      expect(t).toBe(before[i][1]);  // the same object ...
      expect(t.device).toBe(away);  // ... on the new device ...
      expect(values(t)).toEqual(before[i][2]);  // ... with the same values
    });
    trainStep(m, opt, away);
    const changed = entries(m).filter(([, t], i) => values(t).join() !== before[i][2].join()).map(([k]) => k);
    // every parameter trained; BatchNorm's running statistics were updated in their (moved) buffers
    expect(changed.sort()).toEqual(['0.bias', '0.weight', '1.bias', '1.runningMean', '1.runningVar', '1.weight', '2.bias', '2.weight']);
    m.to(home);
    entries(m).forEach(([, t], i) => {
      expect(t).toBe(before[i][1]);
      expect(t.device).toBe(home);
    });
  });

  test('gradients move along, in place', () => {
    const m = model();
    (m.forward(tensor([1, 2, 3, 4, 5, 6], [2, 3], { device: home })) as Tensor).sum().backward();
    const grads = m.parameters().map((p) => p.grad!);
    const gradValues = grads.map(values);
    m.to(away);
    m.parameters().forEach((p, i) => {
      expect(p.grad).toBe(grads[i]);
      expect(p.grad!.device).toBe(away);
      expect(values(p.grad!)).toEqual(gradValues[i]);
    });
  });

  test('a parameter shared by two modules is moved once and stays shared', () => {
    const shared = new Parameter(full([2], 3, { device: home }));
    class A extends Module {
      p = shared;
      forward(): null {
        return null;
      }
    }
    const m = new Sequential(new A(), new A());
    m.to(away);
    expect((m.at(0) as InstanceType<typeof A>).p).toBe(shared);
    expect((m.at(1) as InstanceType<typeof A>).p).toBe(shared);
    expect(shared.device).toBe(away);
    expect(values(shared)).toEqual([3, 3]);
  });
});

describe('stateDict / loadStateDict', () => {
  test('stateDict holds parameters and buffers by dotted name, as the live tensors', () => {
    const m = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
    const sd = m.stateDict();
    expect(Object.keys(sd)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.runningMean', '1.runningVar']);
    expect(sd['0.weight']).toBe((m.at(0) as InstanceType<typeof Linear>).weight);
    expect(sd['0.weight'].shape).toEqual([2, 3]);
    expect(values(sd['1.runningVar'])).toEqual([1, 1]);
  });

  test('loads Tensors and Float32Arrays in place (the parameter objects stay the same)', () => {
    const a = new Net();
    const b = new Net();
    const w = b.fc1.weight;
    const sd = a.stateDict();
    const dict: Record<string, Tensor | Float32Array> = { ...sd };
    dict['block.gain'] = new Float32Array([7, 8, 9]);
    const r = b.loadStateDict(dict);
    expect(r).toEqual({ missing: [], unexpected: [] });
    expect(b.fc1.weight).toBe(w);
    for (const [k, t] of Object.entries(b.stateDict())) {
      if (k === 'block.gain') expect(values(t)).toEqual([7, 8, 9]);
      else expect(values(t)).toEqual(values(sd[k]));
    }
    // a copy, not an alias: changing the source later does not change the loaded module
    a.fc1.weight.assign(new Float32Array(8).fill(42));
    expect(values(b.fc1.weight)).not.toEqual(values(a.fc1.weight));
  });

  test('strict (default): every missing and unexpected key is named, and nothing is loaded', () => {
    const m = new Net();
    const before = values(m.fc1.weight);
    const dict: Record<string, Tensor> = { ...new Net().stateDict() };
    delete dict['fc1.bias'];
    delete dict['block.inner.weight'];
    dict['fc3.weight'] = full([1], 0);
    let msg = '';
    try {
      m.loadStateDict(dict);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/3 problem/);
    expect(msg).toContain("missing key 'fc1.bias'");
    expect(msg).toContain("missing key 'block.inner.weight'");
    expect(msg).toContain("unexpected key 'fc3.weight'");
    expect(msg).toMatch(/strict: false/);
    expect(values(m.fc1.weight)).toEqual(before);
  });

  test('shape mismatches are all named, with both shapes, even with strict: false', () => {
    const m = new Net();
    const dict: Record<string, Tensor | Float32Array> = { ...new Net().stateDict() };
    dict['fc1.weight'] = full([4, 2], 0);
    dict['fc2.weight'] = new Float32Array(5);
    for (const strict of [true, false]) {
      let msg = '';
      try {
        m.loadStateDict(dict, { strict });
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(/2 problem/);
      expect(msg).toContain("'fc1.weight': shape [4,2] does not match the module's [2,4]");
      expect(msg).toContain("'fc2.weight': 5 values for shape [1,3]");
    }
  });

  test('a value that is neither a Tensor nor a Float32Array is an error', () => {
    const m = new Linear(2, 2);
    expect(() => m.loadStateDict({ weight: [1, 2, 3, 4] as unknown as Float32Array, bias: full([2], 0) })).toThrow(/'weight': expected a Tensor or a Float32Array/);
  });

  test('strict: false loads the matching keys and reports the rest', () => {
    const m = new Net();
    const r = m.loadStateDict({ 'fc1.bias': new Float32Array([3, 4]), 'other.weight': full([2], 1) }, { strict: false });
    expect(values(m.fc1.bias!)).toEqual([3, 4]);
    expect(r.unexpected).toEqual(['other.weight']);
    expect(r.missing).toContain('fc1.weight');
    expect(r.missing).not.toContain('fc1.bias');
    expect(r.missing).toHaveLength(5);
  });

  test('buffers are loaded too', () => {
    const m = new BatchNorm1d(3);
    m.loadStateDict({ weight: full([3], 1), bias: full([3], 0), runningMean: new Float32Array([1, 2, 3]), runningVar: new Float32Array([4, 5, 6]) });
    expect(values(m.stateDict().runningMean)).toEqual([1, 2, 3]);
    expect(values(m.stateDict().runningVar)).toEqual([4, 5, 6]);
  });
});
