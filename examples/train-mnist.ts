// npm run train [-- flags]: the whole MNIST job with the default recipe (see `fsnn train --help`),
// the same as `npx fsnn train`.
//   npm run train
//   npm run train -- --epochs 3 --alpha 0.3,0.7 --out runs/try
import { runCli } from '../lib/cli/program';

runCli(['train', ...process.argv.slice(2)]).then((code) => {
  process.exitCode = code;
});
