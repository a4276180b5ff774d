// The history window M has one check and one message, whichever entry point receives it: the wrapper's
// forward, the neuron op, a neuron context, the reference solver, a model spec's input, and the CLI.
import { nn, tensor, LIFNeuron, SNNWrapper, withNeuronContext } from '../../lib';
import { checkMemoryWindow, memoryWindowProblem } from '../../lib/fractional/memory-window';
import { fractionalNeuron } from '../../lib/fractional/op';
import { solveLinear } from '../../lib/fractional/reference';
import { validateSpec } from '../../lib/snn/spec';
import { parseMemory } from '../../lib/cli/program';
import { validateTrainConfig, TRAIN_DEFAULTS } from '../../lib/cli/config';

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
};

test('valid windows pass, anything else gets the one message', () => {
  for (const m of [1, 2, 64, 1e6]) expect(memoryWindowProblem(m)).toBeNull();
  expect(checkMemoryWindow(undefined, 'x')).toBeUndefined();
  expect(checkMemoryWindow(7, 'x')).toBe(7);
  expect(memoryWindowProblem(0)).toBe('memory window 0 must be an integer >= 1 (the update uses the M-1 most recent states; leave it out for the full history)');
  for (const [m, shown] of [[-3, '-3'], [2.5, '2.5'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['4', '"4"'], [null, 'null'], [true, 'true']] as const)
    expect(memoryWindowProblem(m)).toBe(`memory window ${shown} must be an integer >= 1 (the update uses the M-1 most recent states; leave it out for the full history)`);
  expect(() => checkMemoryWindow(0, 'where')).toThrow(RangeError);
});

test('every entry point reports a bad window with the same message, prefixed by where it was given', () => {
  const problem = memoryWindowProblem(0)!;
  const x = tensor([1, 2, 3, 4], [2, 2]);
  const net = new SNNWrapper(new nn.Sequential(new LIFNeuron()), { alpha: 0.5 });
  const spec = { format: 'fsnn-model-1', layers: [{ type: 'lif', tau: 0.5, threshold: 1, surrogate: 'arctan', surrogateScale: 5 }], wrapper: {}, input: { memory: 0 } };
  const got = {
    wrapper: message(() => net.forward(x, undefined, { memory: 0 })),
    op: message(() => fractionalNeuron(x, tensor([0.5], [1]), null, { memory: 0 })),
    context: message(() => withNeuronContext({ memory: 0 }, () => new LIFNeuron({ alpha: 0.5 }).forward(x))),
    solver: message(() => solveLinear({ method: 'l1', alphas: [0.5], weights: [1], h: 0.1, n: 4, lambda: 1, c: 1, memory: 0 })),
    spec: message(() => validateSpec(spec)),
    cliFlag: message(() => parseMemory('0')),
    cliConfig: message(() => validateTrainConfig({ ...TRAIN_DEFAULTS, memory: 0 })),
  };
  expect(got).toEqual({
    wrapper: `SNNWrapper.forward: ${problem}`,
    op: `fractionalNeuron: ${problem}`,
    context: `withNeuronContext: ${problem}`,
    solver: `solveLinear: ${problem}`,
    spec: `model spec: input.memory: ${problem}. Fix: set it in the metadata, or remove it`,
    cliFlag: `${problem}, or 'full'.`,
    cliConfig: `--memory: ${problem}`,
  });
  expect(parseMemory('full')).toBe('full');
  expect(parseMemory(' 12 ')).toBe(12);
  expect(message(() => parseMemory('abc'))).toBe(`${memoryWindowProblem('abc')}, or 'full'.`);
});
