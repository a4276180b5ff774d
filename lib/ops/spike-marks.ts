// Which tensors hold spikes: exact 0/1 values, mostly 0. The neuron op marks its output; the views of a
// spike tensor (reshape, flatten, squeeze, unsqueeze) and its max-pool are spikes too. linear() sends a
// marked input through the spike-sparse product (kernel spikeMatmul), which picks its sparse or dense
// path by the measured firing rate. A mark, not a scan: a scan of every linear input would cost a pass
// over it, and the value test alone (all 0/1) cannot see that an input comes out of a neuron.
import type { Tensor } from '../tensor';

const spikeTensors = new WeakSet<Tensor>();

/** Marks t as a spike tensor (its values are exactly 0 or 1); returns t. */
export function markSpikes<T extends Tensor>(t: T): T {
  spikeTensors.add(t);
  return t;
}

/** Whether t was marked as spikes (by the neuron op, or as a view or max-pool of spikes). */
export function isSpikes(t: Tensor): boolean {
  return spikeTensors.has(t);
}

/** Marks out as spikes when src is (for ops that keep 0/1 values: views, max-pool); returns out. */
export function spikesIf<T extends Tensor>(src: Tensor, out: T): T {
  if (spikeTensors.has(src)) spikeTensors.add(out);
  return out;
}
