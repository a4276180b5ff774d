// The history window M of the fractional update (spikeDE's options={'memory': M}): step k uses the
// M-1 most recent states, sum_{L=1}^{min(k, M-1)} K_L v_{k+1-L}; absent means the full history.
// Every entry point (wrapper, neuron op, reference solver, model spec, CLI) checks it here.

/** Why `memory` is not a valid history window (one message everywhere), or null when it is. */
export function memoryWindowProblem(memory: unknown): string | null {
  if (typeof memory === 'number' && Number.isInteger(memory) && memory >= 1) return null;
  const shown = typeof memory === 'number' ? String(memory) : JSON.stringify(memory) ?? String(memory);
  return `memory window ${shown} must be an integer >= 1 (the update uses the M-1 most recent states; leave it out for the full history)`;
}

/** Checks a history window (undefined: the full history) and returns it; `where` prefixes the error. */
export function checkMemoryWindow(memory: number | undefined, where: string): number | undefined {
  if (memory === undefined) return undefined;
  const problem = memoryWindowProblem(memory);
  if (problem) throw new RangeError(`${where}: ${problem}`);
  return memory;
}
