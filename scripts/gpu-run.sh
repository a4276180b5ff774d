#!/usr/bin/env bash
# The whole GPU verdict in one command, on a bare machine with only an NVIDIA driver and the CUDA 13
# image (no node, no npm, no network). `npm run gpu:bundle` copies this file to .gpu-bundle/run.sh
# beside node.xz, app.tar.xz and MANIFEST.txt; then, on the GPU machine:
#   OUT=/some/dir bash .gpu-bundle/run.sh
# Steps, in priority order, each under its own time limit, all within FSNN_GPU_BUDGET (540) seconds:
#   1. bootstrap (unpack node and the app, load the addon) and probes (driver, CUDA, cuBLAS, sanitizer)
#   2. smoke: scripts/cuda-smoke.js under CUDA_LAUNCH_BLOCKING=1
#   3. parity: test/cuda/parity with FSNN_CUDA_ALLOC=poison
#   4. bench: benchmarks/gpu-train-step (GPU rows, configs A-F, Ffast, G); profile: where the Ffast and G
#      steps' time goes, and the steps at each load depth of the fast-history kernels and without the
#      split-K products (benchmarks/gpu-step-profile)
#   5. memcheck (FSNN_CUDA_ALLOC=exact) on the smoke script and on parity
#   6. racecheck and synccheck on the smoke script
#   7. suite: a CUDA subset of the jest suite with FSNN_DEVICE=cuda
#   8. nccl: scripts/nccl-check.js, one process (NCCL from the CUDA image or Python's nvidia/nccl/lib)
#   9. crossover: where the fast history overtakes the exact one on the GPU (benchmarks/history-crossover);
#      ncu: Nsight Compute's warp-state sections on the fast-history kernels alone
# A step whose tool the machine refuses (no GPU, no compute-sanitizer, "Device not supported") ends
# as SKIP with the reason. Writes at most 8 files, each capped at 4 MB, to $OUT: summary.txt (the
# step table and the benchmark table), manifest.txt and one log per group of steps. Exit status 1
# when a step failed. Knobs: FSNN_GPU_BUDGET, FSNN_GPU_WORK (unpack folder), FSNN_GPU_SUITE (jest
# path patterns for step 7), FSNN_GPU_SKIP ("bench suite": steps skipped by name).
set -u
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
WORK=${FSNN_GPU_WORK:-${TMPDIR:-/tmp}/fsnn-gpu-run}
PKG=$WORK/pkg
NODE=$WORK/bin/node
JEST=(--config "$PKG/jest.config.js" --ci --colors=false)
JEST_BIN=$PKG/node_modules/jest/bin/jest.js
CAP=4000000  # bytes per file in $OUT

# ---- helpers that the steps run as `bash run.sh __name` (so that `timeout` can bound them) ------------
unxz_to() {  # unxz_to FILE.xz DEST: with xz, else with python3's lzma
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  else echo "neither xz nor python3 is here to unpack $1"; return 1; fi
}
case "${1:-}" in
  __bootstrap)
    rm -rf "$WORK/bin" "$PKG" && mkdir -p "$WORK/bin" || exit 1
    unxz_to "$HERE/node.xz" "$NODE" && chmod +x "$NODE" || exit 1
    unxz_to "$HERE/app.tar.xz" "$WORK/app.tar" && tar -xf "$WORK/app.tar" -C "$WORK" && rm -f "$WORK/app.tar" || exit 1
    echo "node: $("$NODE" -v)" || exit 1
    cd "$PKG" && exec "$NODE" -e '
      const c = require("./lib").cuda;
      console.log(`bootstrap ok: node ${process.version}, addon loaded, library ${Object.keys(require("./lib")).length} exports, cuda compiled: ${c.isCompiled()}`);'
    ;;
  __cuda)
    cd "$PKG" && exec "$NODE" -e '
      const c = require("./lib").cuda;
      if (!c.isCompiled()) { console.log("SKIPPED: the addon was built without CUDA"); process.exit(0); }
      if (!c.isAvailable()) { console.log(`SKIPPED: addon: ${c.unavailableReason()}`); process.exit(0); }
      console.log(`cuda ok: ${c.deviceCount()} device(s), ${c.deviceName(0)}`);'
    ;;
  __cublas)  # libcublas.so.13 by soname, else in the CUDA 13 image's folders or a Python install's nvidia/cublas/lib
    command -v python3 >/dev/null 2>&1 || { echo "SKIPPED: no python3 to probe with"; exit 0; }
    exec python3 - "$2" <<'EOF'
import ctypes, glob, os, site, sys
tried = []
def loads(p):
    try:
        ctypes.CDLL(p); return True
    except OSError as e:
        tried.append(f"{p}: {e}"); return False
if loads("libcublas.so.13"):
    print("cublas ok: libcublas.so.13 loads by soname"); sys.exit(0)
dirs = sorted(glob.glob("/usr/local/cuda*/lib64")) + sorted(glob.glob("/usr/local/cuda*/targets/x86_64-linux/lib"))
for sp in site.getsitepackages() + [site.getusersitepackages()] + sorted(glob.glob("/opt/*/.venv/lib/python3*/site-packages")):
    dirs.append(os.path.join(sp, "nvidia", "cublas", "lib")); dirs.append(os.path.join(sp, "nvidia", "cu13", "lib"))
for d in dirs:
    p = os.path.join(d, "libcublas.so.13")
    if os.path.exists(p) and loads(p):
        print(f"cublas ok: {p} (not on the loader path; FSNN_CUBLAS set to it for the run)")
        open(sys.argv[1], "w").write(p); sys.exit(0)
    tried.append(f"{p}: absent")
where = f"not loadable by soname nor in any of {len(tried) - 1} folders (list below)"
if os.environ.get("FSNN_GPU_PRESENT") == "1":
    print(f"libcublas.so.13 {where}\n  " + "\n  ".join(tried)); sys.exit(1)
print(f"SKIPPED: libcublas.so.13 {where}; there is no GPU here either\n  " + "\n  ".join(tried))
EOF
    ;;
  __ncu)  # __ncu NCU NODE: the warp-state sections of the fast-history kernels, run alone
    out=$("$2" --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats \
      -k 'regex:frac_fast_(forward|backward)' "$3" benchmarks/gpu-step-profile.js --kernels 2>&1); rc=$?
    if echo "$out" | grep -q ERR_NVGPUCTRPERM; then
      echo "SKIPPED: ncu may not read this GPU's performance counters here (ERR_NVGPUCTRPERM)"; echo "$out" | tail -n 5; exit 0
    fi
    echo "$out"; exit $rc
    ;;
esac

# ---- the runner ------------------------------------------------------------------------------------
OUTDIR=${OUT:-$PWD/gpu-run-out}
BUDGET=${FSNN_GPU_BUDGET:-540}
RESERVE=8      # seconds kept for the summary
SKIP_STEPS=" ${FSNN_GPU_SKIP:-} "
SUITE=${FSNN_GPU_SUITE:-"test/cuda/host-reads test/ops/ test/nn/ test/fractional/ test/optim/ test/snn/neurons test/snn/wrapper test/tensor.test test/random/native-philox"}
START=$SECONDS
LOGS=$WORK/logs
mkdir -p "$OUTDIR" "$LOGS" || exit 2
rm -f "$LOGS"/*.log
export PATH="$WORK/bin:$PATH" FSNN_NO_PREBUILD=1
declare -a NAMES STATUS SECS NOTES
GPU_REASON="" SAN="" SAN_REFUSED=""
SAN_ERRORS='^========= +(Invalid|Uninitialized|Race|Barrier|Program hit|.*[Hh]azard|Error: )'

# Step logs go to $LOGS/<name>.log; each group's logs are joined into one $OUT file, capped at $CAP.
group_of() {
  case $1 in
    bootstrap | driver | cuda | cublas | sanitizer) echo probes ;;
    smoke | parity) echo tests ;;
    bench | profile | crossover | ncu) echo bench ;;
    memcheck* | racecheck | synccheck) echo sanitizer ;;
    *) echo suite ;;  # suite, nccl
  esac
}
publish() {
  local g f tmp
  for g in probes tests bench sanitizer suite; do
    tmp=$WORK/$g.out
    : >"$tmp"
    for f in "${NAMES[@]}"; do
      [ "$(group_of "$f")" = "$g" ] && [ -f "$LOGS/$f.log" ] && cat "$LOGS/$f.log" >>"$tmp"
    done
    [ -s "$tmp" ] || continue
    if [ "$(stat -c %s "$tmp")" -gt "$CAP" ]; then
      { head -c 1000000 "$tmp"; printf '\n... [cut to fit %s bytes] ...\n' "$CAP"; tail -c 2900000 "$tmp"; } >"$OUTDIR/$g.log"
    else cp "$tmp" "$OUTDIR/$g.log"; fi
  done
  head -c "$CAP" "$HERE/MANIFEST.txt" >"$OUTDIR/manifest.txt" 2>/dev/null
  summary >"$OUTDIR/summary.txt"
}
record() {  # record NAME STATUS SECONDS NOTE
  NAMES+=("$1"); STATUS+=("$2"); SECS+=("$3"); NOTES+=("$(printf '%s' "$4" | tr '\n' ' ' | cut -c1-160)")
  printf '%-15s %-5s %4ss  %s\n' "$1" "$2" "$3" "${NOTES[-1]}"
  publish
}
skip() { record "$1" SKIP 0 "$2"; }

# step NAME LIMIT NOTE_REGEX KIND COMMAND...   KIND: plain | gpu (needs the GPU) | san (needs the sanitizer too)
step() {
  local name=$1 limit=$2 pat=$3 kind=$4 log rc t0 st note left
  shift 4
  log=$LOGS/$name.log
  if [[ "$SKIP_STEPS" == *" $name "* ]]; then skip "$name" "SKIPPED: by FSNN_GPU_SKIP"; return; fi
  if [ "$kind" != plain ] && [ -n "$GPU_REASON" ]; then skip "$name" "SKIPPED: $GPU_REASON"; return; fi
  if [ "$kind" = san ] && [ -z "$SAN" ]; then skip "$name" "SKIPPED: compute-sanitizer not found (PATH, /usr/local/cuda*/bin)"; return; fi
  if [ "$kind" = san ] && [ -n "$SAN_REFUSED" ]; then skip "$name" "SKIPPED: compute-sanitizer refused this machine: $SAN_REFUSED"; return; fi
  left=$(( BUDGET - RESERVE - (SECONDS - START) ))
  if [ "$left" -lt 10 ]; then skip "$name" "SKIPPED: no time left in the ${BUDGET}s budget"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "=== $name (limit ${limit}s): $*" >"$log"
  t0=$SECONDS
  (cd "$PKG" 2>/dev/null || cd "$WORK"; timeout --kill-after=5 "$limit" "$@") >>"$log" 2>&1
  rc=$?
  note=$(grep -E "$pat" "$log" | tail -n 1)
  if [ $rc -eq 0 ] && grep -q "^SKIPPED:" "$log"; then
    st=SKIP; note=$(grep -m1 "^SKIPPED:" "$log")
  elif [ $rc -eq 0 ] && grep -q "^Tests:" "$log" && ! grep "^Tests:" "$log" | tail -n 1 | grep -q passed; then
    st=SKIP; note="SKIPPED: jest ran no test: $note"  # every test skipped is no verdict
  elif [ $rc -eq 0 ]; then
    st=PASS
  elif { [ $rc -eq 124 ] || [ $rc -eq 137 ]; } && [ "$kind" = san ] && ! grep -qE "$SAN_ERRORS" "$log"; then
    # Not a verdict: the sanitizer had reported nothing when its time ran out.
    st=SKIP; note="SKIPPED: not finished within ${limit}s under compute-sanitizer; no error reported until then"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    note=$(grep -E "$SAN_ERRORS" "$log" | head -n 1)
    st=FAIL; note="timed out after ${limit}s; ${note:-last: $(grep -v '^\s*$' "$log" | tail -n 1)}"
  elif [ "$kind" = san ] && grep -qiE "device not supported|not supported on this" "$log"; then
    st=SKIP; SAN_REFUSED=$(grep -iE -m1 "not supported" "$log"); note="SKIPPED: compute-sanitizer refused: $SAN_REFUSED"
  else
    [ -z "$note" ] && note=$(grep -m1 -E '^(Error|FAIL)|Error: ' "$log")
    st=FAIL; note="exit $rc; ${note:-$(grep -v '^\s*$' "$log" | tail -n 1)}"
  fi
  echo "=== $name: $st in $((SECONDS - t0))s" >>"$log"
  record "$name" "$st" "$((SECONDS - t0))" "$note"
}

summary() {
  local i fails=0
  echo "fractional-snn GPU run: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)"
  grep -E '^(sources-digest|git|built|node|nvcc|addon):' "$HERE/MANIFEST.txt" 2>/dev/null | sed 's/^/bundle /'
  [ -f "$LOGS/driver.log" ] && grep -m1 '^gpu:' "$LOGS/driver.log"
  echo
  printf '%-15s %-6s %5s  %s\n' step status sec note
  for i in "${!NAMES[@]}"; do
    printf '%-15s %-6s %5s  %s\n' "${NAMES[$i]}" "${STATUS[$i]}" "${SECS[$i]}" "${NOTES[$i]}"
    [ "${STATUS[$i]}" = FAIL ] && fails=$((fails + 1))
  done
  echo "total: $((SECONDS - START)) s of the ${BUDGET} s budget; ${#NAMES[@]} steps, $fails failed"
  if [ -f "$LOGS/bench.log" ]; then
    echo
    echo "benchmark (benchmarks/gpu-train-step, GPU rows):"
    # The final table when the benchmark finished, else the rows it printed as it went.
    if grep -q '^ *cfg ' "$LOGS/bench.log"; then sed -n '/^gpu:/p; /^ *cfg /,/^$/p; /^spikeDE/p; /^device copy/p; /^cuBLAS:/p; /^fractional kernels/p' "$LOGS/bench.log"
    elif grep -qE '^row ' "$LOGS/bench.log"; then grep -E '^(gpu:|row )' "$LOGS/bench.log"
    else echo "(no rows: see the bench step's note and bench.log)"; fi
  fi
  if [ -f "$LOGS/profile.log" ]; then
    echo
    echo "profile (benchmarks/gpu-step-profile):"
    sed -n '/^ops /,/^$/p' "$LOGS/profile.log"
    if grep -q '^step time by' "$LOGS/profile.log"; then sed -n '/^step time by/,/^$/p' "$LOGS/profile.log"
    else grep -E '^variant ' "$LOGS/profile.log"; fi
  fi
  if [ -f "$LOGS/crossover.log" ]; then
    echo
    echo "crossover (benchmarks/history-crossover on cuda, [T, 64, 256]: one fractionalNeuron forward + backward):"
    grep -E '^(row |fast is faster)' "$LOGS/crossover.log"
  fi
  if [ -f "$LOGS/ncu.log" ]; then
    echo
    echo "ncu (the fast-history kernels alone, T = 4,096; full report in bench.log):"
    grep -E 'frac_fast_[a-z]+_kernel|Duration|Registers Per Thread|Achieved Occupancy|Issued Warp Per Scheduler|Warp Cycles Per Issued Instruction|spends .* cycles|SKIPPED' "$LOGS/ncu.log" | cut -c1-160 | head -n 40
  fi
}

# ---- 1. bootstrap and probes -------------------------------------------------------------------------
step bootstrap 90 "bootstrap ok|node:" plain bash "$SELF" __bootstrap
if [ "${STATUS[-1]}" != PASS ]; then
  GPU_REASON="the bootstrap failed (see probes.log)"
fi
if command -v nvidia-smi >/dev/null 2>&1; then
  step driver 20 "^gpu:" plain bash -c 'nvidia-smi; q=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader) || exit 1; echo "gpu: $q"'
  [ "${STATUS[-1]}" = PASS ] || GPU_REASON=${GPU_REASON:-"nvidia-smi failed: ${NOTES[-1]}"}
else
  GPU_REASON=${GPU_REASON:-"no NVIDIA driver: nvidia-smi not found"}
  skip driver "SKIPPED: no NVIDIA driver: nvidia-smi not found"
fi
if [ "${STATUS[0]}" = PASS ]; then  # what the addon says, with or without a driver
  step cuda 30 "cuda ok" plain bash "$SELF" __cuda
  [ "${STATUS[-1]}" = PASS ] || GPU_REASON=${GPU_REASON:-${NOTES[-1]#SKIPPED: }}
else
  skip cuda "SKIPPED: $GPU_REASON"
fi
[ -z "$GPU_REASON" ] && export FSNN_GPU_PRESENT=1
rm -f "$WORK/cublas.path"
step cublas 20 "cublas ok|not loadable" plain bash "$SELF" __cublas "$WORK/cublas.path"
if [ -s "$WORK/cublas.path" ] && [ -z "${FSNN_CUBLAS:-}" ]; then export FSNN_CUBLAS=$(cat "$WORK/cublas.path"); fi
SAN=$(command -v compute-sanitizer 2>/dev/null || ls -d /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | tail -n 1)
if [ -n "$SAN" ]; then
  step sanitizer 20 "Version|version" plain "$SAN" --version
  [ "${STATUS[-1]}" = PASS ] || SAN=""
else
  skip sanitizer "SKIPPED: compute-sanitizer not found (PATH, /usr/local/cuda*/bin)"
fi

# ---- 2-7. the GPU steps ------------------------------------------------------------------------------
step smoke 60 "cuda smoke|FAIL" gpu env CUDA_LAUNCH_BLOCKING=1 "$NODE" scripts/cuda-smoke.js
step parity 120 "^Tests:" gpu env FSNN_CUDA_ALLOC=poison "$NODE" "$JEST_BIN" "${JEST[@]}" --runInBand test/cuda/parity
step bench 150 "^row G|^row F|failed" gpu env FSNN_BENCH_CPU=0 FSNN_BENCH_SECONDS=12 "$NODE" benchmarks/gpu-train-step.js
step profile 120 "^variant G|^variant Ffast|failed" gpu env FSNN_PROFILE_STEPS=5 "$NODE" benchmarks/gpu-step-profile.js
step memcheck-smoke 90 "ERROR SUMMARY" san env FSNN_CUDA_ALLOC=exact "$SAN" --tool memcheck --error-exitcode 99 --leak-check no "$NODE" scripts/cuda-smoke.js
# (API errors not reported here: parity's out-of-memory test asks cudaMalloc for 64 TiB on purpose.)
step memcheck-parity 100 "ERROR SUMMARY|^Tests:" san env FSNN_CUDA_ALLOC=exact "$SAN" --tool memcheck --error-exitcode 99 --leak-check no --report-api-errors no "$NODE" "$JEST_BIN" "${JEST[@]}" --runInBand test/cuda/parity
step racecheck 60 "RACECHECK SUMMARY|ERROR SUMMARY" san "$SAN" --tool racecheck --error-exitcode 99 "$NODE" scripts/cuda-smoke.js --quick
step synccheck 45 "ERROR SUMMARY" san "$SAN" --tool synccheck --error-exitcode 99 "$NODE" scripts/cuda-smoke.js --quick
# shellcheck disable=SC2086
step suite 120 "^Tests:" gpu env FSNN_DEVICE=cuda "$NODE" "$JEST_BIN" "${JEST[@]}" --maxWorkers=4 $SUITE
step nccl 40 "^\\{|NCCL|Error" gpu "$NODE" scripts/nccl-check.js
step crossover 90 "^fast is faster|^row|failed" gpu env FSNN_BENCH_DEVICE=cuda FSNN_BENCH_B=64 FSNN_BENCH_TS=64,128,256,512,1024,2048 "$NODE" benchmarks/history-crossover.js
NCU=$(command -v ncu 2>/dev/null || ls -d /usr/local/cuda*/bin/ncu 2>/dev/null | tail -n 1)
if [ -z "$NCU" ] && [ -z "$GPU_REASON" ]; then
  skip ncu "SKIPPED: ncu not found (PATH, /usr/local/cuda*/bin)"
else
  step ncu 120 "frac_fast_|SKIPPED" gpu bash "$SELF" __ncu "${NCU:-ncu}" "$NODE"
fi

publish
echo
cat "$OUTDIR/summary.txt"
echo "(files in $OUTDIR: $(ls "$OUTDIR" | tr '\n' ' '))"
for s in "${STATUS[@]}"; do [ "$s" = FAIL ] && exit 1; done
exit 0
