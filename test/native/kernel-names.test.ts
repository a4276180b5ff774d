// The generated TypeScript side of the kernel table (lib/kernel-names.ts, the generated part of
// types/native.d.ts) is what scripts/gen-kernels.js makes from native/kernels.def today, and it agrees
// with the loaded addon's registry.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { KERNEL_ENUMS, KERNEL_INPUTS, KERNEL_NAMES } from '../../lib/kernel-names';
import { native } from '../../lib/native';

const root = path.resolve(__dirname, '../..');

describe('the generated kernel names', () => {
  test('the checked-in files equal a fresh generation (npm run gen:kernels)', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/gen-kernels.js'), '--check'], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('the check fails on a declaration list that differs', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { parseDef } = require(path.join(root, 'scripts/gen-kernels.js')) as { parseDef: (t: string) => { kernels: { name: string }[] } };
    expect(() => parseDef('FSNN_KERNEL(a, 1, pure)\nFSNN_INPUT(b, x)\n')).toThrow(/'b' is outside its FSNN_KERNEL\(b\)/);
    expect(() => parseDef('FSNN_KERNEL(a, 3, pure)\n')).toThrow(/outputs must be 0, 1 or 2/);
    expect(parseDef('FSNN_KERNEL(a, 1, pure)\nFSNN_KERNEL_END(a)\n').kernels.map((k) => k.name)).toEqual(['a']);
  });

  test('every generated kernel is in the addon, with the declared inputs and enumeration values', () => {
    const k = native.runKernel as (name: string, inputs: unknown[], attrs?: unknown) => unknown;
    let listed = '';
    try {
      k('no such kernel', []);
    } catch (e) {
      listed = (e as Error).message;
    }
    const names = listed.replace(/^.*the kernels are: /, '').split(', ').sort();
    expect(names).toEqual([...KERNEL_NAMES].sort());
    // The addon reports the same input lists (an empty input list gives the error that names them).
    for (const name of KERNEL_NAMES) {
      const inputs = KERNEL_INPUTS[name].filter((i) => !i.endsWith('?'));
      if (inputs.length === 0) continue;
      expect(() => k(name, [])).toThrow(new RegExp(`runKernel\\('${name}'\\): takes .*\\(${KERNEL_INPUTS[name].join(', ').replace(/[.?]/g, '\\$&')}\\)`));
    }
    expect(() => k('unary', [], {})).toThrow(/takes 1 input tensor \(x\)/);
    // Every UnaryOp value is accepted by the addon.
    const x = native.fromFloat32(Float32Array.from([0.5, 2]), [2], 'cpu');
    for (const op of KERNEL_ENUMS.UnaryOp) expect(() => native.runKernel('unary', [x], { op })).not.toThrow();
  });
});
