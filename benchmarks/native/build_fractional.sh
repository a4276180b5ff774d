#!/usr/bin/env bash
# Builds the fractional-op development harness: build/fractional_harness.
# Extra flags are passed to the compiler, e.g. ./build_fractional.sh -DFSNN_FRAC_V=4 -DFSNN_FRAC_R=3
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$root/build"
${CXX:-g++} -O3 -std=c++17 -fPIC -pthread -Wall -Wextra -I "$root/native" "$@" \
  "$root/benchmarks/native/fractional_harness.cc" \
  "$root/native/cpu/fractional_cpu.cc" \
  "$root/native/cpu/cpu_allocator.cc" \
  "$root/native/cpu/parallel.cc" \
  "$root/native/cpu/peak_fma.cc" \
  -o "$root/build/fractional_harness"
echo "built $root/build/fractional_harness"
