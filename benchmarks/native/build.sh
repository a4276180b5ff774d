#!/usr/bin/env bash
# Builds the SGEMM development harness (not part of the addon build):
#   benchmarks/native/build.sh [output]   (default: build/bench/sgemm_harness at the repo root)
# Uses the project's flags (-O3 -std=c++17 -fPIC, no -march) and links OpenBLAS for comparison.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/build/bench/sgemm_harness}"
mkdir -p "$(dirname "$out")"
"${CXX:-g++}" -O3 -std=c++17 -fPIC -Wall -Wextra -pthread \
  "$here/sgemm_harness.cc" \
  "$root/native/cpu/sgemm_builtin.cc" \
  "$root/native/cpu/peak_fma.cc" \
  "$root/native/cpu/parallel.cc" \
  -lopenblas -o "$out"
echo "built $out"
