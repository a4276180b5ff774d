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
  // FSNN_ADDON: an absolute path to a .node file, loaded instead of the prebuild / local build (used to
  // test other builds of the addon, e.g. the CUDA emulator's build-emu/Release/fsnn.node).
  const explicit = process.env.FSNN_ADDON;
  if (explicit) {
    if (!path.isAbsolute(explicit) || !fs.existsSync(explicit)) {
      throw new Error(`fractional-snn: FSNN_ADDON=${explicit} is not an absolute path to an existing .node file; ` +
        'unset it to load the package\'s own addon');
    }
    return require(explicit) as NativeAddon;
  }
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

export const native: NativeAddon = load();
