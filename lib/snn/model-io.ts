// saveModel / loadModel: a wrapper's tensors plus its architecture (model spec) in one safetensors file.
import { load, save } from '../io/checkpoint';
import { readSafetensorsHeader } from '../io/safetensors';
import { Device } from '../tensor';
import { buildFromSpec, declaredParameterShapes, MODEL_SPEC_KEY, ModelSpec, modelSpecOf, parseModelSpec } from './spec';
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
 * Checks every parameter shape the spec declares against the stored tensors' headers, before
 * anything is built: a small file declaring a 20000x20000 layer fails here, not after allocating it.
 */
function checkDeclaredShapes(spec: ModelSpec, stored: Map<string, { shape: number[] }>, path: string): void {
  const problems: string[] = [];
  for (const [name, shape] of declaredParameterShapes(spec)) {
    const s = stored.get(name);
    if (!s) problems.push(`missing tensor '${name}' (the spec declares [${shape.join(', ')}])`);
    else if (s.shape.join(',') !== shape.join(',')) problems.push(`'${name}': the spec declares [${shape.join(', ')}] but the file stores [${s.shape.join(', ')}]`);
  }
  const declared = declaredParameterShapes(spec);
  const neurons = spec.layers.filter((l) => l.type === 'lif' || l.type === 'if').length;
  const registry = /^perLayer(Alpha|Coefficient)\.(\d+)$/;
  for (const name of stored.keys()) {
    const m = registry.exec(name);
    if (!declared.has(name) && !(m && Number(m[2]) < neurons)) problems.push(`unexpected tensor '${name}'`);
  }
  if (problems.length)
    throw new Error(`${path}: the checkpoint does not match its stated architecture (nothing was built). ${problems.length} problem(s):\n  ` +
      `${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : ''}\n` +
      'Fix: re-save the model with saveModel(), or correct the fsnn.model metadata.');
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
  const header = readSafetensorsHeader(path);
  const metadata = header.metadata;
  const spec = parseModelSpec(metadata[MODEL_SPEC_KEY], path);
  checkDeclaredShapes(spec, header.tensors, path);
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
