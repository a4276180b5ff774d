// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum, weight decay and
// maximize, with PyTorch's semantics (torch.optim.SGD):
//   g = maximize ? -grad : grad;  g += weightDecay * p
//   with momentum: buf = g on the first step, else momentum * buf + (1 - dampening) * g;
//                  g = nesterov ? g + momentum * buf : buf
//   p -= lr * g
import { runKernel } from '../kernels/run-kernel';
import { Tensor } from '../tensor';
import { checkNonNegative, mergeOptions, Optimizer, ParamGroup, ParamsInput, StateSpec } from './optimizer';

/** Options of SGD (as torch.optim.SGD). */
export interface SGDOptions {
  /** Learning rate (default 1e-3, as in PyTorch >= 2.2). */
  lr: number;
  /** Momentum factor (default 0: no momentum buffer). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

const SGD_DEFAULTS: SGDOptions = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
const SGD_STATE: StateSpec = { step: false, required: [], optional: ['momentumBuffer'] };

/** Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov, weight decay and maximize. */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(params, mergeOptions('SGD', SGD_DEFAULTS, options));
  }

  protected get name(): string {
    return 'SGD';
  }

  protected get stateSpec(): StateSpec {
    return SGD_STATE;
  }

  protected validateGroup(g: ParamGroup<SGDOptions>, where: string): void {
    checkNonNegative('lr', 'learning rate', g.lr, where);
    checkNonNegative('momentum', 'momentum value', g.momentum, where);
    checkNonNegative('weightDecay', 'weightDecay value', g.weightDecay, where);
    if (typeof g.dampening !== 'number' || !Number.isFinite(g.dampening))
      throw new Error(`${where}: invalid dampening ${String(g.dampening)}; it must be a finite number`);
    if (typeof g.nesterov !== 'boolean') throw new TypeError(`${where}: nesterov must be true or false, got ${String(g.nesterov)}`);
    if (typeof g.maximize !== 'boolean') throw new TypeError(`${where}: maximize must be true or false, got ${String(g.maximize)}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      throw new Error(`${where}: Nesterov momentum requires a momentum and zero dampening (got momentum ${g.momentum}, dampening ${g.dampening}); set momentum > 0 and dampening 0, or nesterov false`);
  }

  protected updateParam(p: Tensor, grad: Tensor, g: ParamGroup<SGDOptions>): void {
    let buf: Tensor | null = null;
    let firstStep = false;
    if (g.momentum !== 0) {
      const s = this.stateFor(p);
      firstStep = !s.buffers.momentumBuffer;
      buf = this.buffer(s, p, 'momentumBuffer');
    }
    runKernel('sgdStep', [p.handle, grad.handle, buf ? buf.handle : null], {
      lr: g.lr,
      momentum: g.momentum,
      dampening: g.dampening,
      weightDecay: g.weightDecay,
      nesterov: g.nesterov,
      firstStep,
      maximize: g.maximize,
    });
  }
}

