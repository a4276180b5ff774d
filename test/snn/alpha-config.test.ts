// The decision table of alpha / alphaMode / multiCoefficient: every row and every error, plus the
// warnings of the 'auto' mode (process.emitWarning, checked with a jest spy).
import { nn, LIFNeuron, IFNeuron, SNNWrapper, parseAlphaConfig } from '../../lib';
import { perLayerFlags } from '../../lib/snn/alpha-config';

type Warn = jest.Mock<void, [string]>;
const quiet = (): Warn => jest.fn<void, [string]>();
const layersOf = (r: ReturnType<typeof parseAlphaConfig>) => r.layers.map((l) => [l.alphas, l.coefficients]);

function twoLayerNet(): nn.Module {
  return new nn.Sequential(new nn.Linear(3, 4), new LIFNeuron(), new nn.Linear(4, 2), new IFNeuron());
}

let emit: jest.SpyInstance;
beforeEach(() => {
  emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
});
afterEach(() => emit.mockRestore());

describe('number: a global scalar', () => {
  test.each(['auto', 'per_layer', 'multiterm'] as const)("alphaMode '%s': every layer gets [alpha] and [1]", (mode) => {
    const w = quiet();
    const r = parseAlphaConfig(0.4, mode, undefined, 3, w);
    expect(r.mode).toBe('scalar');
    expect(layersOf(r)).toEqual([[[0.4], [1]], [[0.4], [1]], [[0.4], [1]]]);
    expect(w).not.toHaveBeenCalled();
  });

  test('alpha left out is 0.5; alpha = 1 is allowed', () => {
    expect(layersOf(parseAlphaConfig(undefined, 'auto', undefined, 2, quiet()))).toEqual([[[0.5], [1]], [[0.5], [1]]]);
    expect(layersOf(parseAlphaConfig(1, 'auto', undefined, 1, quiet()))).toEqual([[[1], [1]]]);
  });

  test('a single coefficient: a number or [number]', () => {
    expect(layersOf(parseAlphaConfig(0.4, 'auto', 2, 2, quiet()))).toEqual([[[0.4], [2]], [[0.4], [2]]]);
    expect(layersOf(parseAlphaConfig(0.4, 'auto', [3], 1, quiet()))).toEqual([[[0.4], [3]]]);
  });

  test('several coefficients for a scalar alpha are an error', () => {
    expect(() => parseAlphaConfig(0.4, 'auto', [1, 2], 2, quiet())).toThrow(/a scalar alpha takes a single coefficient/);
    expect(() => parseAlphaConfig(0.4, 'auto', [[1]], 1, quiet())).toThrow(/a scalar alpha takes a single coefficient/);
  });
});

describe("flat list + 'per_layer': one order per layer", () => {
  test('each layer gets its own single term, without a warning', () => {
    const w = quiet();
    const r = parseAlphaConfig([0.3, 0.7], 'per_layer', undefined, 2, w);
    expect(r.mode).toBe('per_layer');
    expect(layersOf(r)).toEqual([[[0.3], [1]], [[0.7], [1]]]);
    expect(w).not.toHaveBeenCalled();
  });

  test('coefficients: a number for all layers or one per layer', () => {
    expect(layersOf(parseAlphaConfig([0.3, 0.7], 'per_layer', 2, 2, quiet()))).toEqual([[[0.3], [2]], [[0.7], [2]]]);
    expect(layersOf(parseAlphaConfig([0.3, 0.7], 'per_layer', [2, 5], 2, quiet()))).toEqual([[[0.3], [2]], [[0.7], [5]]]);
    expect(() => parseAlphaConfig([0.3, 0.7], 'per_layer', [2, 5, 1], 2, quiet())).toThrow(/one number per layer \(2\)/);
    expect(() => parseAlphaConfig([0.3, 0.7], 'per_layer', [[2], [5]], 2, quiet())).toThrow(/one number per layer \(2\)/);
  });

  test('a length other than the number of neuron layers is an error naming both numbers', () => {
    expect(() => parseAlphaConfig([0.3, 0.5, 0.7], 'per_layer', undefined, 2, quiet())).toThrow(
      /alphaMode 'per_layer' needs one alpha per neuron layer: got 3 values for 2 neuron layers/,
    );
    expect(() => parseAlphaConfig([0.3], 'per_layer', undefined, 4, quiet())).toThrow(/got 1 values for 4 neuron layers/);
  });
});

describe("flat list + 'multiterm': the same multi-term operator for every layer", () => {
  test('coefficients left out are ones; no warning even when the length equals the layer count', () => {
    const w = quiet();
    const r = parseAlphaConfig([0.3, 0.7], 'multiterm', undefined, 2, w);
    expect(r.mode).toBe('multiterm');
    expect(layersOf(r)).toEqual([[[0.3, 0.7], [1, 1]], [[0.3, 0.7], [1, 1]]]);
    expect(w).not.toHaveBeenCalled();
  });

  test('a flat coefficient list of the same length is shared (each layer its own copy)', () => {
    const r = parseAlphaConfig([0.2, 0.5, 0.9], 'multiterm', [1, 0.5, 0.25], 2, quiet());
    expect(layersOf(r)).toEqual([[[0.2, 0.5, 0.9], [1, 0.5, 0.25]], [[0.2, 0.5, 0.9], [1, 0.5, 0.25]]]);
    expect(r.layers[0].coefficients).not.toBe(r.layers[1].coefficients);
  });

  test('nested coefficients: one list per layer (a number for one term, null for ones)', () => {
    expect(layersOf(parseAlphaConfig([0.2, 0.9], 'multiterm', [[1, 2], [3, 4]], 2, quiet()))).toEqual([[[0.2, 0.9], [1, 2]], [[0.2, 0.9], [3, 4]]]);
    expect(layersOf(parseAlphaConfig([0.2, 0.9], 'multiterm', [[1, 2], null], 2, quiet()))).toEqual([[[0.2, 0.9], [1, 2]], [[0.2, 0.9], [1, 1]]]);
    expect(layersOf(parseAlphaConfig([0.6], 'multiterm', [[2], 3], 2, quiet()))).toEqual([[[0.6], [2]], [[0.6], [3]]]);
  });

  test('coefficient errors name the layer and the counts', () => {
    expect(() => parseAlphaConfig([0.2, 0.5, 0.9], 'multiterm', [1, 2], 2, quiet())).toThrow(/layer 0 has 3 term\(s\) but 2 coefficient\(s\)/);
    expect(() => parseAlphaConfig([0.2, 0.9], 'multiterm', [[1, 2], [3]], 2, quiet())).toThrow(/layer 1 has 2 term\(s\) but 1 coefficient\(s\)/);
    expect(() => parseAlphaConfig([0.2, 0.9], 'multiterm', [[1, 2]], 2, quiet())).toThrow(/nested multiCoefficient has 1 entries for 2 neuron layers/);
    expect(() => parseAlphaConfig([0.2, 0.9], 'multiterm', [1, NaN], 1, quiet())).toThrow(/multiCoefficient \[0\]\[1\] = NaN must be a finite number/);
  });
});

describe('nested list: per-layer multi-term (auto-detected)', () => {
  test.each(['auto', 'per_layer', 'multiterm'] as const)("alphaMode '%s' does not change it, and nothing warns", (mode) => {
    const w = quiet();
    const r = parseAlphaConfig([[0.3, 0.6], [0.8]], mode, undefined, 2, w);
    expect(r.mode).toBe('per_layer_multiterm');
    expect(layersOf(r)).toEqual([[[0.3, 0.6], [1, 1]], [[0.8], [1]]]);
    expect(w).not.toHaveBeenCalled();
  });

  test('a number stands for [number]', () => {
    expect(layersOf(parseAlphaConfig([[0.3, 0.6], 0.8], 'auto', undefined, 2, quiet()))).toEqual([[[0.3, 0.6], [1, 1]], [[0.8], [1]]]);
  });

  test('coefficients nested alike; a number stands for [number]; null or undefined means ones', () => {
    const a = [[0.3, 0.6], [0.8], [0.1, 0.2, 0.4]];
    expect(layersOf(parseAlphaConfig(a, 'auto', [[1, 2], 3, null], 3, quiet()))).toEqual([
      [[0.3, 0.6], [1, 2]], [[0.8], [3]], [[0.1, 0.2, 0.4], [1, 1, 1]],
    ]);
    expect(layersOf(parseAlphaConfig(a, 'auto', [undefined, [4], [1, 0, 2]], 3, quiet()))).toEqual([
      [[0.3, 0.6], [1, 1]], [[0.8], [4]], [[0.1, 0.2, 0.4], [1, 0, 2]],
    ]);
    expect(layersOf(parseAlphaConfig(a, 'auto', null as unknown as undefined, 3, quiet()))[2]).toEqual([[0.1, 0.2, 0.4], [1, 1, 1]]);
  });

  test('errors: layer count, coefficient shape, empty layer', () => {
    expect(() => parseAlphaConfig([[0.3], [0.5], [0.7]], 'auto', undefined, 2, quiet())).toThrow(
      /the nested alpha list has 3 entries but the model has 2 neuron layers/,
    );
    expect(() => parseAlphaConfig([[0.3, 0.6], [0.8]], 'auto', [[1, 2]], 2, quiet())).toThrow(/one entry per neuron layer \(2\), nested alike/);
    expect(() => parseAlphaConfig([[0.3, 0.6], [0.8]], 'auto', [[1], [2]], 2, quiet())).toThrow(/layer 0 has 2 term\(s\) but 1 coefficient\(s\)/);
    expect(() => parseAlphaConfig([[0.3, 0.6], []], 'auto', undefined, 2, quiet())).toThrow(/layer 1 has no orders/);
    expect(() => parseAlphaConfig([[0.3], [0.8]], 'auto', [[1], 'x' as unknown as number], 2, quiet())).toThrow(/multiCoefficient for layer 1 must be a number, a list or null/);
  });
});

describe("flat list + 'auto'", () => {
  test('a flat coefficient list means multi-term (no warning), even when the length equals the layer count', () => {
    const w = quiet();
    const r = parseAlphaConfig([0.3, 0.7], 'auto', [1, 0.5], 2, w);
    expect(r.mode).toBe('multiterm');
    expect(layersOf(r)).toEqual([[[0.3, 0.7], [1, 0.5]], [[0.3, 0.7], [1, 0.5]]]);
    expect(w).not.toHaveBeenCalled();
  });

  test('length == number of layers: per-layer, with a warning to set alphaMode', () => {
    const w = quiet();
    const r = parseAlphaConfig([0.3, 0.7], 'auto', undefined, 2, w);
    expect(r.mode).toBe('per_layer');
    expect(layersOf(r)).toEqual([[[0.3], [1]], [[0.7], [1]]]);
    expect(w).toHaveBeenCalledTimes(1);
    expect(w.mock.calls[0][0]).toMatch(/one value per neuron layer \(2\).*alphaMode: 'per_layer'/s);
  });

  test('any other length: multi-term, with a warning', () => {
    const w = quiet();
    const r = parseAlphaConfig([0.2, 0.5, 0.9], 'auto', undefined, 2, w);
    expect(r.mode).toBe('multiterm');
    expect(layersOf(r)).toEqual([[[0.2, 0.5, 0.9], [1, 1, 1]], [[0.2, 0.5, 0.9], [1, 1, 1]]]);
    expect(w).toHaveBeenCalledTimes(1);
    expect(w.mock.calls[0][0]).toMatch(/3 values for 2 neuron layers.*multi-term.*alphaMode: 'multiterm'/s);
  });

  test('the default warning goes through process.emitWarning', () => {
    parseAlphaConfig([0.3, 0.7], 'auto', undefined, 2);
    expect(emit).toHaveBeenCalledTimes(1);
    expect(emit.mock.calls[0][0]).toMatch(/alphaMode: 'per_layer'/);
    expect(emit.mock.calls[0][1]).toBe('FractionalSNNWarning');
  });
});

describe('through SNNWrapper (two neuron layers)', () => {
  test('all four modes build the right per-layer values; only the auto guesses warn', () => {
    const rows: { opts: ConstructorParameters<typeof SNNWrapper>[1]; alphas: number[][]; coefs: number[][]; warns: number }[] = [
      { opts: { alpha: 0.5 }, alphas: [[0.5], [0.5]], coefs: [[1], [1]], warns: 0 },
      { opts: { alpha: [0.25, 0.75], alphaMode: 'per_layer' }, alphas: [[0.25], [0.75]], coefs: [[1], [1]], warns: 0 },
      { opts: { alpha: [0.25, 0.75] }, alphas: [[0.25], [0.75]], coefs: [[1], [1]], warns: 1 },
      { opts: { alpha: [0.25, 0.75], alphaMode: 'multiterm', multiCoefficient: [1, 2] }, alphas: [[0.25, 0.75], [0.25, 0.75]], coefs: [[1, 2], [1, 2]], warns: 0 },
      { opts: { alpha: [0.25, 0.5, 0.75] }, alphas: [[0.25, 0.5, 0.75], [0.25, 0.5, 0.75]], coefs: [[1, 1, 1], [1, 1, 1]], warns: 1 },
      { opts: { alpha: [[0.25, 0.5], 0.75], multiCoefficient: [[2, 1], null] }, alphas: [[0.25, 0.5], [0.75]], coefs: [[2, 1], [1]], warns: 0 },
    ];
    for (const row of rows) {
      emit.mockClear();
      const net = new SNNWrapper(twoLayerNet(), row.opts);
      expect(net.getPerLayerAlpha().map((a) => Array.from(a.toFloat32Array()))).toEqual(row.alphas);
      expect(net.getPerLayerCoefficient().map((c) => Array.from(c.toFloat32Array()))).toEqual(row.coefs);
      expect(emit).toHaveBeenCalledTimes(row.warns);
      if (row.warns) expect(emit.mock.calls[0][1]).toBe('FractionalSNNWarning');
    }
  });

  test('the per_layer length error names both numbers', () => {
    expect(() => new SNNWrapper(twoLayerNet(), { alpha: [0.1, 0.2, 0.3], alphaMode: 'per_layer' })).toThrow(/got 3 values for 2 neuron layers/);
  });
});

describe('errors', () => {
  test('an unknown alphaMode', () => {
    expect(() => parseAlphaConfig(0.5, 'layers' as 'auto', undefined, 2, quiet())).toThrow(/alphaMode 'layers' is unknown; use 'auto', 'per_layer' or 'multiterm'/);
  });

  test('no neuron layers', () => {
    expect(() => parseAlphaConfig(0.5, 'auto', undefined, 0, quiet())).toThrow(/no neuron layers/);
    expect(() => new SNNWrapper(new nn.Sequential(new nn.Linear(2, 2)))).toThrow(/no neuron layers \(LIFNeuron \/ IFNeuron\)/);
  });

  test('an empty list or a value of the wrong type', () => {
    expect(() => parseAlphaConfig([], 'auto', undefined, 2, quiet())).toThrow(/alpha must be a number, a non-empty list/);
    expect(() => parseAlphaConfig('0.5' as unknown as number, 'auto', undefined, 2, quiet())).toThrow(/alpha must be a number, a non-empty list/);
  });

  test.each([
    ['scalar 0', 0, /alpha {2}= 0 is outside \(0, 1\]/],
    ['scalar 1.5', 1.5, /= 1.5 is outside \(0, 1\]/],
    ['scalar -0.2', -0.2, /= -0.2 is outside \(0, 1\]/],
    ['scalar NaN', NaN, /= NaN is outside \(0, 1\]/],
    ['flat entry', [0.5, 1.2], /alpha \[1\] = 1.2 is outside \(0, 1\]/],
    ['nested entry', [[0.5], [0.4, 0]], /alpha \[1\]\[1\] = 0 is outside \(0, 1\]/],
    ['nested number', [[0.5], 2], /alpha \[1\]\[0\] = 2 is outside \(0, 1\]/],
  ])('alpha outside (0, 1]: %s', (_, alpha, re) => {
    expect(() => parseAlphaConfig(alpha as number, 'auto', undefined, 2, quiet())).toThrow(re);
    expect(() => new SNNWrapper(twoLayerNet(), { alpha: alpha as number })).toThrow(re);
  });

  test('a non-finite coefficient', () => {
    expect(() => parseAlphaConfig(0.5, 'auto', Infinity, 2, quiet())).toThrow(/multiCoefficient {2}= Infinity must be a finite number/);
    expect(() => parseAlphaConfig([0.3, 0.7], 'per_layer', [1, NaN], 2, quiet())).toThrow(/multiCoefficient \[1\] = NaN/);
  });
});

describe('learnAlpha / learnCoefficient flags', () => {
  test('a boolean for all layers or one per layer', () => {
    expect(perLayerFlags(undefined, 3, 'learnAlpha', false)).toEqual([false, false, false]);
    expect(perLayerFlags(true, 2, 'learnAlpha', false)).toEqual([true, true]);
    expect(perLayerFlags([true, false], 2, 'learnAlpha', false)).toEqual([true, false]);
    expect(() => perLayerFlags([true], 2, 'learnAlpha', false)).toThrow(/learnAlpha must be a boolean or one boolean per neuron layer \(2\)/);
    expect(() => new SNNWrapper(twoLayerNet(), { learnCoefficient: [true, 1 as unknown as boolean] })).toThrow(/learnCoefficient must be a boolean or one boolean per neuron layer/);
  });
});
