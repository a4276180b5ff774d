// AdamW (torch.optim.AdamW): Adam with decoupled weight decay. Before the Adam update each parameter is
// shrunk, p *= 1 - lr * weightDecay, instead of adding weightDecay * p to the gradient. Default weightDecay 1e-2.
import { ADAM_DEFAULTS, Adam, AdamOptions } from './adam';
import { ParamsInput } from './optimizer';

/** Options of AdamW (as Adam's; the weight decay is decoupled). */
export type AdamWOptions = AdamOptions;

const ADAMW_DEFAULTS: AdamWOptions = { ...ADAM_DEFAULTS, weightDecay: 1e-2 };

/** AdamW: Adam with decoupled weight decay, p <- p (1 - lr weightDecay), as torch.optim.AdamW. */
export class AdamW extends Adam {
  constructor(params: ParamsInput<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super(params, options, ADAMW_DEFAULTS);
  }

  protected get name(): string {
    return 'AdamW';
  }

  protected get decoupled(): boolean {
    return true;
  }
}
