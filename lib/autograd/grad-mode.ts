// Whether ops record the graph for backward. noGrad(fn) runs fn without recording.
let enabled = true;

/** Whether operations record the autograd graph now (false inside noGrad()). */
export function isGradEnabled(): boolean {
  return enabled;
}

/**
 * Runs `fn` without recording the autograd graph (as torch.no_grad) and returns its result; use it for evaluation and in-place updates.
 */
export function noGrad<T>(fn: () => T): T {
  const previous = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}

export function withGradEnabled<T>(on: boolean, fn: () => T): T {
  const previous = enabled;
  enabled = on;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}
