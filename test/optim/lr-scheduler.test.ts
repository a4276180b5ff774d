// StepLR and CosineAnnealingLR against their closed forms (PyTorch's semantics), resuming, and errors.
import { tensor } from '../../lib/creation';
import { Tensor } from '../../lib/tensor';
import { Adam, CosineAnnealingLR, LRSchedulerStateDict, Optimizer, SGD, StepLR } from '../../lib/optim';

const param = () => tensor([1], [1], { requiresGrad: true });
/** An optimizer with two groups of different lr (0.1 and 0.03). */
const twoGroups = (): Optimizer<{ lr: number }> => new SGD([{ params: [param()] }, { params: [param()], lr: 0.03 }], { lr: 0.1, momentum: 0.9 });
const lrs = (o: Optimizer<{ lr: number }>) => o.paramGroups.map((g) => g.lr);

function expectLrs(actual: number[], expected: number[], what: string): void {
  actual.forEach((a, i) => {
    if (!(Math.abs(a - expected[i]) <= 1e-12 * Math.max(1e-3, Math.abs(expected[i]))))
      throw new Error(`${what}, group ${i}: lr ${a} != ${expected[i]}`);
  });
}

describe('StepLR', () => {
  test('lr = baseLr * gamma^floor(epoch / stepSize) per group, for 12 epochs', () => {
    const opt = twoGroups();
    const sched = new StepLR(opt, { stepSize: 3, gamma: 0.5 });
    for (let epoch = 0; epoch < 12; epoch++) {
      const expected = [0.1, 0.03].map((b) => b * Math.pow(0.5, Math.floor(epoch / 3)));
      expectLrs(lrs(opt), expected, `epoch ${epoch}`);
      expectLrs(sched.getLastLr(), expected, `getLastLr at epoch ${epoch}`);
      opt.step();
      sched.step();
    }
    expect(sched.lastEpoch).toBe(12);
  });

  test('gamma defaults to 0.1; the constructor leaves epoch 0 at the base lr and records initialLr', () => {
    const opt = twoGroups();
    const sched = new StepLR(opt, { stepSize: 1 });
    expect(sched.getLastLr()).toEqual([0.1, 0.03]);
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.03]);
    sched.step();
    expectLrs(lrs(opt), [0.01, 0.003], 'epoch 1');
  });

  test('as in PyTorch, it scales the current lr, so a manual change carries through', () => {
    const opt = twoGroups();
    const sched = new StepLR(opt, { stepSize: 2, gamma: 0.1 });
    sched.step();
    opt.paramGroups[0].lr = 1;
    sched.step();
    expectLrs(lrs(opt), [0.1, 0.003], 'epoch 2');
  });

  test('the optimizer uses the scheduled lr', () => {
    const p = tensor([1], [1], { requiresGrad: true });
    const opt = new SGD([p], { lr: 1 });
    const sched = new StepLR(opt, { stepSize: 1, gamma: 0.5 });
    for (let e = 0; e < 3; e++) {
      p.grad = tensor([1], [1]);
      opt.step();
      sched.step();
    }
    expect(p.toFloat32Array()[0]).toBe(1 - 1 - 0.5 - 0.25);
  });
});

describe('CosineAnnealingLR', () => {
  const closed = (base: number, etaMin: number, t: number, tMax: number) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;

  test.each([[10, 0], [7, 0.001], [1, 0.01]])('tMax %d, etaMin %d: the closed form per group, through two periods', (tMax, etaMin) => {
    const opt = twoGroups();
    const sched = new CosineAnnealingLR(opt, { tMax, etaMin });
    for (let epoch = 0; epoch <= 2 * tMax + 3; epoch++) {
      const expected = [0.1, 0.03].map((b) => closed(b, etaMin, epoch, tMax));
      expectLrs(lrs(opt), expected, `epoch ${epoch}`);
      expectLrs(sched.getLastLr(), expected, `getLastLr at epoch ${epoch}`);
      opt.step();
      sched.step();
    }
  });

  test('reaches etaMin at tMax and the base lr again at 2 tMax', () => {
    const opt = new Adam([param()], { lr: 0.2 });
    const sched = new CosineAnnealingLR(opt, { tMax: 4, etaMin: 0.02 });
    for (let i = 0; i < 4; i++) sched.step();
    expect(sched.getLastLr()[0]).toBeCloseTo(0.02, 15);
    for (let i = 0; i < 4; i++) sched.step();
    expect(sched.getLastLr()[0]).toBeCloseTo(0.2, 15);
  });

  test('a second scheduler on the same optimizer keeps the first initialLr (as PyTorch)', () => {
    const opt = twoGroups();
    new StepLR(opt, { stepSize: 1, gamma: 0.5 }).step();
    const cos = new CosineAnnealingLR(opt, { tMax: 10 });
    expect(cos.baseLrs).toEqual([0.1, 0.03]);
  });
});

describe('resuming and errors', () => {
  test.each([
    ['StepLR', (o: Optimizer<{ lr: number }>) => new StepLR(o, { stepSize: 2, gamma: 0.3 })],
    ['CosineAnnealingLR', (o: Optimizer<{ lr: number }>) => new CosineAnnealingLR(o, { tMax: 5, etaMin: 0.005 })],
  ] as const)('%s: save after 4 epochs, load into fresh objects, continue = uninterrupted', (_n, make) => {
    const straightOpt = twoGroups();
    const straight = make(straightOpt);
    const seq: number[][] = [];
    for (let e = 0; e < 9; e++) {
      seq.push(straight.getLastLr());
      straight.step();
    }

    const opt = twoGroups();
    const sched = make(opt);
    for (let e = 0; e < 4; e++) sched.step();
    const optSd = opt.stateDict();
    const schedSd: LRSchedulerStateDict = JSON.parse(JSON.stringify(sched.stateDict()));

    const opt2 = twoGroups();
    opt2.loadStateDict(optSd);
    const sched2 = make(opt2);
    sched2.loadStateDict(schedSd);
    expect(sched2.lastEpoch).toBe(4);
    for (let e = 4; e < 9; e++) {
      expectLrs(sched2.getLastLr(), seq[e], `epoch ${e}`);
      expectLrs(lrs(opt2), seq[e], `optimizer lr at epoch ${e}`);
      sched2.step();
    }
  });

  test('lastEpoch resumes from the groups\' initialLr', () => {
    const opt = twoGroups();
    const s = new StepLR(opt, { stepSize: 2 });
    for (let e = 0; e < 3; e++) s.step();
    const opt2 = twoGroups();
    opt2.loadStateDict(opt.stateDict());
    const s2 = new CosineAnnealingLR(opt2, { tMax: 10, lastEpoch: 3 });
    expect(s2.lastEpoch).toBe(4);
    expect(s2.baseLrs).toEqual([0.1, 0.03]);
    expect(() => new StepLR(twoGroups(), { stepSize: 2, lastEpoch: 3 })).toThrow(
      /lastEpoch is 3 but paramGroups\[0\] has no initialLr; when resuming, load the optimizer's stateDict \(which holds initialLr\) first/);
  });

  test('option and state errors name the problem and the fix', () => {
    expect(() => new StepLR(twoGroups(), { stepSize: 0 })).toThrow(/StepLR: stepSize must be a positive integer/);
    expect(() => new StepLR(twoGroups(), { stepSize: 1.5 })).toThrow(/stepSize must be a positive integer/);
    expect(() => new StepLR(twoGroups(), { stepSize: 2, gamma: -1 })).toThrow(/gamma must be a finite number >= 0/);
    expect(() => new StepLR(twoGroups(), { step_size: 2 } as unknown as { stepSize: number })).toThrow(/unknown option 'step_size'; the options are stepSize, gamma, lastEpoch/);
    expect(() => new CosineAnnealingLR(twoGroups(), { tMax: 0 })).toThrow(/CosineAnnealingLR: tMax must be a positive integer/);
    expect(() => new CosineAnnealingLR(twoGroups(), { tMax: 5, etaMin: -1 })).toThrow(/etaMin must be a finite number >= 0/);
    expect(() => new CosineAnnealingLR(twoGroups(), { tMax: 5, lastEpoch: -2 })).toThrow(/lastEpoch must be an integer >= -1/);
    expect(() => new StepLR({} as unknown as Optimizer<{ lr: number }>, { stepSize: 1 })).toThrow(/the first argument must be an optimizer/);

    const s = new StepLR(twoGroups(), { stepSize: 2 });
    const sd = s.stateDict();
    expect(() => s.loadStateDict({ ...sd, baseLrs: [0.1] })).toThrow(/'baseLrs' has 1 entries but the optimizer has 2 parameter group\(s\)/);
    expect(() => s.loadStateDict({ ...sd, tMax: 3 })).toThrow(/unknown entry 'tMax'; a StepLR state holds .* \(was it saved by another scheduler\?\)/);
    expect(() => s.loadStateDict({ ...sd, stepSize: 0 })).toThrow(/stepSize must be a positive integer/);
    expect(s.stepSize).toBe(2);

    const opt = new SGD([param()], { lr: 0.1 });
    const late = new StepLR(opt, { stepSize: 1 });
    opt.addParamGroup({ params: [param()] as Tensor[] });
    expect(() => late.step()).toThrow(/the optimizer has 2 parameter group\(s\) but the scheduler was made for 1; create the scheduler after adding every group/);
  });
});
