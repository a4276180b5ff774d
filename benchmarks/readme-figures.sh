#!/usr/bin/env bash
# Prints the machine and the sgemm, then runs the README's example tables:
#   benchmarks/readme-figures.sh demo         npm run demo:alpha
#   benchmarks/readme-figures.sh sequential   npm run train:sequential
# With FSNN_BLAS=builtin in the environment they run on the built-in sgemm.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e '
  const os = require("os");
  const { native } = require("./dist/native");
  console.log(`machine: ${os.cpus()[0].model} x${os.cpus().length}, node ${process.version}; ${native.info().cpu}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);'
case "${1:-}" in
  demo) npm run -s demo:alpha ;;
  sequential) npm run -s train:sequential ;;
  *) echo "usage: $0 demo|sequential" >&2; exit 2 ;;
esac
node -e 'console.log(`load average at the end ${require("os").loadavg().map((l) => l.toFixed(1)).join(" ")}`)'
