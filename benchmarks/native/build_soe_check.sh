#!/usr/bin/env bash
# Builds the SOE kernel-history accuracy check: build/soe_check (run it; exit code 0 when all checks pass).
# Extra flags are passed to the compiler.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$root/build"
${CXX:-g++} -O2 -std=c++17 -Wall -Wextra -I "$root/native" "$@" \
  "$root/benchmarks/native/soe_check.cc" \
  "$root/native/fractional_soe.cc" \
  "$root/native/fractional_soe_compress.cc" \
  -o "$root/build/soe_check"
echo "built $root/build/soe_check"
