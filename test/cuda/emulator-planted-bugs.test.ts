// The CUDA emulator can fail: three bugs are planted, one at a time, in a scratch copy of a real
// cuda/ source; that one translation unit is recompiled with the emulator build's own flags
// (build-emu/compile_commands.json), the addon is relinked from build-emu's other objects, and
// scripts/cuda-smoke.js runs against it in a child process (FSNN_ADDON). Each planted bug must make
// the smoke test fail with the expected diagnosis; the unmutated copy, built the same way, must pass
// (so a failure is the bug's doing, not the rebuild's).
//   1. a missing __syncthreads in the tiled transpose -> unordered shared-memory reads see the NaN
//      poison -> "permute" differs from the CPU;
//   2. an off-by-one bound in the transpose's store -> an out-of-bounds write caught by the red zones
//      (FSNN_CUDA_ALLOC=exact,poison: blocks of exactly the requested size);
//   3. a wrong leading dimension passed to cuBLAS -> the host GEMM applies cuBLAS's rule and answers
//      CUBLAS_STATUS_INVALID_VALUE;
// and a barrier that can never complete (threads that return before it) ends as a deadlock error.
// Skipped, with a visible reason, when the emulator build (npm run test:cuda-emu) is absent.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const buildDir = path.join(root, process.env.FSNN_EMU_BUILD_DIR ?? 'build-emu');
const commandsFile = path.join(buildDir, 'compile_commands.json');
const addon = path.join(buildDir, 'Release', 'fsnn.node');
const present = fs.existsSync(commandsFile) && fs.existsSync(addon) && fs.existsSync(path.join(buildDir, 'build.ninja'));
if (!present) {
  // eslint-disable-next-line no-console
  console.log(`SKIPPED: emulator planted-bug test: no emulator build in ${buildDir} (run npm run test:cuda-emu first)`);
}
const describeEmu = present ? describe : describe.skip;

interface CompileCommand { directory: string; command: string; file: string }

function run(cmd: string, cwd: string): void {
  const r = spawnSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`command failed (${r.status}): ${cmd.slice(0, 300)}...\n${r.stderr}`);
}

/** Builds an addon whose `file` (relative to the repository) is replaced by `source`; returns its path. */
function buildVariant(file: string, source: string, tmp: string, tag: string): string {
  const commands = JSON.parse(fs.readFileSync(commandsFile, 'utf8')) as CompileCommand[];
  const abs = path.join(root, file);
  const entry = commands.find((c) => path.resolve(c.directory, c.file) === abs);
  if (!entry) throw new Error(`${file} is not in ${commandsFile}`);
  const src = path.join(tmp, `${tag}-${path.basename(file)}`);
  fs.writeFileSync(src, source);
  const obj = path.join(tmp, `${tag}.o`);
  const objRel = entry.command.match(/ -o (\S+)/)![1];
  // The copy lives outside cuda/: its quoted includes ("cuda_backend.h", "../native/x.h") resolve
  // through -I <repo>/cuda.
  const compile = entry.command.replace(` -o ${objRel}`, ` -o ${obj}`).replace(` -c ${entry.file}`, ` -I${path.dirname(abs)} -c ${src}`);
  run(compile, entry.directory);
  const link = spawnSync('ninja', ['-C', buildDir, '-t', 'commands', 'Release/fsnn.node'], { encoding: 'utf8' });
  const lines = link.stdout.trim().split('\n');
  let linkCmd = lines[lines.length - 1].replace(/^:\s*&&\s*/, '').replace(/\s*&&\s*:\s*$/, '');
  const out = path.join(tmp, `${tag}.node`);
  if (!linkCmd.includes(` ${objRel} `) || !linkCmd.includes(' -o Release/fsnn.node ')) throw new Error(`unexpected link command: ${linkCmd.slice(0, 300)}`);
  linkCmd = linkCmd.replace(` ${objRel} `, ` ${obj} `).replace(' -o Release/fsnn.node ', ` -o ${out} `);
  run(linkCmd, buildDir);
  return out;
}

function smoke(addonPath: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'cuda-smoke.js')], {
    encoding: 'utf8',
    env: { ...process.env, FSNN_ADDON: addonPath, FSNN_CUDA_ALLOC: 'exact,poison', FSNN_DEVICE: '' },
    timeout: 300000,
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

/** Replaces the n-th (0-based) occurrence of `from` in `text`; throws if it is absent. */
function replaceNth(text: string, from: string, to: string, n: number): string {
  let at = -1;
  for (let i = 0; i <= n; i++) {
    at = text.indexOf(from, at + 1);
    if (at < 0) throw new Error(`mutation anchor not found: ${from} (#${n})`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

describeEmu('the CUDA emulator catches planted bugs (build-emu)', () => {
  let tmp = '';
  const layoutFile = 'cuda/cuda_reduce_layout.cu';
  const blasFile = 'cuda/cuda_blas.cu';
  let layout = '', blas = '', transpose = '';
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-planted-'));
    layout = fs.readFileSync(path.join(root, layoutFile), 'utf8');
    blas = fs.readFileSync(path.join(root, blasFile), 'utf8');
    const start = layout.indexOf('transpose_kernel(');
    transpose = layout.slice(start, layout.indexOf('\n}\n', start));
    expect(transpose).toContain('__syncthreads();');
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('control: the unmutated copy, rebuilt the same way, passes the smoke test', () => {
    const r = smoke(buildVariant(blasFile, blas, tmp, 'control'));
    expect(r.output).toMatch(/ok: cuda smoke, \d+ checks, 0 failure/);
    expect(r.status).toBe(0);
  }, 600000);

  test('a missing __syncthreads in the tiled transpose is caught (NaN-poisoned shared memory)', () => {
    const mutated = transpose.replace('__syncthreads();', '/* planted: barrier removed */');
    const r = smoke(buildVariant(layoutFile, layout.replace(transpose, mutated), tmp, 'nosync'));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/FAIL permute/);
  }, 600000);

  test('an off-by-one bound (c <= C) in the transpose store is caught by the red zones', () => {
    const mutated = replaceNth(transpose, 'if (r < R && c < C)', 'if (r < R && c <= C)', 1);
    const r = smoke(buildVariant(layoutFile, layout.replace(transpose, mutated), tmp, 'offbyone'));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/out-of-bounds write detected by the emulator's red zones/);
  }, 600000);

  test('a barrier that can never complete (threads return before __syncthreads) is a deadlock error, not a hang', () => {
    const mutated = transpose.replace('__syncthreads();', 'if (threadIdx.y == 7) return;  // planted\n    __syncthreads();');
    const r = smoke(buildVariant(layoutFile, layout.replace(transpose, mutated), tmp, 'deadlock'));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/deadlock: no barrier of the block can complete .*__syncthreads\(\) needs every thread of the block, but thread \(\d+,7,0\) has exited/);
  }, 600000);

  test("a wrong leading dimension (B's for A) is rejected by the host GEMM's cuBLAS rules", () => {
    const mutated = blas.split('int(lda)').join('int(ldb)');
    expect(mutated).not.toBe(blas);
    const r = smoke(buildVariant(blasFile, mutated, tmp, 'wrongld'));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/CUBLAS_STATUS_INVALID_VALUE/);
    expect(r.output).toMatch(/parameter number \d+ had an illegal value/);
  }, 600000);
});
