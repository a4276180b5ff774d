// One epoch of `npm run train`'s default config (the number test/cli/roundtrip.test.ts pins), on the
// sgemm this process uses: run it plain and with FSNN_BLAS=builtin to see both builds.
//   npx ts-node --transpile-only benchmarks/one-epoch-accuracy.ts
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { train, TRAIN_DEFAULTS } from '../lib/cli/train';
import { native } from '../lib/native';
import { machine } from './common';

(async () => {
  const out = path.join(os.tmpdir(), `fsnn-one-epoch-${process.pid}`);
  const r = await train({ ...TRAIN_DEFAULTS, epochs: 1, out, progress: false }, { log: () => {} });
  fs.rmSync(out, { recursive: true, force: true });
  console.log(`machine: ${machine()}; ${native.info().cpu}`);
  console.log(`one epoch, default config: test accuracy ${(100 * r.testAccuracy).toFixed(2)} % (${r.testPredictions.length} held out), ` +
    `train accuracy ${(100 * r.trainAccuracy).toFixed(2)} %, ${r.seconds.toFixed(1)} s`);
})();
