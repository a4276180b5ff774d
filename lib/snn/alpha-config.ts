// The seed's decision table: turns the wrapper's alpha / alphaMode / multiCoefficient options into
// per-layer lists of orders and term weights.
//
//   alpha                  alphaMode      meaning
//   number                 any            global scalar: every layer gets [alpha]
//   flat list              'per_layer'    one order per layer (length must equal the number of neuron layers)
//   flat list              'multiterm'    the same multi-term set for every layer
//   nested list            (any)          per-layer multi-term
//   flat list              'auto'         a multiCoefficient list -> multi-term; else length == layers -> per-layer
//                                         (with a warning to set alphaMode), else multi-term (with a warning)

/** Fractional orders as given: a number, a flat list, or a list of per-layer lists (see the table above). */
export type AlphaSpec = number | number[] | (number | number[])[];
/** Term weights as given, shaped like the orders (null or undefined: all 1 for that layer). */
export type CoefficientSpec = number | number[] | (number | number[] | null | undefined)[];
/** How a flat alpha list is read: 'per_layer', 'multiterm', or 'auto' (see the table above). */
export type AlphaMode = 'auto' | 'per_layer' | 'multiterm';

/** The terms of one neuron layer: orders and their weights, one each. */
export interface LayerTerms {
  /** Orders of the terms. */
  alphas: number[];
  /** Weights of the terms. */
  coefficients: number[];
}

/** The orders and weights of every neuron layer, and which of the four configuration modes gave them. */
export interface ParsedAlphaConfig {
  /** The configuration mode the options were read as. */
  mode: 'scalar' | 'per_layer' | 'multiterm' | 'per_layer_multiterm';
  /** Per neuron layer, its terms. */
  layers: LayerTerms[];
}

const isNested = (a: unknown[]): boolean => a.some((v) => Array.isArray(v));

function checkOrder(a: unknown, where: string, who = 'SNNWrapper'): number {
  if (Array.isArray(a))
    throw new Error(`${who}: alpha${where} is a list (${JSON.stringify(a)}) where an order (a number) belongs; alpha nests at most two ` +
      'levels: a number, a list of orders, or one list per neuron layer (e.g. [[0.3, 0.6], [0.5]]). Fix: remove the extra brackets');
  if (typeof a !== 'number')
    throw new Error(`${who}: alpha${where} = ${JSON.stringify(a) ?? String(a)} is not a number; every fractional order must be a number with 0 < alpha <= 1`);
  if (!Number.isFinite(a) || !(a > 0) || a > 1)
    throw new Error(`${who}: alpha ${where} = ${String(a)} is outside (0, 1]; every fractional order must satisfy 0 < alpha <= 1`);
  return a;
}

function checkCoefficient(c: unknown, where: string): number {
  if (typeof c !== 'number' || !Number.isFinite(c)) throw new Error(`SNNWrapper: multiCoefficient ${where} = ${String(c)} must be a finite number`);
  return c;
}

function ones(n: number): number[] {
  return new Array<number>(n).fill(1);
}

/** Coefficients for one layer's terms from a per-layer entry (number -> [number], null -> ones). */
function layerCoefficients(entry: unknown, terms: number, layer: number): number[] {
  if (entry === null || entry === undefined) return ones(terms);
  const list = typeof entry === 'number' ? [entry] : entry;
  if (!Array.isArray(list)) throw new Error(`SNNWrapper: multiCoefficient for layer ${layer} must be a number, a list or null`);
  if (list.length !== terms)
    throw new Error(`SNNWrapper: layer ${layer} has ${terms} term(s) but ${list.length} coefficient(s); give one coefficient per order`);
  return list.map((c, m) => checkCoefficient(c, `[${layer}][${m}]`));
}

/**
 * Reads the wrapper's alpha / alphaMode / multiCoefficient options into per-layer orders and weights
 * (see the decision table at the top of this file); `warn` receives the 'auto' mode's warnings.
 */
export function parseAlphaConfig(alpha: AlphaSpec | undefined, mode: AlphaMode, coefficient: CoefficientSpec | undefined,
  nLayers: number, warn: (msg: string) => void = (m) => process.emitWarning(m, 'FractionalSNNWarning')): ParsedAlphaConfig {
  if (!['auto', 'per_layer', 'multiterm'].includes(mode))
    throw new Error(`SNNWrapper: alphaMode '${mode}' is unknown; use 'auto', 'per_layer' or 'multiterm'`);
  if (nLayers < 1) throw new Error('SNNWrapper: the model has no neuron layers (LIFNeuron / IFNeuron); add at least one');
  const a = alpha ?? 0.5;

  if (typeof a === 'number') {
    checkOrder(a, '');
    const c = coefficient === undefined || coefficient === null ? [1]
      : typeof coefficient === 'number' ? [coefficient] : (coefficient as unknown[]);
    if (!Array.isArray(c) || c.length !== 1 || isNested(c))
      throw new Error('SNNWrapper: a scalar alpha takes a single coefficient (a number or [number]); for several terms pass a list of orders');
    return { mode: 'scalar', layers: Array.from({ length: nLayers }, () => ({ alphas: [a], coefficients: [checkCoefficient(c[0], '')] })) };
  }
  if (!Array.isArray(a) || a.length === 0) throw new Error('SNNWrapper: alpha must be a number, a non-empty list, or a list of per-layer lists');

  if (isNested(a)) {
    if (a.length !== nLayers)
      throw new Error(`SNNWrapper: the nested alpha list has ${a.length} entries but the model has ${nLayers} neuron layers; give one entry per neuron layer`);
    const coefList = coefficient === undefined || coefficient === null ? null : coefficient;
    if (coefList !== null && (!Array.isArray(coefList) || coefList.length !== nLayers))
      throw new Error(`SNNWrapper: with a nested alpha, multiCoefficient must have one entry per neuron layer (${nLayers}), nested alike`);
    const layers = a.map((entry, i) => {
      const list: unknown = typeof entry === 'number' ? [entry] : entry;
      if (!Array.isArray(list))
        throw new Error(`SNNWrapper: alpha[${i}] = ${JSON.stringify(list) ?? String(list)} must be a number or a list of orders for neuron layer ${i}`);
      const alphas = list.map((v, m) => checkOrder(v, `[${i}][${m}]`));
      if (alphas.length === 0) throw new Error(`SNNWrapper: layer ${i} has no orders; give at least one`);
      return { alphas, coefficients: layerCoefficients(coefList ? (coefList as unknown[])[i] : null, alphas.length, i) };
    });
    return { mode: 'per_layer_multiterm', layers };
  }

  const flat = (a as number[]).map((v, i) => checkOrder(v, `[${i}]`));
  let resolved: 'per_layer' | 'multiterm';
  if (mode === 'per_layer' || mode === 'multiterm') {
    resolved = mode;
  } else if (Array.isArray(coefficient) && coefficient.length > 0) {
    // Coefficients as a list (flat: shared terms; nested: per-layer weights of the same terms) mean multi-term.
    resolved = 'multiterm';
  } else if (flat.length === nLayers) {
    resolved = 'per_layer';
    warn(`SNNWrapper: alpha ${JSON.stringify(flat)} has one value per neuron layer (${nLayers}) and is read as per-layer orders; ` +
      "set alphaMode: 'per_layer' to silence this warning, or alphaMode: 'multiterm' for a multi-term operator shared by all layers");
  } else {
    resolved = 'multiterm';
    warn(`SNNWrapper: alpha ${JSON.stringify(flat)} has ${flat.length} values for ${nLayers} neuron layers and is read as a multi-term operator ` +
      "shared by all layers; set alphaMode: 'multiterm' to silence this warning");
  }

  if (resolved === 'per_layer') {
    if (flat.length !== nLayers)
      throw new Error(`SNNWrapper: alphaMode 'per_layer' needs one alpha per neuron layer: got ${flat.length} values for ${nLayers} neuron layers`);
    let coefs: number[] = ones(nLayers);
    if (coefficient !== undefined && coefficient !== null) {
      const c = typeof coefficient === 'number' ? new Array<number>(nLayers).fill(coefficient) : (coefficient as unknown[]);
      if (!Array.isArray(c) || c.length !== nLayers || isNested(c))
        throw new Error(`SNNWrapper: with per-layer single-term alpha, multiCoefficient must be a number or one number per layer (${nLayers})`);
      coefs = c.map((v, i) => checkCoefficient(v, `[${i}]`));
    }
    return { mode: 'per_layer', layers: flat.map((v, i) => ({ alphas: [v], coefficients: [coefs[i]] })) };
  }

  // multiterm: the same orders for every layer; coefficients flat (shared) or nested per layer.
  let perLayer: number[][];
  if (coefficient === undefined || coefficient === null) {
    perLayer = Array.from({ length: nLayers }, () => ones(flat.length));
  } else if (Array.isArray(coefficient) && isNested(coefficient as unknown[])) {
    if (coefficient.length !== nLayers)
      throw new Error(`SNNWrapper: nested multiCoefficient has ${coefficient.length} entries for ${nLayers} neuron layers; give one per layer`);
    perLayer = (coefficient as unknown[]).map((entry, i) => layerCoefficients(entry, flat.length, i));
  } else {
    const shared = layerCoefficients(coefficient, flat.length, 0);
    perLayer = Array.from({ length: nLayers }, () => shared.slice());
  }
  return { mode: 'multiterm', layers: perLayer.map((coefficients) => ({ alphas: flat.slice(), coefficients })) };
}

/** learnAlpha / learnCoefficient: a boolean for all layers or one per layer. */
export function perLayerFlags(v: boolean | boolean[] | undefined, nLayers: number, name: string, fallback: boolean): boolean[] {
  if (v === undefined) return new Array<boolean>(nLayers).fill(fallback);
  if (typeof v === 'boolean') return new Array<boolean>(nLayers).fill(v);
  if (!Array.isArray(v) || v.length !== nLayers || !v.every((b) => typeof b === 'boolean'))
    throw new Error(`SNNWrapper: ${name} must be a boolean or one boolean per neuron layer (${nLayers})`);
  return v.slice();
}

/**
 * The terms of a neuron given its own orders (new LIFNeuron({ alpha, coefficient })): alpha a number or a
 * list of orders (multi-term), coefficient a number or one weight per order (default all 1). `who` prefixes
 * the errors (the neuron's class name).
 */
export function parseNeuronTerms(alpha: number | number[], coefficient: number | number[] | undefined, who: string): LayerTerms {
  const list: unknown[] = typeof alpha === 'number' ? [alpha] : Array.isArray(alpha) ? alpha : [alpha];
  if (list.length === 0) throw new Error(`${who}: alpha is an empty list; give an order in (0, 1] (e.g. 0.5) or a list of orders (e.g. [0.3, 0.8])`);
  const alphas = list.map((a, m) => checkOrder(a, Array.isArray(alpha) ? `[${m}]` : '', who));
  if (coefficient === undefined) return { alphas, coefficients: ones(alphas.length) };
  const coefs: unknown[] = typeof coefficient === 'number' ? [coefficient] : Array.isArray(coefficient) ? coefficient : [coefficient];
  if (coefs.length !== alphas.length)
    throw new Error(`${who}: ${alphas.length} order(s) but ${coefs.length} coefficient(s); give one coefficient per order`);
  const coefficients = coefs.map((c, m) => {
    if (typeof c !== 'number' || !Number.isFinite(c)) throw new Error(`${who}: coefficient[${m}] = ${String(c)} must be a finite number`);
    return c;
  });
  return { alphas, coefficients };
}
