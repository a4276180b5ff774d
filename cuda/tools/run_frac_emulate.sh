#!/usr/bin/env bash
# Builds and runs cuda/tools/frac_emulate.cc (CPU only, no GPU needed): the CUDA fractional kernels'
# per-thread code against the CPU backend. The CPU files are compiled with the addon's flags (-O3).
#   --rev REV   compare with native/cpu/fractional_cpu.cc as of git revision REV (default: the working tree)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${TMPDIR:-/tmp}/fsnn_frac_emulate
mkdir -p "$out"
CXX=${CXX:-g++}
src=native/cpu/fractional_cpu.cc
if [ "${1:-}" = "--rev" ]; then
  git show "$2:native/cpu/fractional_cpu.cc" > native/cpu/.fractional_cpu_rev.cc
  src=native/cpu/.fractional_cpu_rev.cc
  trap 'rm -f native/cpu/.fractional_cpu_rev.cc' EXIT
fi
$CXX -std=c++17 -O3 -c "$src" -o "$out/fractional_cpu.o"
$CXX -std=c++17 -O3 -c native/cpu/parallel.cc -o "$out/parallel.o"
# The emulator: f_mul/f_add/f_fma are fmaf forms (exact, never contracted); surrogate.h is contracted
# as nvcc (-fmad=true) and the CPU backend's AVX2-FMA kernels compile it.
$CXX -std=c++17 -O2 -mfma -ffp-contract=fast -c cuda/tools/frac_emulate.cc -o "$out/frac_emulate.o"
$CXX "$out/frac_emulate.o" "$out/fractional_cpu.o" "$out/parallel.o" -lpthread -o "$out/frac_emulate"
"$out/frac_emulate"
