// gzip IDX is held to the same rules as plain IDX: bytes past the declared data (inside the gzip
// stream or after it) are rejected, and a gzip bomb is rejected after inflating no more than the
// size its header declares.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as zlib from 'zlib';
import { parseIdx } from '../../lib/data/idx';

function idxBytes(dims: number[], fill = 1): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.alloc(dims.reduce((a, b) => a * b, 1), fill)]);
}

describe('gzip IDX', () => {
  test('a valid gzip file parses as the plain one does', () => {
    const plain = idxBytes([3, 4]);
    expect(parseIdx(zlib.gzipSync(plain)).dims).toEqual(parseIdx(plain).dims);
  });

  test('trailing data inside the gzip stream is rejected as in plain IDX', () => {
    const padded = Buffer.concat([idxBytes([3, 4]), Buffer.from([9, 9, 9])]);
    expect(() => parseIdx(padded)).toThrow(/trailing bytes/);
    expect(() => parseIdx(zlib.gzipSync(padded))).toThrow(/trailing bytes after the data/);
  });

  test('bytes after the gzip stream are rejected', () => {
    const gz = Buffer.concat([zlib.gzipSync(idxBytes([3, 4])), Buffer.alloc(16)]);
    expect(() => parseIdx(gz)).toThrow(/trailing bytes after the gzip stream/);
  });

  test('a truncated gzip stream is an error', () => {
    const gz = zlib.gzipSync(idxBytes([300, 400], 0).map((_, i) => (i * 7919) & 255));
    expect(() => parseIdx(gz.subarray(0, gz.length - 200))).toThrow(/IDX/);
  });

  test('a 1 GiB gzip bomb declaring 7,840 bytes is rejected without inflating it (RSS growth < 100 MB)', () => {
    const script = `
      const zlib = require('zlib');
      const { parseIdx } = require(${JSON.stringify(path.resolve(__dirname, '../../lib/data/idx.ts'))});
      const zeros = Buffer.alloc(16 << 20);
      const head = Buffer.alloc(16); head[2] = 8; head[3] = 3; head.writeUInt32BE(10, 4); head.writeUInt32BE(28, 8); head.writeUInt32BE(28, 12);
      const first = zlib.gzipSync(Buffer.concat([head, zeros]), { level: 1 });
      const more = zlib.gzipSync(zeros, { level: 1 });
      const bomb = Buffer.concat([first, ...Array(63).fill(more)]);
      let msg = '';
      const peak0 = process.resourceUsage().maxRSS * 1024;
      try { parseIdx(bomb); } catch (e) { msg = e.message; }
      // how far parsing raised the process's peak RSS above its peak before parsing (building the bomb and
      // compiling the test reach ~100 MB first; inflating the bomb whole would add about 1 GiB)
      process.stdout.write(JSON.stringify({ msg, growthMB: (process.resourceUsage().maxRSS * 1024 - peak0) / 2 ** 20 }));`;
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { encoding: 'utf8', timeout: 120000 });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.msg).toMatch(/more than the 7856 bytes its dims \[10, 28, 28\] declare/);
    expect(out.growthMB).toBeLessThan(100);
  });
});
