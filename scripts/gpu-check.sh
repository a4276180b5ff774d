#!/usr/bin/env bash
# The one script a GPU session runs (on the H200): device info, the CUDA parity tests, compute-sanitizer
# memcheck and racecheck over scripts/cuda-smoke.js, the training-step benchmark, the whole jest suite
# with FSNN_DEVICE=cuda, and (CPU only, if g++ is there) the fractional-kernel emulator; a short table
# at the end. Every step has a time limit; the total stays
# under ~8 minutes. Needs the built tree (build/Release/fsnn.node built with nvcc) and node_modules; no
# npm. Logs go to $OUT (the device machine's returned folder) or $FSNN_GPU_LOGS, else a temp dir.
#   NODE=/path/to/node scripts/gpu-check.sh
#   FSNN_GPU_CHECK_SKIP="suite racecheck"  skips steps by name
#   FSNN_GPU_CHECK_BUDGET=480               total seconds; each step gets min(its limit, what is left)
set -u
cd "$(dirname "$0")/.."
NODE=${NODE:-node}
LOGS=${FSNN_GPU_LOGS:-${OUT:-$(mktemp -d /tmp/fsnn-gpu-check.XXXXXX)}}
mkdir -p "$LOGS"
SKIP=" ${FSNN_GPU_CHECK_SKIP:-} "
SAN=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}
JEST="node_modules/jest/bin/jest.js"
TSNODE="node_modules/ts-node/dist/bin.js"
export FSNN_NO_PREBUILD=1  # always the freshly built addon

BUDGET=${FSNN_GPU_CHECK_BUDGET:-480}
START=$(date +%s)
declare -a NAMES STATUS SECS NOTES
step() {  # step NAME TIMEOUT_S SUMMARY_REGEX COMMAND...
  local name=$1 limit=$2 pat=$3
  shift 3
  local log="$LOGS/$name.log" t0 rc st note left
  if [[ "$SKIP" == *" $name "* ]]; then
    NAMES+=("$name"); STATUS+=("SKIP"); SECS+=("0"); NOTES+=("skipped by FSNN_GPU_CHECK_SKIP")
    return
  fi
  left=$(( BUDGET - ($(date +%s) - START) ))
  if [ "$left" -lt 20 ]; then
    NAMES+=("$name"); STATUS+=("SKIP"); SECS+=("0"); NOTES+=("no time left in FSNN_GPU_CHECK_BUDGET=${BUDGET}s")
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "=== $name (limit ${limit}s): $*" >"$log"
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  rc=$?
  case $rc in
    0) st=PASS ;;
    124 | 137) st=TIMEOUT ;;
    *) st="FAIL($rc)" ;;
  esac
  if [ "$st" = PASS ] && [ "$name" != suite ] && grep -q "SKIPPED:" "$log"; then st=SKIP; fi
  note=$(grep -E "$pat" "$log" | tail -n 1 | cut -c1-110)
  NAMES+=("$name"); STATUS+=("$st"); SECS+=("$(( $(date +%s) - t0 ))"); NOTES+=("$note")
  tail -n 25 "$log"
}

# 1. What the addon sees (and whether the op table exists).
step info 45 "available|ok:" "$NODE" -e '
  const n = require("bindings")({ bindings: "fsnn", module_root: process.cwd() });
  console.log("compiled:", n.cudaCompiled(), "devices:", n.cudaDeviceCount(), "name:", n.cudaDeviceName(0));
  console.log("available:", n.cudaIsAvailable(), n.cudaUnavailableReason());
  console.log("self test:", n.cudaSelfTest());
  if (!n.cudaIsAvailable()) { console.log("SKIPPED: CUDA unavailable"); process.exit(0); }
  const a = n.fromFloat32(Float32Array.from([1, 2, 3]), [3], "cuda");
  console.log("ok: round trip", Array.from(n.unary(0, a).toFloat32Array()));
  const b = n.matmul(n.full([4, 8], 1, "cuda"), n.full([8, 2], 1, "cuda"), false, false);
  console.log("ok: cuBLAS", Array.from(b.toFloat32Array()).join(","), n.cublasStatus());
  console.log(n.info().cpu); console.log(JSON.stringify(n.cudaMemoryStats()));'

# 2. GPU-against-CPU parity for every op, the fractional op, the goldens, RNG, allocator, OOM.
step parity 180 "^Tests:" "$NODE" "$JEST" test/cuda --colors=false

# 3. compute-sanitizer over the smoke script (every op once, small sizes).
if [ -x "$SAN" ] || command -v "$SAN" >/dev/null 2>&1; then
  step memcheck 120 "ERROR SUMMARY|cuda smoke" "$SAN" --tool memcheck --error-exitcode 99 --leak-check no "$NODE" scripts/cuda-smoke.js
else
  NAMES+=("memcheck"); STATUS+=("SKIP"); SECS+=("0"); NOTES+=("compute-sanitizer not found (set COMPUTE_SANITIZER)")
fi

# 4. The training-step benchmark (configs A-F; CPU rows A-E).
step bench 150 "^ *F |^ *E " "$NODE" "$TSNODE" --transpile-only benchmarks/gpu-train-step.ts

# 5. racecheck (shared-memory hazards: reductions, transpose, the fractional kernels).
if [ -x "$SAN" ] || command -v "$SAN" >/dev/null 2>&1; then
  step racecheck 90 "ERROR SUMMARY|RACECHECK SUMMARY|cuda smoke" "$SAN" --tool racecheck --error-exitcode 99 "$NODE" scripts/cuda-smoke.js --quick
else
  NAMES+=("racecheck"); STATUS+=("SKIP"); SECS+=("0"); NOTES+=("compute-sanitizer not found")
fi


# 6. CPU only: the fractional kernels' code against the CPU backend, bit for bit (needs g++).
if command -v "${CXX:-g++}" >/dev/null 2>&1; then
  step emulate 60 "PASSED|FAILED" cuda/tools/run_frac_emulate.sh
fi

# 7. The whole suite with 'cuda' as the default device (last: the longest and the least specific).
step suite 150 "^Tests:" env FSNN_DEVICE=cuda "$NODE" "$JEST" --colors=false

echo
echo "==================== gpu-check summary (logs: $LOGS) ===================="
printf "%-10s %-10s %6s  %s\n" step status sec note
for i in "${!NAMES[@]}"; do
  printf "%-10s %-10s %6s  %s\n" "${NAMES[$i]}" "${STATUS[$i]}" "${SECS[$i]}" "${NOTES[$i]}"
done
grep -h -A 12 "^ *cfg " "$LOGS/bench.log" 2>/dev/null | head -n 24
fail=0
for s in "${STATUS[@]}"; do [[ "$s" == FAIL* || "$s" == TIMEOUT ]] && fail=1; done
exit $fail
