#!/usr/bin/env node
// Every CUDA op once, at small sizes, compared loosely with the CPU backend. Plain JavaScript on the
// native addon (no TypeScript, no jest), so that compute-sanitizer can run it quickly:
//   compute-sanitizer --tool memcheck   node scripts/cuda-smoke.js
//   compute-sanitizer --tool racecheck  node scripts/cuda-smoke.js --quick
// Exits 0 when every check passes (or, with a visible SKIPPED line, when CUDA is unavailable), else 1.
'use strict';
const path = require('path');

const root = path.resolve(__dirname, '..');
// FSNN_ADDON: an absolute path to a .node file to test instead of the local build (the emulator's).
const native = process.env.FSNN_ADDON ? require(process.env.FSNN_ADDON) : require('bindings')({ bindings: 'fsnn', module_root: root });
const quick = process.argv.includes('--quick');

if (!native.cudaIsAvailable()) {
  console.log(`SKIPPED: cuda smoke: ${native.cudaUnavailableReason()}`);
  process.exit(0);
}

let seed = 12345;
function rnd() {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 4294967296;
}
function data(n, lo = -1, hi = 1) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rnd();
  return a;
}
const numel = (s) => s.reduce((a, b) => a * b, 1);
function both(shape, lo, hi) {
  const d = data(numel(shape), lo, hi);
  return [native.fromFloat32(d, shape, 'cpu'), native.fromFloat32(d, shape, 'cuda')];
}
function relErr(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity;
    if (Number.isNaN(b[i])) continue;
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-30);
}
let failures = 0, checks = 0;
function cmp(name, gpu, cpu, tol = 1e-5) {
  checks++;
  const g = gpu.dtype === 'int32' ? gpu.toInt32Array() : gpu.toFloat32Array();
  const c = cpu.dtype === 'int32' ? cpu.toInt32Array() : cpu.toFloat32Array();
  const e = g.length === c.length ? relErr(g, c) : Infinity;
  if (!(e <= tol)) {
    failures++;
    console.log(`FAIL ${name}: relative error ${e} (tolerance ${tol})`);
  }
}
function run(name, fn) {
  try {
    fn();
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

const K = native.runKernel;
const full = (shape, value, device) => K('full', [], { shape, value, device });
run('copies', () => {
  const [c, g] = both([37, 5]);
  cmp('roundtrip', g, c, 0);
  cmp('clone', K('clone', [g]), c, 0);
  cmp('to cpu', K('to', [g], { device: 'cpu' }), c, 0);
  const f = full([1000], 2.5, 'cuda');
  cmp('full', f, full([1000], 2.5, 'cpu'), 0);
  K('fill', [f], { value: 0 });
  cmp('fill 0', f, full([1000], 0, 'cpu'), 0);
});
const UNARY = ['neg', 'exp', 'log', 'sqrt', 'abs', 'relu', 'sigmoid', 'tanh', 'pow', 'clamp', 'inRange', 'sign', 'affine', 'reciprocal', 'square'];
const BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'gt', 'ge', 'lt', 'le', 'eq', 'ne'];
run('unary', () => {
  const [c, g] = both([3, 257], 0.1, 3);
  for (const op of UNARY) cmp(`unary ${op}`, K('unary', [g], { op, p0: 1.5, p1: 2 }), K('unary', [c], { op, p0: 1.5, p1: 2 }), 1e-6);
});
run('binary / where / axpy', () => {
  const [a0, a1] = both([4, 5, 6]);
  const [b0, b1] = both([5, 1]);
  const [c0, c1] = both([6]);
  for (const op of BINARY) {
    cmp(`binary ${op} bcast`, K('binary', [a1, b1], { op }), K('binary', [a0, b0], { op }), 0);
    cmp(`binary ${op} row`, K('binary', [a1, c1], { op }), K('binary', [a0, c0], { op }), 0);
    cmp(`binary ${op} same`, K('binary', [a1, a1], { op }), K('binary', [a0, a0], { op }), 0);
  }
  cmp('where', K('where', [b1, a1, c1]), K('where', [b0, a0, c0]), 0);
  const [o0, o1] = both([4, 5, 6]);
  K('axpy', [o0, a0], { alpha: 0.3 });
  K('axpy', [o1, a1], { alpha: 0.3 });
  cmp('axpy', o1, o0, 0);
});
run('reduce', () => {
  const [c, g] = both([6, 70, 9]);
  for (const op of ['sum', 'mean', 'max', 'min'])
    for (const dims of [[1], [0, 2], [2], []]) {
      if (op === 'max' || op === 'min') {
        if (dims.length > 1) continue;
        const [vc, ic] = K('reduceWithIndices', [c], { op, dims });
        const [vg, ig] = K('reduceWithIndices', [g], { op, dims });
        cmp(`reduce ${op} ${dims}`, vg, vc, 0);
        cmp(`reduce ${op} ${dims} idx`, ig, ic, 0);
      } else {
        cmp(`reduce ${op} ${dims}`, K('reduce', [g], { op, dims }), K('reduce', [c], { op, dims }), 1e-6);
      }
    }
  const [bc, bg] = both([3, 5000]);
  cmp('reduce long rows', K('reduce', [bg], { op: 'sum', dims: [1] }), K('reduce', [bc], { op: 'sum', dims: [1] }), 1e-6);
});
run('matmul', () => {
  const [a0, a1] = both([3, 17, 33]);
  const [b0, b1] = both([33, 9]);
  cmp('matmul bcast', K('matmul', [a1, b1]), K('matmul', [a0, b0]), 1e-5);
  const [c0, c1] = both([2, 1, 9, 17]);
  const [d0, d1] = both([4, 17, 9]);
  const tt = { transA: true, transB: true };
  cmp('matmul TT', K('matmul', [d1, c1], tt), K('matmul', [d0, c0], tt), 1e-5);
});
run('layout', () => {
  const [c, g] = both([4, 6, 5, 3]);
  for (const perm of [[1, 0, 2, 3], [0, 1, 3, 2], [3, 2, 1, 0], [0, 2, 1, 3]])
    cmp(`permute ${perm}`, K('permute', [g], { perm }), K('permute', [c], { perm }), 0);
  const sl = { dim: 1, start: 1, end: 6, step: 2 };
  cmp('slice', K('slice', [g], sl), K('slice', [c], sl), 0);
  const [sc, sg] = both([4, 3, 5, 3]);
  const sb = { inputShape: [4, 6, 5, 3], dim: 1, start: 0, end: 6, step: 2 };
  cmp('sliceBackward', K('sliceBackward', [sg], sb), K('sliceBackward', [sc], sb), 0);
  cmp('concat', K('concat', [g, g], { dim: 2 }), K('concat', [c, c], { dim: 2 }), 0);
  const idx = Int32Array.from([5, 0, 2, 2]);
  cmp('indexSelect', K('indexSelect', [g], { dim: 1, index: idx }), K('indexSelect', [c], { dim: 1, index: idx }), 0);
  const [ic, ig] = both([4, 4, 5, 3]);
  const ia = { shape: [4, 6, 5, 3], dim: 1, index: idx };
  cmp('indexAdd', K('indexAdd', [ig], ia), K('indexAdd', [ic], ia), 1e-6);
  const gi = new Int32Array(4 * 2 * 5 * 3).map(() => Math.floor(rnd() * 6));
  const ga = { dim: 1, index: gi, indexShape: [4, 2, 5, 3] };
  cmp('gather', K('gather', [g], ga), K('gather', [c], ga), 0);
  const [gc, gg] = both([4, 2, 5, 3]);
  const sa = { shape: [4, 6, 5, 3], dim: 1, index: gi, indexShape: [4, 2, 5, 3] };
  cmp('scatterAdd', K('scatterAdd', [gg], sa), K('scatterAdd', [gc], sa), 1e-6);
});
run('nn', () => {
  const [c, g] = both([5, 10, 4]);
  cmp('softmax', K('softmax', [g], { dim: 1 }), K('softmax', [c], { dim: 1 }), 1e-6);
  cmp('logSoftmax', K('softmax', [g], { dim: 2, log: true }), K('softmax', [c], { dim: 2, log: true }), 1e-6);
  const [lc, lg] = both([7, 300]);
  cmp('softmax long', K('softmax', [lg], { dim: 1 }), K('softmax', [lc], { dim: 1 }), 1e-6);
  const args = { strideH: 2, strideW: 1, padH: 1, padW: 2, dilH: 1, dilW: 2, groups: 2 };
  const [xc, xg] = both([2, 4, 9, 8]);
  const [wc, wg] = both([6, 2, 3, 3]);
  const oc = K('conv2d', [xc, wc], args), og = K('conv2d', [xg, wg], args);
  cmp('conv2d', og, oc, 1e-5);
  const gd = data(numel(oc.shape));
  const gc = native.fromFloat32(gd, oc.shape, 'cpu'), gg = native.fromFloat32(gd, oc.shape, 'cuda');
  const dx = { ...args, inputShape: [2, 4, 9, 8] }, dw = { ...args, weightShape: [6, 2, 3, 3] };
  cmp('conv2d dx', K('conv2dBackwardInput', [gg, wg], dx), K('conv2dBackwardInput', [gc, wc], dx), 1e-5);
  cmp('conv2d dw', K('conv2dBackwardWeight', [gg, xg], dw), K('conv2dBackwardWeight', [gc, xc], dw), 1e-5);
  const pa = { kH: 3, kW: 2, strideH: 2, strideW: 1, padH: 1, padW: 1, countIncludePad: false, ceilMode: true };
  const pb = { ...pa, inputShape: [2, 4, 9, 8] };
  const [pc, ic] = K('maxPool2d', [xc], pa), [pg, ig] = K('maxPool2d', [xg], pa);
  cmp('maxPool2d', pg, pc, 0);
  cmp('maxPool2d idx', ig, ic, 0);
  const pgd = data(numel(pc.shape));
  const pgc = native.fromFloat32(pgd, pc.shape, 'cpu'), pgg = native.fromFloat32(pgd, pc.shape, 'cuda');
  cmp('maxPool2d backward', K('maxPool2dBackward', [pgg, ig], pb), K('maxPool2dBackward', [pgc, ic], pb), 0);
  cmp('avgPool2d', K('avgPool2d', [xg], pa), K('avgPool2d', [xc], pa), 1e-6);
  cmp('avgPool2d backward', K('avgPool2dBackward', [pgg], pb), K('avgPool2dBackward', [pgc], pb), 0);
});
run('random', () => {
  for (const kind of ['uniform', 'normal', 'bernoulli'])
    cmp(`random ${kind}`, K('random', [], { kind, shape: [1001], seed: 42, offset: 7, p: 0.3, device: 'cuda' }),
      K('random', [], { kind, shape: [1001], seed: 42, offset: 7, p: 0.3, device: 'cpu' }), kind === 'normal' ? 1e-6 : 0);
});
run('optimizers', () => {
  const adam = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, amsgrad: true, maximize: false, step: 3 };
  const dev = ['cpu', 'cuda'].map((d) => {
    const mk = (s) => native.fromFloat32(data(300, -1, 1).map((x) => (s ? Math.abs(x) : x)), [300], d);
    seed = 99;
    const t = { p: mk(false), g: mk(false), m: mk(false), v: mk(true), vm: mk(true) };
    K('adamStep', [t.p, t.g, t.m, t.v, t.vm], adam);
    K('sgdStep', [t.m, t.g, t.v], { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: true, firstStep: false, maximize: false });
    return t;
  });
  for (const k of ['p', 'm', 'v', 'vm']) cmp(`optim ${k}`, dev[1][k], dev[0][k], 1e-6);
});
run('fractional', () => {
  const Ts = quick ? [9, 70] : [1, 9, 70, 300];
  for (const T of Ts)
    for (const memory of [T + 1, 4]) {
      const spec = ['l1', new Float64Array([0.6]), new Float64Array([1.5]), 1];  // the kernel module's L1 kernel
      const params = { kind: 'lif', tau: 2, threshold: 1, surrogate: 'arctan', scale: 5, memory };
      const [Ic, Ig] = both([T, 3, 15], 0, 2.5);
      const fwd = (I) => { const [method, alphas, weights, h] = spec; const [spikes, v] = K('fractionalForward', [I], { method, alphas, weights, h, ...params, saveTrace: true }); return { spikes, v }; };
      const fc = fwd(Ic), fg = fwd(Ig);
      cmp(`frac T=${T} M=${memory} spikes`, fg.spikes, fc.spikes, 0);
      cmp(`frac T=${T} M=${memory} v`, fg.v, fc.v, 1e-5);
      const [gSc, gSg] = both([T, 3, 15]);
      const [gVc, gVg] = both([T, 3, 15], -0.1, 0.1);
      const want = { alpha: true, weight: true, tauScale: 0.7, pairs: true };
      const bc = native.fractionalBackward(Ic, fc.v, fc.spikes, gSc, gVc, ...spec, params, want);
      const bg = native.fractionalBackward(Ig, fg.v, fg.spikes, gSg, gVg, ...spec, params, want);
      cmp(`frac T=${T} M=${memory} gI`, bg.gI, bc.gI, 1e-4);
      checks++;
      // dK, dtau: [2, n] float32 hi/lo pairs on each device; the backends agree to float64 rounding.
      const hiLo = (h) => {
        const v = h.toFloat32Array(), n = v.length / 2, o = new Float64Array(n);
        for (let i = 0; i < n; i++) o[i] = v[i] + v[n + i];
        return o;
      };
      const tG = hiLo(bg.gTauPair)[0], tC = hiLo(bc.gTauPair)[0];
      const ek = relErr(hiLo(bg.gK), hiLo(bc.gK)), et = Math.abs(tG - tC) / Math.max(Math.abs(tC), 1e-30);
      if (!(ek <= 1e-9) || !(et <= 1e-9)) {
        failures++;
        console.log(`FAIL frac T=${T} M=${memory}: gK rel ${ek}, gTau rel ${et}`);
      }
      // The chain to alpha, the weight and theta (Backend::fractional_chain, float64 on each device).
      for (const k of ['gAlpha', 'gWeight', 'gTau']) cmp(`frac T=${T} M=${memory} ${k}`, bg[k], bc[k], 1e-6);
    }
});
native.cudaSynchronize();
console.log(`${failures ? 'FAILED' : 'ok'}: cuda smoke, ${checks} checks, ${failures} failure(s) (${native.cudaDeviceName(0)})`);
process.exit(failures ? 1 : 0);
