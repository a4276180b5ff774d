#!/usr/bin/env bash
# Superseded by the GPU bundle: `npm run gpu:bundle` here, then `OUT=<dir> bash .gpu-bundle/run.sh` on
# the GPU machine (README, "Checking a GPU machine"). This wrapper runs the bundle's run.sh when the
# bundle has been built in this checkout.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$root/.gpu-bundle/run.sh" ]; then
  echo "scripts/gpu-check.sh: no .gpu-bundle/ here; build it with 'npm run gpu:bundle' (needs nvcc), copy" >&2
  echo ".gpu-bundle/ to the GPU machine and run 'OUT=<dir> bash .gpu-bundle/run.sh' there." >&2
  exit 2
fi
exec bash "$root/.gpu-bundle/run.sh" "$@"
