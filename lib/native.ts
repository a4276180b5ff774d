// The native addon, loaded once by native/loader.js (FSNN_ADDON, else node-gyp-build: a build from
// source in build/, else the matching prebuild in prebuilds/<platform>-<arch>/). The loader is plain
// JavaScript so that the install script and child processes use the same rules without TypeScript.
import * as path from 'path';
import type { NativeAddon } from '../types/native';

// lib/native.ts in a clone, dist/native.js in the package: the package root is one level up.
const packageRoot = path.resolve(__dirname, '..');

interface Loaded {
  addon: NativeAddon;
  file: string;
  how: 'FSNN_ADDON' | 'prebuild' | 'build from source';
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { loadAddon } = require('../native/loader') as { loadAddon: (root: string) => Loaded };

const loaded = loadAddon(packageRoot);

/** The loaded N-API addon (the CPU and CUDA kernels). Low level, not a stable API: only lib/ calls it; use Tensor and ops. */
export const native: NativeAddon = loaded.addon;

/** The .node file that was loaded, and why it was chosen (FSNN_ADDON, a prebuild or a build from source). */
export const nativeAddonFile: { file: string; how: Loaded['how'] } = { file: loaded.file, how: loaded.how };
