// The recipe of native/README.md ("Adding a kernel") is true: in a copy of the tree, a throwaway kernel
// `lerp` (out = a + weight (b - a)) is added exactly as the recipe says, touching at most four files
// by hand (the declaration, ops.cc's checks and entry, the CPU body, a TypeScript call); the generator
// types it, the CPU-only addon builds, and the new kernel runs through runKernel and gives the closed
// form. Skipped (with a SKIPPED line) only where no C++ compiler or cmake is present.
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '../..');
const have = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
const missing = !have('c++') && !have('g++') ? 'no C++ compiler (c++ / g++)' : !have('cmake') ? 'no cmake' : null;

/** Files under dir (relative paths) with their content hashes, build outputs and node_modules left out. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (['node_modules', 'build', 'dist'].includes(r)) continue;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.set(r, crypto.createHash('sha1').update(fs.readFileSync(path.join(dir, r))).digest('hex'));
    }
  };
  walk('');
  return out;
}

function edit(file: string, find: string, insert: string, where: 'after' | 'before' | 'end'): void {
  let s = fs.readFileSync(file, 'utf8');
  if (where === 'end') s += insert;
  else {
    const i = s.indexOf(find);
    if (i < 0) throw new Error(`${file}: '${find}' not found`);
    const at = where === 'after' ? s.indexOf('\n', i) + 1 : i;
    s = s.slice(0, at) + insert + s.slice(at);
  }
  fs.writeFileSync(file, s);
}

const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) => {
  const e = { ...process.env, ...env };
  delete e.FSNN_ADDON;
  delete e.FSNN_DEVICE;
  const r = spawnSync(cmd, args, { cwd, env: e, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

describe('native/README.md: adding a kernel', () => {
  test('a throwaway kernel added by the recipe touches at most 4 files, builds and runs through runKernel', () => {
    if (missing) {
      // eslint-disable-next-line no-console
      console.log(`SKIPPED: the kernel recipe test (test/native/kernel-recipe.test.ts): ${missing}`);
      return;
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-recipe-'));
    try {
      for (const p of ['native', 'lib', 'types', 'scripts/gen-kernels.js', 'scripts/cmake-build.js', 'CMakeLists.txt', 'package.json', 'tsconfig.json'])
        fs.cpSync(path.join(root, p), path.join(tmp, p), { recursive: true });
      fs.symlinkSync(fs.realpathSync(path.join(root, 'node_modules')), path.join(tmp, 'node_modules'));
      const before = snapshot(tmp);

      // 1. The declaration: the kernel and its (CPU-only for now) device method.
      const def = path.join(tmp, 'native/kernels.def');
      edit(def, 'FSNN_DEVICE_OP(int64_t, first_non_finite', 'FSNN_DEVICE_OP_CPU_ONLY(void, lerp, (const Tensor& a, const Tensor& b, float weight, Tensor& out))\n', 'after');
      edit(def, '#undef FSNN_ENUM\n', [
        'FSNN_KERNEL(lerp, 1, pure)  // out = a + weight (b - a)',
        'FSNN_INPUT(lerp, a)', 'FSNN_INPUT(lerp, b)', 'FSNN_ATTR_REQ(lerp, weight, f32)', 'FSNN_KERNEL_END(lerp)', '', ''].join('\n'), 'before');
      // 2. Its checks and entry in ops.cc.
      edit(path.join(tmp, 'native/ops.cc'), '', `
namespace fsnn {
FSNN_KERNEL_ENTRY(lerp) {
  const Tensor &x = *in[0], &y = *in[1];
  ops::check_float("lerp", x);
  ops::check_float("lerp", y, "second input");
  ops::check_same_device("lerp", {&x, &y});
  if (x.shape != y.shape) fail("lerp: the inputs ", x.describe(), " and ", y.describe(), " must have the same shape");
  Tensor out = ops::empty(x.shape, x.device);
  x.storage->backend->lerp(x, y, a.weight, out);
  return {out};
}
}  // namespace fsnn
`, 'end');
      // 3. The CPU body.
      edit(path.join(tmp, 'native/cpu/cpu_elementwise.cc'), '', `
namespace fsnn {
namespace cpu {
void CpuBackend::lerp(const Tensor& a, const Tensor& b, float weight, Tensor& out) {
  const float *x = a.data(), *y = b.data();
  float* o = out.data();
  for (int64_t i = 0; i < out.numel(); ++i) o[i] = x[i] + weight * (y[i] - x[i]);
}
}  // namespace cpu
}  // namespace fsnn
`, 'end');
      // 4. A TypeScript call.
      fs.writeFileSync(path.join(tmp, 'lib/ops/lerp.ts'), [
        "import { runKernel } from '../kernels/run-kernel';",
        "import { Tensor } from '../tensor';",
        '/** a + weight (b - a), elementwise. */',
        'export const lerp = (a: Tensor, b: Tensor, weight: number): Tensor => new Tensor(runKernel(\'lerp\', [a.handle, b.handle], { weight }));',
        ''].join('\n'));
      run(process.execPath, ['scripts/gen-kernels.js'], tmp);

      const after = snapshot(tmp);
      const generated = new Set(['lib/kernel-names.ts', 'types/native.d.ts']);
      const touched = [...after.keys()].filter((f) => before.get(f) !== after.get(f) && !generated.has(f));
      const removed = [...before.keys()].filter((f) => !after.has(f));
      expect(removed).toEqual([]);
      expect(touched.sort()).toEqual(['lib/ops/lerp.ts', 'native/cpu/cpu_elementwise.cc', 'native/kernels.def', 'native/ops.cc']);
      expect(touched.length).toBeLessThanOrEqual(4);
      expect(fs.readFileSync(path.join(tmp, 'types/native.d.ts'), 'utf8')).toMatch(/export interface LerpAttrs \{ weight: number \}/);

      // The TypeScript call type-checks against the generated types, and the addon builds.
      run(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '--noEmit', '-p', 'tsconfig.json'], tmp);
      run(process.execPath, ['scripts/cmake-build.js'], tmp, { FSNN_CUDA: 'OFF', CMAKE_BUILD_PARALLEL_LEVEL: '2' });

      const script = `
        const { tensor } = require('./lib');
        const { lerp } = require('./lib/ops/lerp');
        const { native } = require('./lib/native');
        const a = tensor([1, 2, 3, -4]), b = tensor([5, 2, -1, 0.5]);
        const out = { values: Array.from(lerp(a, b, 0.25).toFloat32Array()), file: require('./lib/native').nativeAddonFile.file };
        try { native.runKernel('lerp', [a.handle, b.handle], {}); } catch (e) { out.missing = e.message; }
        try { native.runKernel('lerp', [a.handle, tensor([1, 2]).handle], { weight: 1 }); } catch (e) { out.shapes = e.message; }
        process.stdout.write(JSON.stringify(out));`;
      const out = JSON.parse(run(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only', { paths: [root] }), '-e', script], tmp));
      expect(out.file).toBe(path.join(fs.realpathSync(tmp), 'build/Release/fsnn.node'));
      const f = Math.fround;
      expect(out.values).toEqual([[1, 5], [2, 2], [3, -1], [-4, 0.5]].map(([x, y]) => f(x + f(f(0.25) * f(y - x)))));
      expect(out.missing).toMatch(/runKernel\('lerp'\): attribute 'weight' is required/);
      expect(out.shapes).toMatch(/lerp: the inputs cpu \[4\] and cpu \[2\] must have the same shape/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 40 * 60 * 1000);
});
