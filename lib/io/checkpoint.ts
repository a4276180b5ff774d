// fsnn.save / fsnn.load: state dicts as safetensors files (F32), with string metadata
// (the safetensors __metadata__) so that a checkpoint can describe its own architecture.
import { tensor } from '../creation';
import { Device, Tensor } from '../tensor';
import { readSafetensorsFile, readSafetensorsMetadata, TensorMap, writeSafetensorsFile } from './safetensors';
import { isFloat32Array } from '../typed-arrays';

/** Tensors to save, by name: tensors, or shapes with row-major values. */
export type SaveableState = Record<string, Tensor | {
  /** Dimensions. */
  shape: number[];
  /** Row-major float32 values. */
  data: Float32Array;
}>;

/** Writes the tensors (atomically: a temp file, then rename) with optional string metadata. */
export function save(state: SaveableState, path: string, metadata?: Record<string, string>): void {
  if (!state || typeof state !== 'object') throw new TypeError('save: pass a state dict (name -> Tensor), e.g. model.stateDict()');
  const map: TensorMap = Object.create(null);
  for (const [k, v] of Object.entries(state)) {
    if (v && (v as Tensor).__isTensor) {
      const t = v as Tensor;
      map[k] = { shape: t.shape.slice(), data: t.toFloat32Array() };
    } else if (v && isFloat32Array((v as { data: Float32Array }).data)) {
      map[k] = v as { shape: number[]; data: Float32Array };
    } else {
      throw new TypeError(`save: entry '${k}' is not a Tensor or { shape, data: Float32Array }`);
    }
  }
  writeSafetensorsFile(path, map, metadata);
}

/** Reads a safetensors file into tensors on `device` (default cpu). */
export function load(path: string, opts: { device?: Device } = {}): Record<string, Tensor> {
  const { tensors } = readSafetensorsFile(path);
  const out: Record<string, Tensor> = Object.create(null); // any name, "__proto__" included, is an own key
  for (const [k, v] of Object.entries(tensors)) out[k] = tensor(v.data, v.shape, { device: opts.device ?? 'cpu' });
  return out;
}

/** The string metadata of a checkpoint (its header only is read). */
export function loadMetadata(path: string): Record<string, string> {
  return readSafetensorsMetadata(path);
}
