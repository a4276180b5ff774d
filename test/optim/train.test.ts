// End to end: fit y = 2x + 1 with a Linear-like weight and bias through the ops, autograd and each optimizer.
import { tensor } from '../../lib/creation';
import { tidy } from '../../lib/memory';
import { Parameter } from '../../lib/nn/parameter';
import * as ops from '../../lib/ops';
import { Adam, AdamW, CosineAnnealingLR, Optimizer, SGD } from '../../lib/optim';

const N = 32;
const xs = Array.from({ length: N }, (_, i) => -1 + (2 * i) / (N - 1));
const x = tensor(xs, [N, 1]);
const y = tensor(xs.map((v) => 2 * v + 1), [N, 1]);

function fit(make: (params: Parameter[]) => Optimizer<{ lr: number }>, epochs: number, withScheduler = false) {
  const weight = new Parameter(tensor([[0.1]]));  // [out=1, in=1]
  const bias = new Parameter(tensor([0]));
  const opt = make([weight, bias]);
  const sched = withScheduler ? new CosineAnnealingLR(opt, { tMax: epochs }) : null;
  const losses: number[] = [];
  for (let e = 0; e < epochs; e++) {
    opt.zeroGrad();
    losses.push(
      tidy(() => {
        const loss = ops.mseLoss(ops.linear(x, weight, bias), y);
        loss.backward();
        return loss.item();
      }),
    );
    opt.step();
    sched?.step();
  }
  return { losses, w: weight.item(), b: bias.item() };
}

describe('fitting y = 2x + 1', () => {
  test.each([
    ['SGD', (p: Parameter[]) => new SGD(p, { lr: 0.3 }), 60],
    ['SGD + nesterov momentum', (p: Parameter[]) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true }), 80],
    ['Adam', (p: Parameter[]) => new Adam(p, { lr: 0.1 }), 150],
    ['AdamW (small decay)', (p: Parameter[]) => new AdamW(p, { lr: 0.1, weightDecay: 1e-4 }), 150],
  ] as const)('%s: the loss falls and w, b approach 2, 1', (_name, make, epochs) => {
    const { losses, w, b } = fit(make, epochs);
    expect(losses[losses.length - 1]).toBeLessThan(1e-2 * losses[0]);
    expect(losses[losses.length - 1]).toBeLessThan(1e-3);
    expect(w).toBeCloseTo(2, 1);
    expect(b).toBeCloseTo(1, 1);
  });

  test('with a cosine schedule, over groups with different lr', () => {
    const { losses, w, b } = fit((p) => new Adam([{ params: [p[0]], lr: 0.2 }, { params: [p[1]], lr: 0.1 }]), 150, true);
    expect(losses[losses.length - 1]).toBeLessThan(1e-3);
    expect(w).toBeCloseTo(2, 1);
    expect(b).toBeCloseTo(1, 1);
  });
});
