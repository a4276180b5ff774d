// Child process of parity.test.ts: the fast history's forward and adjoint on cuda, with the load depth
// that FSNN_CUDA_FAST_AHEAD sets in the real environment (jest gives each test file a copy of process.env,
// which native code does not see). Prints
// one JSON line: per case, the SHA-256 of every output's bits, or the error the op raised.
import { createHash } from 'crypto';
import { native } from '../../lib/native';
import type { FractionalNativeParams, NativeHandle } from '../../types/native';
import { fractionalForwardRaw } from '../../lib/fractional/op';
import { randomData } from '../helpers/gradcheck';

let seed = 8675309;
const data = (n: number, lo: number, hi: number) => Float32Array.from(randomData(n, seed++, lo, hi));
const digest = (h: NativeHandle) => {
  const a = h.toFloat32Array();
  return createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
};

// T below, at and past the depths (1, 4, 8) and not a multiple of them; gV present and absent.
const cases: [number, number, 'l1' | 'gl', number[], boolean][] = [
  [1, 40, 'l1', [0.3], true], [3, 33, 'gl', [0.6], false], [8, 65, 'l1', [0.3, 0.8], true],
  [13, 20, 'l1', [0.5], false], [203, 70, 'gl', [0.4, 0.7], true],
];
let out: { T: number; digests?: string[]; error?: string }[];
try {
  out = cases.map(([T, N, method, alphas, withGV]) => {
    const spec = [method, Float64Array.from(alphas), Float64Array.from(alphas.map(() => 1)), 1] as const;
    const params: FractionalNativeParams = { kind: 'lif', tau: 2, threshold: 1, surrogate: 'arctan', scale: 5, memory: T + 1, history: 'fast' };
    const I = native.fromFloat32(data(T * N, 0, 2.5), [T, N], 'cuda');
    const f = fractionalForwardRaw(I, ...spec, params, true);
    const gS = native.fromFloat32(data(T * N, -1, 1), [T, N], 'cuda');
    const gV = withGV ? native.fromFloat32(data(T * N, -0.2, 0.2), [T, N], 'cuda') : null;
    const b = native.fractionalBackward(I, f.v!, f.spikes, gS, gV, ...spec, params, { alpha: false, weight: false, pairs: true });
    return { T, digests: [f.spikes, f.v!, b.gI, b.gK!, b.gTauPair!].map(digest) };
  });
} catch (e) {
  out = [{ T: -1, error: (e as Error).message }];
}
process.stdout.write(JSON.stringify({ ahead: process.env.FSNN_CUDA_FAST_AHEAD ?? null, cuda: native.cudaIsAvailable(), cases: out }) + '\n');
