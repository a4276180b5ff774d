// native/exp_f32.h: the surrogates' exp, written so that the CPU, nvcc's device code and the CUDA
// emulator round it alike. benchmarks/native/exp_f32_check.cc checks it against float64 exp over every
// 61st float of [-104, 89] (36.7 million) and at the special inputs, in two builds: vectorized with FMA
// instructions (-O3 -mavx2 -mfma, as the CPU kernels use it) and scalar with the C library's fmaf
// (-O2). Both must be within 1 ulp and give the same bits (the same digest).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const cxx = ['g++', 'c++'].find((c) => spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0);
// The vector build needs a processor with AVX2 and FMA (as the CPU kernels' fast paths do).
const avx2fma = process.arch === 'x64' && (() => {
  try {
    const flags = fs.readFileSync('/proc/cpuinfo', 'utf8');
    return /\bavx2\b/.test(flags) && /\bfma\b/.test(flags);
  } catch {
    return false;
  }
})();
const maybe = cxx ? test : test.skip;
if (!cxx) console.log('SKIPPED: no C++ compiler (g++ / c++) for benchmarks/native/exp_f32_check.cc');

interface Report { checked: number; maxUlp: number; over1: number; digest: string; specials: string }
function buildAndRun(flags: string[]): Report {
  const exe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-exp-')), 'exp_f32_check');
  const b = spawnSync(cxx!, [...flags, '-std=c++17', '-I', path.join(root, 'native'), path.join(root, 'benchmarks/native/exp_f32_check.cc'), '-o', exe], { encoding: 'utf8' });
  expect(b.stderr).toBe('');
  expect(b.status).toBe(0);
  const r = spawnSync(exe, ['61'], { encoding: 'utf8', timeout: 120000 });
  const m = /checked (\d+) max_ulp (\d+) .* over1 (\d+) digest ([0-9a-f]+) specials (\w+)/.exec(r.stdout);
  if (!m) throw new Error(`exp_f32_check printed: ${r.stdout}${r.stderr}`);
  expect(r.status).toBe(0);
  return { checked: Number(m[1]), maxUlp: Number(m[2]), over1: Number(m[3]), digest: m[4], specials: m[5] };
}

describe('exp_f32 (native/exp_f32.h)', () => {
  maybe('within 1 ulp of exp, right at NaN, +-inf and both ends, and the same bits vectorized with FMA and scalar', () => {
    const plain = buildAndRun(['-O2']);
    expect(plain.checked).toBeGreaterThan(36_000_000);
    expect(plain.maxUlp).toBeLessThanOrEqual(1);
    expect(plain.over1).toBe(0);
    expect(plain.specials).toBe('ok');
    if (!avx2fma) return;  // no AVX2/FMA here: the scalar build alone
    const vector = buildAndRun(['-O3', '-mavx2', '-mfma']);
    expect(vector.maxUlp).toBeLessThanOrEqual(1);
    expect(vector.digest).toBe(plain.digest);
  }, 180000);
});
