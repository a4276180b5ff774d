// Rehearses the GPU bundle's one command, `bash .gpu-bundle/run.sh`, here: no GPU, and no `node` on the
// PATH (the PATH given to run.sh holds every command of this machine except node, npm, npx and
// nvidia-smi). The bootstrap must unpack the bundled node and load the addon with it, every GPU step
// must end as SKIP with its reason, and $OUT must hold summary.txt and at most 8 files of at most 4 MB.
// The bundle is built first (npm run gpu:bundle: a CUDA build in build-gpu/, so nvcc is needed) when it
// is absent or older than the sources. FSNN_SKIP_GPU_BUNDLE=1 skips this file visibly.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const bundler = require('../../scripts/gpu-bundle.js') as {
  sourcesDigest: () => string;
  bundleDigest: (dir: string) => string | null;
};

const ROOT = path.resolve(__dirname, '..', '..');
const BUNDLE = path.join(ROOT, '.gpu-bundle');
const GPU_STEPS = ['smoke', 'parity', 'bench', 'profile', 'crossover', 'ncu', 'memcheck-smoke', 'memcheck-parity', 'racecheck', 'synccheck', 'suite', 'nccl'];
const HIDDEN = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack', 'nvidia-smi']);

function whyNot(): string | null {
  if (process.env.FSNN_SKIP_GPU_BUNDLE === '1') return 'FSNN_SKIP_GPU_BUNDLE=1';
  if (process.env.FSNN_DEVICE === 'cuda') return 'device-independent; it runs in the default (cpu) pass';
  const nvcc = spawnSync('nvcc', ['--version']);
  if (nvcc.error || nvcc.status !== 0) return 'nvcc not found: the bundle needs a CUDA build (npm run gpu:bundle)';
  return null;
}
const reason = whyNot();
if (reason) {
  // eslint-disable-next-line no-console
  console.log(`SKIPPED: GPU bundle rehearsal (test/cuda/gpu-bundle.test.ts): ${reason}`);
}
const describeIf = reason ? describe.skip : describe;

/** A folder of links to every command on this PATH except node, npm, npx and nvidia-smi. */
function pathWithoutNode(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const d of (process.env.PATH ?? '').split(':')) {
    if (!d || !fs.existsSync(d)) continue;
    for (const name of fs.readdirSync(d)) {
      const target = path.join(d, name);
      const link = path.join(dir, name);
      if (HIDDEN.has(name) || fs.existsSync(link)) continue;
      try {
        if (fs.statSync(target).isFile()) fs.symlinkSync(fs.realpathSync(target), link);
      } catch {
        // a dangling link on the PATH: leave it out
      }
    }
  }
  return dir;
}

interface Row { step: string; status: string; sec: number; note: string }
function readSummary(out: string): { text: string; rows: Map<string, Row> } {
  const text = fs.readFileSync(path.join(out, 'summary.txt'), 'utf8');
  const rows = new Map<string, Row>();
  const lines = text.split('\n');
  const head = lines.findIndex((l) => /^step\s+status\s+sec\s+note/.test(l));
  for (const l of lines.slice(head + 1)) {
    const m = /^(\S+)\s+(PASS|FAIL|SKIP)\s+(\d+)\s+(.*)$/.exec(l);
    if (!m) break;
    rows.set(m[1], { step: m[1], status: m[2], sec: Number(m[3]), note: m[4] });
  }
  return { text, rows };
}

function rehearse(bundle: string, tmp: string) {
  const bin = pathWithoutNode(path.join(tmp, 'bin'));
  const out = path.join(tmp, 'out');
  const env = { PATH: bin, HOME: os.homedir(), TMPDIR: tmp, OUT: out, FSNN_GPU_WORK: path.join(tmp, 'work') };
  const which = spawnSync(path.join(bin, 'bash'), ['-c', 'command -v node'], { env, encoding: 'utf8' });
  const r = spawnSync(path.join(bin, 'bash'), [path.join(bundle, 'run.sh')], { env, encoding: 'utf8', timeout: 300000 });
  return { r, out, nodeOnPath: which.status === 0 ? which.stdout.trim() : null };
}

describeIf('GPU bundle: run.sh rehearsed without a GPU and without node on the PATH', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-gpu-bundle-'));
    if (bundler.bundleDigest(BUNDLE) !== bundler.sourcesDigest()) {
      const b = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'gpu-bundle.js')], { cwd: ROOT, encoding: 'utf8', timeout: 1800000 });
      if (b.status !== 0) throw new Error(`npm run gpu:bundle failed (status ${b.status}):\n${b.stdout}\n${b.stderr}`);
    }
    expect(bundler.bundleDigest(BUNDLE)).toBe(bundler.sourcesDigest());
  }, 1900000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('the bundle is whole and under 40 MB', () => {
    const files = fs.readdirSync(BUNDLE).sort();
    expect(files).toEqual(['MANIFEST.txt', 'app.tar.xz', 'node.xz', 'run.sh']);
    const total = files.reduce((a, f) => a + fs.statSync(path.join(BUNDLE, f)).size, 0);
    expect(total).toBeLessThan(40e6);
    const manifest = fs.readFileSync(path.join(BUNDLE, 'MANIFEST.txt'), 'utf8');
    expect(manifest).toMatch(/^[0-9a-f]{64} {2}cuda\/cuda_fractional\.cu$/m);
    expect(manifest).toMatch(/^[0-9a-f]{64} {2}test\/cuda\/parity\.test\.ts$/m);
  });

  test('bootstrap passes with the bundled node, every GPU step says SKIPPED with its reason', () => {
    const { r, out, nodeOnPath } = rehearse(BUNDLE, path.join(tmp, 'good'));
    expect(nodeOnPath).toBeNull();
    expect(r.error).toBeUndefined();
    const { text, rows } = readSummary(out);
    expect(r.status).toBe(0);
    expect(rows.get('bootstrap')).toMatchObject({ status: 'PASS' });
    expect(rows.get('bootstrap')!.note).toMatch(/^bootstrap ok: node v\d+\.\d+\.\d+, addon loaded/);
    expect(rows.get('driver')).toMatchObject({ status: 'SKIP', note: 'SKIPPED: no NVIDIA driver: nvidia-smi not found' });
    for (const s of GPU_STEPS) {
      expect(rows.get(s)?.status).toBe('SKIP');
      expect(rows.get(s)?.note).toMatch(/^SKIPPED: (no NVIDIA driver|addon:)/);
    }
    expect(text).toContain(`bundle sources-digest: ${bundler.sourcesDigest()}`);
    const outFiles = fs.readdirSync(out);
    expect(outFiles).toContain('summary.txt');
    expect(outFiles.length).toBeLessThanOrEqual(8);
    for (const f of outFiles) expect(fs.statSync(path.join(out, f)).size).toBeLessThanOrEqual(4e6);
  }, 300000);

  test('a broken bundle is reported: a corrupt node.xz fails the bootstrap and the run', () => {
    const broken = path.join(tmp, 'broken-bundle');
    fs.mkdirSync(broken);
    for (const f of fs.readdirSync(BUNDLE)) fs.copyFileSync(path.join(BUNDLE, f), path.join(broken, f));
    const xz = fs.readFileSync(path.join(BUNDLE, 'node.xz'));
    fs.writeFileSync(path.join(broken, 'node.xz'), xz.subarray(0, xz.length >> 1));  // cut in half
    const { r, out } = rehearse(broken, path.join(tmp, 'broken'));
    const { rows } = readSummary(out);
    expect(r.status).toBe(1);
    expect(rows.get('bootstrap')?.status).toBe('FAIL');
    expect(rows.get('driver')?.status).toBe('SKIP');  // the probes that need no node still run
    for (const s of GPU_STEPS) expect(rows.get(s)?.note).toMatch(/^SKIPPED: the bootstrap failed/);
  }, 300000);
});
