// A JSON description of a sequential f-SNN (layers + wrapper options), stored in a checkpoint's
// metadata so that the checkpoint describes its own architecture.
import { Conv2d, Flatten, Linear, MaxPool2d, AvgPool2d, Sequential, Dropout, Identity } from '../nn/layers';
import { Module } from '../nn/module';
import { FractionalMethod } from '../fractional/kernel';
import { IFNeuron, LIFNeuron, BaseNeuron } from './neurons';
import { SNNWrapper, SNNWrapperOptions } from './wrapper';

/** A size given as one number or an [h, w] pair (kept as given). */
export type IntPair = number | [number, number];

export type LayerSpec =
  | { type: 'linear'; in: number; out: number; bias?: boolean }
  | { type: 'conv2d'; in: number; out: number; kernel: IntPair; stride?: IntPair; padding?: IntPair; dilation?: IntPair; groups?: number; bias?: boolean }
  | { type: 'maxpool2d'; kernel: IntPair; stride?: IntPair; padding?: IntPair; ceilMode?: boolean }
  | { type: 'avgpool2d'; kernel: IntPair; stride?: IntPair; padding?: IntPair; ceilMode?: boolean; countIncludePad?: boolean }
  | { type: 'flatten' }
  | { type: 'dropout'; p: number }
  | { type: 'identity' }
  | { type: 'lif' | 'if'; tau: number; threshold: number; surrogate: string; surrogateScale: number; tauLearnable?: boolean };

export interface ModelSpec {
  format: 'fsnn-model-1';
  layers: LayerSpec[];
  wrapper: SNNWrapperOptions;
  /** How inputs are presented (free-form, e.g. { T: 8, encoding: 'direct', h: 1, method: 'l1', memory }). */
  input?: { T?: number; encoding?: string; h?: number; features?: number; method?: FractionalMethod; memory?: number; classes?: number };
}

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

/** Builds the wrapper a spec describes (fresh parameters: load the checkpoint's tensors next). */
export function buildFromSpec(spec: ModelSpec): SNNWrapper {
  if (!spec || spec.format !== 'fsnn-model-1' || !Array.isArray(spec.layers))
    throw new Error(`model spec: expected format 'fsnn-model-1' with a layers list, got ${JSON.stringify(spec)?.slice(0, 200)}`);
  const model = new Sequential(...spec.layers.map(buildLayer));
  return new SNNWrapper(model, { ...spec.wrapper, alphaMode: spec.wrapper.alphaMode });
}

export function parseModelSpec(json: string | undefined, source: string): ModelSpec {
  if (!json) throw new Error(`${source}: the checkpoint has no '${MODEL_SPEC_KEY}' metadata describing its architecture; save it with saveModel()`);
  try {
    return JSON.parse(json) as ModelSpec;
  } catch (e) {
    throw new Error(`${source}: the '${MODEL_SPEC_KEY}' metadata is not valid JSON (${(e as Error).message})`);
  }
}
