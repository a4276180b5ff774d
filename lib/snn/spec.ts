// A JSON description of a sequential f-SNN (layers + wrapper options), stored in a checkpoint's
// metadata so that the checkpoint describes its own architecture.
import { Conv2d, Flatten, Linear, MaxPool2d, AvgPool2d, Sequential, Dropout, Identity } from '../nn/layers';
import { Module } from '../nn/module';
import { FractionalMethod } from '../fractional/kernel';
import { memoryWindowProblem } from '../fractional/memory-window';
import { FractionalHistory, HISTORIES } from '../fractional/op';
import { IFNeuron, LIFNeuron, BaseNeuron } from './neurons';
import { SNNWrapper, SNNWrapperOptions } from './wrapper';

/** A size given as one number or an [h, w] pair (kept as given). */
export type IntPair = number | [number, number];

/**
 * One layer of a saved architecture: its type and the settings needed to rebuild it (the JSON of modelSpecOf()).
 * Fields: `in`/`out` features or channels, `kernel`, `stride`, `padding`, `dilation`, `groups`, `bias`, `ceilMode`,
 * `countIncludePad` (as the layer constructors), `p` (dropout), and for neurons `tau`, `threshold`, `surrogate`,
 * `surrogateScale`, `tauLearnable`.
 */
export type LayerSpec =
  | {
    /** A Linear layer. */
    type: 'linear';
    /** Input features. */
    in: number;
    /** Output features. */
    out: number;
    /** Has a bias (default true). */
    bias?: boolean;
  }
  | {
    /** A Conv2d layer. */
    type: 'conv2d';
    /** Input channels. */
    in: number;
    /** Output channels. */
    out: number;
    /** Kernel size. */
    kernel: IntPair;
    /** Stride (default 1). */
    stride?: IntPair;
    /** Padding (default 0). */
    padding?: IntPair;
    /** Dilation (default 1). */
    dilation?: IntPair;
    /** Channel groups (default 1). */
    groups?: number;
    /** Has a bias (default true). */
    bias?: boolean;
  }
  | {
    /** A MaxPool2d layer. */
    type: 'maxpool2d';
    /** Window size. */
    kernel: IntPair;
    /** Stride (default: the window). */
    stride?: IntPair;
    /** Padding (default 0). */
    padding?: IntPair;
    /** Round the output size up. */
    ceilMode?: boolean;
  }
  | {
    /** An AvgPool2d layer. */
    type: 'avgpool2d';
    /** Window size. */
    kernel: IntPair;
    /** Stride (default: the window). */
    stride?: IntPair;
    /** Padding (default 0). */
    padding?: IntPair;
    /** Round the output size up. */
    ceilMode?: boolean;
    /** Count padded zeros in the mean (default true). */
    countIncludePad?: boolean;
  }
  | {
    /** A Flatten layer (dimensions 2 to the last). */
    type: 'flatten';
  }
  | {
    /** A Dropout layer. */
    type: 'dropout';
    /** Probability of zeroing an element. */
    p: number;
  }
  | {
    /** An Identity layer. */
    type: 'identity';
  }
  | {
    /** A LIFNeuron or IFNeuron layer. */
    type: 'lif' | 'if';
    /** Membrane time constant. */
    tau: number;
    /** Firing threshold. */
    threshold: number;
    /** Surrogate gradient name. */
    surrogate: string;
    /** Steepness of the surrogate. */
    surrogateScale: number;
    /** The time constant is learned. */
    tauLearnable?: boolean;
  };

/** A saved architecture: the layers of a Sequential, the wrapper options, and how inputs are presented. */
export interface ModelSpec {
  /** Version of this format. */
  format: 'fsnn-model-1';
  /** The layers in order. */
  layers: LayerSpec[];
  /** The SNNWrapper options, with the learned orders and weights. */
  wrapper: SNNWrapperOptions;
  /** How inputs are presented (free-form, e.g. { T: 8, encoding: 'direct', h: 1, method: 'l1', memory }). */
  input?: {
    /** Time steps per sample. */
    T?: number;
    /** Input encoding, e.g. 'direct', 'poisson', 'sequential-rows'. */
    encoding?: string;
    /** Step between sample times (default 1). */
    h?: number;
    /** Values per sample before encoding (e.g. 784). */
    features?: number;
    /** Discretisation of the fractional derivative. */
    method?: FractionalMethod;
    /** History window (absent: the full history). */
    memory?: number;
    /** How the history sum is evaluated: 'exact', 'fast' or 'auto' (absent: 'auto'). */
    history?: FractionalHistory;
    /** Number of classes of the output. */
    classes?: number;
  };
}

/** The metadata key under which saveModel() stores the ModelSpec JSON. */
export const MODEL_SPEC_KEY = 'fsnn.model';

export function layerSpecOf(m: Module): LayerSpec {
  if (m instanceof Linear) return { type: 'linear', in: m.inFeatures, out: m.outFeatures, bias: m.bias !== null };
  if (m instanceof BaseNeuron)
    return { type: m.kind, tau: m.tau, threshold: m.threshold, surrogate: m.surrogate, surrogateScale: m.surrogateScale, tauLearnable: m.tauTheta !== null };
  if (m instanceof Conv2d) {
    // every option that changes the output is recorded (a pair stays a pair): a spec that dropped one would
    // rebuild a different network whose weights still load
    const [kh, kw] = [m.weight.shape[2], m.weight.shape[3]];
    const o = m.options;
    return { type: 'conv2d', in: m.inChannels, out: m.outChannels, kernel: kh === kw ? kh : [kh, kw], stride: o.stride ?? 1, padding: o.padding ?? 0,
      dilation: o.dilation ?? 1, groups: o.groups ?? 1, bias: m.bias !== null };
  }
  if (m instanceof MaxPool2d)
    return { type: 'maxpool2d', kernel: m.kernelSize, stride: m.options.stride, padding: m.options.padding ?? 0, ceilMode: !!m.options.ceilMode };
  if (m instanceof AvgPool2d)
    return { type: 'avgpool2d', kernel: m.kernelSize, stride: m.options.stride, padding: m.options.padding ?? 0, ceilMode: !!m.options.ceilMode,
      countIncludePad: m.options.countIncludePad ?? true };
  if (m instanceof Flatten) return { type: 'flatten' };
  if (m instanceof Dropout) return { type: 'dropout', p: m.p };
  if (m instanceof Identity) return { type: 'identity' };
  throw new Error(`model spec: layer ${m.constructor.name} cannot be described; only Sequential models of built-in layers are supported`);
}

/** Describes a wrapper over an nn.Sequential of built-in layers. */
export function modelSpecOf(net: SNNWrapper, input?: ModelSpec['input']): ModelSpec {
  if (!(net.model instanceof Sequential)) throw new Error('model spec: the wrapped model must be an nn.Sequential');
  const layers = net.model.children().map(layerSpecOf);
  const wrapper: SNNWrapperOptions = {
    integrator: net.integrator,
    alpha: net.getPerLayerAlpha().map((a) => Array.from(a.toFloat32Array())),
    multiCoefficient: net.getPerLayerCoefficient().map((c) => Array.from(c.toFloat32Array())),
    learnAlpha: net.learnAlpha,
    learnCoefficient: net.learnCoefficient,
    alphaMin: net.alphaMin,
    // the forward method, where it is not the integrator's default ('l1' / 'euler')
    ...(net.method !== (net.integrator === 'odeint' ? 'euler' : 'l1') ? { method: net.method } : {}),
  };
  return { format: 'fsnn-model-1', layers, wrapper, input };
}

export function buildLayer(s: LayerSpec, i: number): Module {
  switch (s.type) {
    case 'linear': return new Linear(s.in, s.out, { bias: s.bias });
    case 'conv2d': return new Conv2d(s.in, s.out, s.kernel, { stride: s.stride, padding: s.padding, dilation: s.dilation, groups: s.groups, bias: s.bias });
    case 'maxpool2d': return new MaxPool2d(s.kernel, { stride: s.stride, padding: s.padding, ceilMode: s.ceilMode });
    case 'avgpool2d': return new AvgPool2d(s.kernel, { stride: s.stride, padding: s.padding, ceilMode: s.ceilMode, countIncludePad: s.countIncludePad });
    case 'flatten': return new Flatten();
    case 'dropout': return new Dropout(s.p);
    case 'identity': return new Identity();
    case 'lif':
    case 'if': {
      const opts = { tau: s.tau, threshold: s.threshold, surrogate: s.surrogate as 'arctan', surrogateScale: s.surrogateScale, tauLearnable: s.tauLearnable };
      return s.type === 'lif' ? new LIFNeuron(opts) : new IFNeuron(opts);
    }
    default:
      throw new Error(`model spec: layer ${i} has unknown type '${(s as { type: string }).type}'`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const LAYER_TYPES = ['linear', 'conv2d', 'maxpool2d', 'avgpool2d', 'flatten', 'dropout', 'identity', 'lif', 'if'];

function checkInput(input: unknown): void {
  if (input === undefined) return;
  if (!isObject(input)) throw new Error(`model spec: 'input' must be an object (e.g. { "T": 8, "classes": 10 }), got ${JSON.stringify(input)}`);
  const positiveInt = (k: string, what: string) => {
    const v = input[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= 1))
      throw new Error(`model spec: input.${k} = ${JSON.stringify(v)} must be a positive integer (${what}). Fix: set it in the metadata, or remove it`);
  };
  positiveInt('T', 'time steps per sample');
  positiveInt('classes', 'the number of classes, which must equal the width of the model output');
  positiveInt('features', 'input features per time step');
  const memoryProblem = input.memory === undefined ? null : memoryWindowProblem(input.memory);
  if (memoryProblem) throw new Error(`model spec: input.memory: ${memoryProblem}. Fix: set it in the metadata, or remove it`);
  if (input.history !== undefined && !HISTORIES.includes(input.history as FractionalHistory))
    throw new Error(`model spec: input.history = ${JSON.stringify(input.history)} must be one of ${HISTORIES.map((s) => `'${s}'`).join(', ')}. Fix: set it in the metadata, or remove it`);
  if (input.history === 'fast' && input.memory !== undefined)
    throw new Error("model spec: input.history 'fast' needs the full history, but input.memory is set. Fix: remove input.memory, or set input.history to 'exact' or 'auto'");
  if (input.h !== undefined && !(typeof input.h === 'number' && Number.isFinite(input.h) && input.h > 0))
    throw new Error(`model spec: input.h = ${JSON.stringify(input.h)} must be a positive number (the time step). Fix: set it in the metadata, or remove it`);
}

/** Checks a spec's structure, naming the field at fault and the fix. */
export function validateSpec(spec: unknown): asserts spec is ModelSpec {
  if (!isObject(spec) || spec.format !== 'fsnn-model-1')
    throw new Error(`model spec: expected an object with format 'fsnn-model-1', got ${JSON.stringify(spec)?.slice(0, 200)}. Fix: save the model with saveModel()`);
  if (!Array.isArray(spec.layers) || spec.layers.length === 0)
    throw new Error(`model spec: 'layers' must be a non-empty list of layer objects, got ${JSON.stringify(spec.layers)?.slice(0, 200)}`);
  spec.layers.forEach((l: unknown, i: number) => {
    if (!isObject(l))
      throw new Error(`model spec: layers[${i}] is ${JSON.stringify(l)}; every layer must be an object with a 'type' (${LAYER_TYPES.join(', ')}). ` +
        'Fix: remove the entry or describe the layer');
    if (!LAYER_TYPES.includes(l.type as string))
      throw new Error(`model spec: layers[${i}] has unknown type ${JSON.stringify(l.type)}; use one of ${LAYER_TYPES.join(', ')}`);
  });
  if (!isObject(spec.wrapper))
    throw new Error(`model spec: 'wrapper' is ${spec.wrapper === undefined ? 'missing' : JSON.stringify(spec.wrapper)}; it must be an object of SNNWrapper options ` +
      "(e.g. { \"integrator\": \"fdeint\", \"alpha\": 0.5 }). Fix: add \"wrapper\": {} for the defaults, or re-save with saveModel()");
  checkInput(spec.input);
}

/**
 * The parameter shapes a spec declares (by state-dict name), computed without building anything,
 * so a checkpoint can be checked against them before any allocation.
 */
export function declaredParameterShapes(spec: ModelSpec): Map<string, number[]> {
  validateSpec(spec);
  const out = new Map<string, number[]>();
  const pairOf = (v: IntPair): [number, number] => (typeof v === 'number' ? [v, v] : v);
  spec.layers.forEach((l, i) => {
    if (l.type === 'linear') {
      out.set(`${i}.weight`, [l.out, l.in]);
      if (l.bias !== false) out.set(`${i}.bias`, [l.out]);
    } else if (l.type === 'conv2d') {
      const [kh, kw] = Array.isArray(l.kernel) || typeof l.kernel === 'number' ? pairOf(l.kernel) : [NaN, NaN];
      out.set(`${i}.weight`, [l.out, l.in / (l.groups ?? 1), kh, kw]);
      if (l.bias !== false) out.set(`${i}.bias`, [l.out]);
    } else if ((l.type === 'lif' || l.type === 'if') && l.tauLearnable) {
      out.set(`${i}.tauTheta`, [1]);
    }
  });
  return out;
}

/** Builds the wrapper a spec describes (fresh parameters: load the checkpoint's tensors next). */
export function buildFromSpec(spec: ModelSpec): SNNWrapper {
  validateSpec(spec);
  const layers = spec.layers.map((l, i) => {
    try {
      return buildLayer(l, i);
    } catch (e) {
      throw new Error(`model spec: layers[${i}] (${l.type}): ${(e as Error).message}`);
    }
  });
  return new SNNWrapper(new Sequential(...layers), { ...spec.wrapper, alphaMode: spec.wrapper.alphaMode });
}

export function parseModelSpec(json: string | undefined, source: string): ModelSpec {
  if (!json) throw new Error(`${source}: the checkpoint has no '${MODEL_SPEC_KEY}' metadata describing its architecture; save it with saveModel()`);
  let spec: unknown;
  try {
    spec = JSON.parse(json);
  } catch (e) {
    throw new Error(`${source}: the '${MODEL_SPEC_KEY}' metadata is not valid JSON (${(e as Error).message})`);
  }
  try {
    validateSpec(spec);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return spec;
}
