// Loads the native addon: a matching prebuild (prebuilds/<platform>-<arch>/) first, then the local
// cmake-js build through `bindings`.
import * as fs from 'fs';
import * as path from 'path';
import type { NativeAddon } from '../types/native';

const packageRoot = path.resolve(__dirname, '..');

function findPrebuild(): string | null {
  const dir = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return null;
  const candidates = fs.readdirSync(dir).filter((f) => f.endsWith('.node') && (f.includes('napi') || f.startsWith('fractional-snn') || f.startsWith('fsnn')));
  return candidates.length ? path.join(dir, candidates.sort()[0]) : null;
}

function load(): NativeAddon {
  const prebuild = process.env.FSNN_NO_PREBUILD ? null : findPrebuild();
  if (prebuild) {
    try {
      return require(prebuild) as NativeAddon;
    } catch {
      // An incompatible prebuild falls through to the local build.
    }
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const bindings = require('bindings');
    return bindings({ bindings: 'fsnn', module_root: packageRoot }) as NativeAddon;
  } catch (e) {
    throw new Error(`fractional-snn: could not load the native addon (${(e as Error).message}). ` +
      'Build it with `npm ci` (or `npx cmake-js compile --out build`), which needs cmake and a C++ compiler.');
  }
}

/** The loaded N-API addon (the CPU and CUDA kernels). Low level, not a stable API: use Tensor and ops. */
export const native: NativeAddon = load();
