// The fuzz driver behind test/io/fuzz-readers.test.ts, run in a child process so that the parent
// can watch for crashes, hangs and memory: seeded random bytes and random mutations of valid files
// are thrown at the safetensors reader, the IDX reader and loadModel. Every case must end in
// success or an Error with a message of our own (never a TypeError/RangeError from a missing
// check). Prints one JSON line: case counts, failures, and the RSS growth over the run.
//   node -r ts-node/register/transpile-only test/helpers/fuzz-readers.ts <seed> <cases>
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { LIFNeuron, loadModel, nn, saveModel, SNNWrapper } from '../../lib';
import { parseIdx } from '../../lib/data/idx';
import { decodeSafetensors, encodeSafetensors, readSafetensorsFile } from '../../lib/io/safetensors';

const seed = Number(process.argv[2] ?? 1), cases = Number(process.argv[3] ?? 2000);

/** mulberry32: a small seeded generator (uniform in [0, 1)). */
let state = seed >>> 0;
function rnd(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rnd() * n);

function randomBytes(max: number): Uint8Array {
  const b = new Uint8Array(int(max + 1));
  for (let i = 0; i < b.length; i++) b[i] = int(256);
  return b;
}

/** Text edits that keep a JSON header parseable more often than byte flips do. */
const INTERESTING = ['0', '-1', '4294967296', '1e308', '9007199254740993', '18446744073709551616', 'null', '[]', '{}', '"F64"', '"I8"',
  '"__proto__"', '"constructor"', '1.5', '[1,1,1,1,1,1,1,1]', '[0,0]', '[4000000000,4000000000]', 'true', '"x"', '100000'];

function mutate(valid: Uint8Array): Uint8Array {
  let b = Uint8Array.from(valid);
  const edits = 1 + int(4);
  for (let e = 0; e < edits; e++) {
    const kind = int(7);
    if (kind === 0 && b.length) b[int(b.length)] = int(256); // flip a byte
    else if (kind === 1) b = b.subarray(0, int(b.length + 1)); // truncate
    else if (kind === 2) b = Uint8Array.from([...b, ...randomBytes(64)]); // append garbage
    else if (kind === 3 && b.length > 8) { // rewrite one of the first 8 bytes (length fields, magic)
      b[int(8)] = [0, 0xff, 1, 0x7f, int(256)][int(5)];
    } else if (kind === 4) { // replace a number or token inside a JSON-looking region
      const text = Buffer.from(b).toString('latin1');
      const matches = [...text.matchAll(/-?\d+(\.\d+)?|"[A-Za-z0-9_.]*"|\[[0-9,]*\]/g)];
      if (matches.length) {
        const m = matches[int(matches.length)];
        const repl = INTERESTING[int(INTERESTING.length)];
        b = Uint8Array.from(Buffer.from(text.slice(0, m.index!) + repl + text.slice(m.index! + m[0].length), 'latin1'));
      }
    } else if (kind === 5 && b.length > 16) { // duplicate a slice
      const i = int(b.length), j = Math.min(b.length, i + int(64));
      b = Uint8Array.from([...b.subarray(0, j), ...b.subarray(i, j), ...b.subarray(j)]);
    } else if (kind === 6 && b.length) b[int(b.length)] ^= 1 << int(8);
  }
  return b;
}

function idxFile(): Uint8Array {
  const dims = [2 + int(3), 3, 3];
  const head = Buffer.alloc(16);
  head[2] = [0x08, 0x0b, 0x0c, 0x0d, 0x0e][int(5)];
  head[3] = 3;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const size = { 8: 1, 11: 2, 12: 4, 13: 4, 14: 8 }[head[2]]!;
  const body = Buffer.alloc(dims[0] * 9 * size, 3);
  const plain = Buffer.concat([head, body]);
  return rnd() < 0.5 ? plain : zlib.gzipSync(plain);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-fuzz-'));
const net = new SNNWrapper(new nn.Sequential(new nn.Linear(6, 5), new LIFNeuron(), new nn.Linear(5, 3), new LIFNeuron({ tauLearnable: true })),
  { alpha: [[0.4, 0.7], 0.6], multiCoefficient: [[1, 0.5], null] });
const modelPath = path.join(dir, 'model.safetensors');
saveModel(net, modelPath, { T: 4, encoding: 'direct', features: 6, classes: 3 });
const validModel = new Uint8Array(fs.readFileSync(modelPath));
const validSafetensors = encodeSafetensors({ a: { shape: [2, 3], data: new Float32Array(6).fill(1) }, b: { shape: [4], data: new Float32Array(4) } }, { note: 'x' });

const OWN_ERROR = /^(?!.*(Cannot read propert|is not a function|is not iterable|undefined is not|Maximum call stack)).+/s;
const failures: string[] = [];
const counts = { safetensors: 0, idx: 0, loadModel: 0, ok: 0, errors: 0 };

function check(what: string, input: Uint8Array, fn: () => unknown): void {
  try {
    fn();
    counts.ok++;
  } catch (e) {
    counts.errors++;
    const err = e as Error;
    if (!(err instanceof Error) || !err.message || !OWN_ERROR.test(err.message) || err instanceof TypeError && /of undefined|of null/.test(err.message)) {
      if (failures.length < 20) failures.push(`${what}: ${err && err.constructor && err.constructor.name}: ${String(err && err.message).slice(0, 300)} ` +
        `(input ${input.length} bytes, head ${Buffer.from(input.subarray(0, 48)).toString('hex')})`);
    }
  }
}

const rss0 = process.memoryUsage().rss;
// The process's lifetime peak before the first case (loading ts-node and the library): only a rise above
// it can come from the cases.
const maxRss0 = process.resourceUsage().maxRSS * 1024;
let peak = rss0;
const t0 = Date.now();
for (let c = 0; c < cases; c++) {
  const target = c % 3;
  const random = rnd() < 0.25;
  if (target === 0) {
    counts.safetensors++;
    const bytes = random ? randomBytes(512) : mutate(validSafetensors);
    check('decodeSafetensors', bytes, () => decodeSafetensors(bytes));
    if (c % 6 === 0) {
      const f = path.join(dir, 'case.safetensors');
      fs.writeFileSync(f, bytes);
      check('readSafetensorsFile', bytes, () => readSafetensorsFile(f));
    }
  } else if (target === 1) {
    counts.idx++;
    const bytes = random ? randomBytes(256) : mutate(idxFile());
    check('parseIdx', bytes, () => parseIdx(bytes));
  } else {
    counts.loadModel++;
    const bytes = random ? randomBytes(1024) : mutate(validModel);
    const f = path.join(dir, 'case-model.safetensors');
    fs.writeFileSync(f, bytes);
    check('loadModel', bytes, () => {
      const { net: m } = loadModel(f);
      for (const t of Object.values(m.stateDict())) t.dispose();
    });
  }
  if (c % 10 === 0) peak = Math.max(peak, process.memoryUsage().rss);
}
peak = Math.max(peak, process.memoryUsage().rss);
fs.rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ seed, cases, counts, failures, seconds: (Date.now() - t0) / 1000,
  rssGrowthMB: (peak - rss0) / 2 ** 20, startRssMB: rss0 / 2 ** 20,
  peakRiseMB: Math.max(0, process.resourceUsage().maxRSS * 1024 - Math.max(maxRss0, rss0)) / 2 ** 20 }) + '\n');
