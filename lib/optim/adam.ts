// Adam (and, through AdamW, decoupled weight decay), with PyTorch's semantics (torch.optim.Adam):
//   t += 1;  g = maximize ? -grad : grad;  g += weightDecay * p  (Adam's L2 penalty)
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  amsgrad: vmax = max(vmax, v), used for v
//   p -= lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)
import { runKernel } from '../kernels/run-kernel';
import { Tensor } from '../tensor';
import { checkNonNegative, mergeOptions, Optimizer, ParamGroup, ParamsInput, StateSpec } from './optimizer';

/** Options of Adam (as torch.optim.Adam). */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]), each in [0, 1). */
  betas: [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps: number;
  /** Weight decay: an L2 penalty on the gradient for Adam (default 0), decoupled for AdamW (default 1e-2). */
  weightDecay: number;
  /** The AMSGrad variant: the denominator uses the running maximum of the second moment. */
  amsgrad: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

export const ADAM_DEFAULTS: AdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };
const ADAM_STATE: StateSpec = { step: true, required: ['expAvg', 'expAvgSq'], optional: ['maxExpAvgSq'] };

/** Adam (Kingma & Ba) with PyTorch's semantics: L2 weight decay added to the gradient, optional AMSGrad and maximize. */
export class Adam extends Optimizer<AdamOptions> {
  /** `defaults` is for subclasses (AdamW); leave it out. */
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}, defaults: AdamOptions = ADAM_DEFAULTS) {
    super(params, mergeOptions(new.target.name, defaults, options));
  }

  protected get name(): string {
    return 'Adam';
  }

  /** Whether the weight decay is decoupled from the gradient (AdamW) rather than an L2 penalty added to it (Adam). */
  protected get decoupled(): boolean {
    return false;
  }

  protected get stateSpec(): StateSpec {
    return ADAM_STATE;
  }

  protected validateGroup(g: ParamGroup<AdamOptions>, where: string): void {
    checkNonNegative('lr', 'learning rate', g.lr, where);
    checkNonNegative('eps', 'epsilon value', g.eps, where);
    checkNonNegative('weightDecay', 'weightDecay value', g.weightDecay, where);
    const b = g.betas as unknown;
    if (!Array.isArray(b) || b.length !== 2)
      throw new Error(`${where}: betas must be a pair [beta1, beta2], got ${JSON.stringify(b)}`);
    b.forEach((x, i) => {
      if (typeof x !== 'number' || !(x >= 0 && x < 1))
        throw new Error(`${where}: invalid beta parameter at index ${i}: ${String(x)}; betas must be in [0, 1)`);
    });
    if (typeof g.amsgrad !== 'boolean') throw new TypeError(`${where}: amsgrad must be true or false, got ${String(g.amsgrad)}`);
    if (typeof g.maximize !== 'boolean') throw new TypeError(`${where}: maximize must be true or false, got ${String(g.maximize)}`);
  }

  protected updateParam(p: Tensor, grad: Tensor, g: ParamGroup<AdamOptions>): void {
    const s = this.stateFor(p);
    const m = this.buffer(s, p, 'expAvg');
    const v = this.buffer(s, p, 'expAvgSq');
    // As in PyTorch, the running maximum exists only while amsgrad is on (created as zeros when first needed).
    const vmax = g.amsgrad ? this.buffer(s, p, 'maxExpAvgSq') : null;
    const step = (s.step ?? 0) + 1;
    runKernel('adamStep', [p.handle, grad.handle, m.handle, v.handle, vmax ? vmax.handle : null], {
      lr: g.lr,
      beta1: g.betas[0],
      beta2: g.betas[1],
      eps: g.eps,
      weightDecay: g.weightDecay,
      decoupled: this.decoupled,
      amsgrad: g.amsgrad,
      maximize: g.maximize,
      step,
    });
    s.step = step;
  }
}
