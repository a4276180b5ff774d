#!/usr/bin/env node
// The `fsnn` executable: `fsnn train ...` and `fsnn infer ...` (see ./program).
import { runCli } from './program';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`fsnn: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
