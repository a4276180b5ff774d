#!/usr/bin/env bash
# The packaging test (issue 14's "Done when"): `npm pack` this checkout, then install the tarball into an
# empty project with typescript@5 and ts-node, twice:
#   prebuild: the tarball as packed (prepack put prebuilds/linux-x64/ in it), installed with a PATH that has
#             no cmake, make, cc/c++/g++/gcc or nvcc, and the install log checked: nothing may be compiled;
#   source:   the same tarball with prebuilds/ removed: the install builds the addon with cmake-js
#             (FSNN_CUDA=${FSNN_CI_CUDA:-OFF} from the environment), in a network-less namespace when
#             `unshare -n` works (so cmake-js must take the headers from node-api-headers, no download).
# In each project: the README's Quick start (extracted from the installed package's README.md) runs with
# ts-node under the README's tsconfig, `npx fsnn train --epochs 1` runs, and `tsc --strict --noEmit` checks
# the script. Prints each step's time, the install times, node_modules sizes, and "pack-install: OK".
# Needs: the npm registry, cmake and a C++ compiler (for the source variant and for prepack's prebuild);
# a fresh npm cache in the work dir unless FSNN_CI_NPM_CACHE names one. FSNN_CI_KEEP=1 keeps the work dir.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/fsnn-pack-XXXXXX)"
export npm_config_cache="${FSNN_CI_NPM_CACHE:-$work/npm-cache}"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
start_all=$(date +%s.%N)
cleanup() { if [ "${FSNN_CI_KEEP:-0}" = 1 ]; then echo "pack-install: work dir kept: $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
fail() { echo "pack-install: FAIL: $*" >&2; exit 1; }
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
step() { echo; echo "=== $* ==="; }

step "npm pack (prepack: release prebuild unless up to date; prepare: digits + dist/)"
t=$(date +%s.%N)
(cd "$repo" && npm pack --pack-destination "$work" > "$work/pack.log" 2>&1) || { tail -40 "$work/pack.log"; fail "npm pack failed"; }
tgz="$(ls "$work"/fractional-snn-*.tgz)"
echo "packed $(basename "$tgz") ($(du -h "$tgz" | cut -f1)) in $(secs "$t") s"
listing="$(tar -tzf "$tgz")"
for f in package/prebuilds/linux-x64/node.napi.glibc.node package/dist/index.js package/dist/index.d.ts \
         package/dist/cli/main.js package/data/mnist-digits-images-idx3-ubyte.gz package/native/loader.js \
         package/scripts/install.js package/CMakeLists.txt; do
  grep -qx "$f" <<<"$listing" || fail "the tarball lacks $f"
done
if grep -qE '^package/(lib/|tsconfig\.json|test/|build/)' <<<"$listing"; then fail "the tarball ships lib/, tsconfig.json, test/ or build/"; fi

# The same package without the prebuild.
mkdir "$work/unpacked"
tar -xzf "$tgz" -C "$work/unpacked"
rm -rf "$work/unpacked/package/prebuilds/linux-x64"
src_tgz="$work/source/fractional-snn-source.tgz"
mkdir -p "$work/source"
tar -czf "$src_tgz" -C "$work/unpacked" package

# A PATH with node and npm but no compiler or build tool.
nocc="$work/nocc-bin"
mkdir "$nocc"
for tool in node npm npx sh bash env cat ls rm mkdir cp mv tar gzip uname sed grep; do
  p="$(command -v "$tool" || true)"; [ -n "$p" ] && ln -s "$(readlink -f "$p")" "$nocc/$tool"
done
# npm and npx are scripts that locate npm-cli.js relative to themselves: call them through node.
npm_cli="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
rm -f "$nocc/npm" "$nocc/npx"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$(readlink -f "$(command -v node)")" "$npm_cli" > "$nocc/npm"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$(readlink -f "$(command -v node)")" "$(dirname "$npm_cli")/npx-cli.js" > "$nocc/npx"
chmod +x "$nocc/npm" "$nocc/npx"
for cc in cmake make cc c++ gcc g++ nvcc; do PATH="$nocc" command -v "$cc" >/dev/null && fail "$cc is still on the restricted PATH"; done

run_variant() {
  local name="$1" tarball="$2" proj="$work/$1"
  step "$name: empty project + typescript@5 ts-node @types/node@20 (as the README says)"
  mkdir -p "$proj" && cd "$proj"
  npm init -y >/dev/null
  t=$(date +%s.%N)
  npm i -D typescript@5 ts-node @types/node@20 > "$proj/dev-install.log" 2>&1 || { tail -20 "$proj/dev-install.log"; fail "$name: installing typescript/ts-node failed"; }
  echo "dev tools installed in $(secs "$t") s"

  step "$name: npm i $(basename "$tarball")"
  t=$(date +%s.%N)
  if [ "$name" = prebuild ]; then
    PATH="$nocc" npm i --foreground-scripts "$tarball" > "$proj/install.log" 2>&1 || { tail -30 "$proj/install.log"; fail "$name: install failed (without a compiler on PATH)"; }
    install_s=$(secs "$t")
    echo "first install (dependencies fetched from the registry into an empty cache): $install_s s"
    # The install time proper: the same install into a second empty project, dependencies now in the npm
    # cache (no network, as on a CI runner with a cache or a second install), timed in wall and CPU seconds.
    mkdir -p "$work/prebuild-again" && (cd "$work/prebuild-again" && npm init -y >/dev/null)
    local TIMEFORMAT='%R %U %S'
    { time (cd "$work/prebuild-again" && PATH="$nocc" npm i --foreground-scripts --prefer-offline "$tarball" > "$proj/install-again.log" 2>&1) ; } 2> "$proj/install-again.time" \
      || { tail -30 "$proj/install-again.log"; fail "$name: the second install failed"; }
    read -r wall usr sys < "$proj/install-again.time"
    echo "second install (dependencies from the npm cache): $wall s wall, $(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.1f", u + s }') s CPU; load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
    grep -q 'using the prebuild' "$proj/install-again.log" || fail "prebuild: the second install did not use the prebuild"
    install_s="$install_s (first), $wall (cached)"
    grep -q 'fractional-snn: using the prebuild prebuilds/linux-x64/node.napi.glibc.node' "$proj/install.log" || { cat "$proj/install.log"; fail "prebuild: the install did not use the prebuild"; }
    if grep -qiE 'cmake-js|building the addon from source' "$proj/install.log"; then fail "prebuild: the install log shows a build"; fi
    [ -e node_modules/fractional-snn/build ] && fail "prebuild: node_modules/fractional-snn/build exists: something was compiled"
    echo "installed with PATH=$nocc (no cmake/make/cc/g++/nvcc) in $install_s s; install log:"
    grep 'fractional-snn:' "$proj/install.log" | sed 's/^/  /'
    awk -v s="$wall" -v lim="${FSNN_CI_INSTALL_LIMIT_S:-20}" 'BEGIN { exit !(s < lim) }' \
      || fail "prebuild: the install from the cache took $wall s wall (limit ${FSNN_CI_INSTALL_LIMIT_S:-20} s)"
  else
    npm i --ignore-scripts "$tarball" > "$proj/install.log" 2>&1 || { tail -30 "$proj/install.log"; fail "$name: npm i --ignore-scripts failed"; }
    local fetch_s; fetch_s=$(secs "$t")
    local nonet=()
    if unshare -n true 2>/dev/null; then nonet=(unshare -n); fi
    t=$(date +%s.%N)
    # An empty HOME: cmake-js would put downloaded Node headers in ~/.cmake-js (checked below).
    mkdir -p "$proj/home"
    HOME="$proj/home" FSNN_CUDA="${FSNN_CI_CUDA:-OFF}" "${nonet[@]}" npm rebuild --foreground-scripts fractional-snn > "$proj/build.log" 2>&1 || { tail -40 "$proj/build.log"; fail "$name: the build from source failed"; }
    install_s=$(awk -v a="$fetch_s" -v b="$(secs "$t")" 'BEGIN { printf "%.1f", a + b }')
    grep -q 'building the addon from source' "$proj/build.log" || { tail -20 "$proj/build.log"; fail "source: no build from source happened"; }
    grep -q -- "--CDFSNN_CUDA=${FSNN_CI_CUDA:-OFF}" "$proj/build.log" || fail "source: FSNN_CUDA did not reach cmake-js"
    [ -e "$proj/home/.cmake-js" ] && fail "source: cmake-js downloaded Node headers into ~/.cmake-js"
    echo "fetched in $fetch_s s, built from source ${nonet[*]:+(no network: ${nonet[*]})} in $(secs "$t") s; build log:"
    grep -E 'fractional-snn:' "$proj/build.log" | sed 's/^/  /'
  fi
  echo "$name install: $install_s s"
  printf -v "install_${name}_s" "%s" "$install_s"

  step "$name: the README's tsconfig and Quick start, from the installed package's README.md"
  node -e '
    const s = require("fs").readFileSync(process.argv[1], "utf8");
    const sec = s.slice(s.indexOf("\n## Use it from your project"));
    const m = /```json\n([\s\S]*?)```/.exec(sec.slice(0, sec.indexOf("\n## ", 5)));
    if (!m) { console.error("no tsconfig in the README"); process.exit(1); }
    require("fs").writeFileSync("tsconfig.json", m[1]);' node_modules/fractional-snn/README.md
  node "$repo/scripts/readme-quickstart.js" node_modules/fractional-snn/README.md > quickstart.ts
  t=$(date +%s.%N)
  npx ts-node quickstart.ts > "$proj/quickstart.log" 2>&1 || { cat "$proj/quickstart.log"; fail "$name: the Quick start failed under ts-node"; }
  cat "$proj/quickstart.log"
  grep -qE '^test accuracy [0-9.]+ %' "$proj/quickstart.log" || fail "$name: the Quick start printed no accuracy"
  echo "(ts-node, type-checked: $(secs "$t") s)"

  step "$name: npx fsnn train --epochs 1"
  t=$(date +%s.%N)
  npx fsnn train --epochs 1 > "$proj/train.log" 2>&1 || { tail -30 "$proj/train.log"; fail "$name: fsnn train failed"; }
  tail -5 "$proj/train.log"
  echo "($(secs "$t") s)"

  step "$name: tsc --strict --noEmit"
  npx tsc --strict --noEmit -p tsconfig.json || fail "$name: tsc --strict found errors in quickstart.ts"
  echo "no errors"
  npx tsc --version

  echo "$name: node_modules $(du -sh node_modules | cut -f1) (fractional-snn $(du -sh node_modules/fractional-snn | cut -f1))"
  cd "$repo"
}

run_variant prebuild "$tgz"
run_variant source "$src_tgz"

step "summary"
echo "install with the prebuild: ${install_prebuild_s} s; from source (FSNN_CUDA=${FSNN_CI_CUDA:-OFF}): ${install_source_s} s"
echo "pack-install: OK in $(secs "$start_all") s"
