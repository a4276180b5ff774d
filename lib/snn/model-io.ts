// saveModel / loadModel: a wrapper's tensors plus its architecture (model spec) in one safetensors file.
import { load, loadMetadata, save } from '../io/checkpoint';
import { Device } from '../tensor';
import { buildFromSpec, MODEL_SPEC_KEY, ModelSpec, modelSpecOf, parseModelSpec } from './spec';
import { SNNWrapper } from './wrapper';

/**
 * Saves a model to `path` (safetensors): saveModel(net, path, input?, extra?). The weights and orders go in as
 * tensors; the architecture (modelSpecOf(net)), `input` (how inputs are presented: T, encoding, features, ...)
 * and the `extra` metadata strings go into the header, so that loadModel(path) rebuilds the model alone.
 */
export function saveModel(net: SNNWrapper, path: string, input?: ModelSpec['input'], extra: Record<string, string> = {}): void {
  save(net.stateDict(), path, { ...extra, [MODEL_SPEC_KEY]: JSON.stringify(modelSpecOf(net, input)) });
}

/**
 * Rebuilds the model a checkpoint describes and loads its tensors. A checkpoint whose tensors do not
 * match its stated architecture gets an error listing every mismatch.
 */
export function loadModel(path: string, opts: { device?: Device } = {}): {
  /** The rebuilt model with its weights. */
  net: SNNWrapper;
  /** The architecture and input description read from the file. */
  spec: ModelSpec;
  /** Every metadata entry of the file. */
  metadata: Record<string, string>;
} {
  const metadata = loadMetadata(path);
  const spec = parseModelSpec(metadata[MODEL_SPEC_KEY], path);
  const net = buildFromSpec(spec);
  const tensors = load(path);
  try {
    net.loadStateDict(tensors);
  } catch (e) {
    throw new Error(`${path}: the checkpoint does not match its stated architecture. ${(e as Error).message}`);
  }
  if (opts.device && opts.device !== 'cpu') net.to(opts.device);
  return { net, spec, metadata };
}
