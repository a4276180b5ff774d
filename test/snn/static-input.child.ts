// Child process of static-input.test.ts: the static-input comparisons with the built-in sgemm, which
// rounds every row of a product alike (OpenBLAS does not even round equal rows of one product alike).
// FSNN_BLAS must be in the real environment of the process (jest gives each test file a copy of
// process.env that native code does not see), so the parent runs this file with FSNN_BLAS=builtin.
// Prints one JSON line: the sgemm in use and, per case, the comparison of static and repeated input.
import { manualSeed, native, setDefaultDevice } from '../../lib';
import { B, C, compare, convNet, F, mlp, run, S, T, xConv, xMlp } from '../helpers/static-input-cases';

setDefaultDevice('cpu');  // the built-in sgemm is the CPU's
manualSeed(11);
const net = mlp();
const mlpResult = compare(run(net, xMlp, [B, F], true), run(net, xMlp, [B, F], false));
const times = Array.from({ length: T }, (_, k) => 0.5 * k);
const timed = compare(run(net, xMlp, [B, F], true, times), run(net, xMlp, [B, F], false, times));
manualSeed(12);
const conv = convNet();
const convResult = compare(run(conv, xConv, [B, C, S, S], true), run(conv, xConv, [B, C, S, S], false));
process.stdout.write(JSON.stringify({ blas: native.info().blas, mlp: mlpResult, timed, conv: convResult }) + '\n');
