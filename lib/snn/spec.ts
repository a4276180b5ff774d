// A JSON description of a sequential f-SNN (layers + wrapper options), stored in a checkpoint's
// metadata so that the checkpoint describes its own architecture.
import { Conv2d, Flatten, Linear, MaxPool2d, AvgPool2d, Sequential, Dropout, Identity } from '../nn/layers';
import { Module } from '../nn/module';
import { FractionalMethod } from '../fractional/kernel';
import { IFNeuron, LIFNeuron, BaseNeuron } from './neurons';
import { SNNWrapper, SNNWrapperOptions } from './wrapper';

export type LayerSpec =
  | { type: 'linear'; in: number; out: number; bias?: boolean }
  | { type: 'conv2d'; in: number; out: number; kernel: number; stride?: number; padding?: number; bias?: boolean }
  | { type: 'maxpool2d'; kernel: number; stride?: number }
  | { type: 'avgpool2d'; kernel: number; stride?: number }
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
    const s = m.options.stride, p = m.options.padding;
    return { type: 'conv2d', in: m.inChannels, out: m.outChannels, kernel: m.weight.shape[2], stride: typeof s === 'number' ? s : 1, padding: typeof p === 'number' ? p : 0, bias: m.bias !== null };
  }
  if (m instanceof MaxPool2d) return { type: 'maxpool2d', kernel: m.kernelSize as number, stride: m.options.stride as number | undefined };
  if (m instanceof AvgPool2d) return { type: 'avgpool2d', kernel: m.kernelSize as number, stride: m.options.stride as number | undefined };
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
    case 'conv2d': return new Conv2d(s.in, s.out, s.kernel, { stride: s.stride, padding: s.padding, bias: s.bias });
    case 'maxpool2d': return new MaxPool2d(s.kernel, { stride: s.stride });
    case 'avgpool2d': return new AvgPool2d(s.kernel, { stride: s.stride });
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
