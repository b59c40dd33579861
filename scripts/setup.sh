#!/usr/bin/env bash
# Creates .venv and installs tsmdet's pinned stack. Idempotent: a second run with
# unchanged pins finishes in seconds (a stamp keyed by the pins' hash), and mmcv's
# from-source wheel is kept in a cache outside the repo so a fresh clone on the
# same machine reuses it. Any failed step stops with the step's name.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
MMCV_VERSION=2.1.0
PINS=requirements/pins.txt
CACHE=${TSMDET_CACHE:-$HOME/.cache/tsmdet}

step() { STEP="$1"; echo "[setup] $1" >&2; }
trap 'echo "[setup] FAILED at step: ${STEP:-start} (see the output above for why)" >&2' ERR

# Triton server env for serving (own venv: its stub needs numpy<2; docs/serving.md); before the up-to-date exit, seconds when current
bash scripts/setup_triton.sh || echo "[setup] warning: Triton server not installed (scripts/setup_triton.sh failed): serving tests will skip" >&2

stamp_key=$(cat "$PINS" scripts/setup.sh setup.py | sha256sum | cut -c1-16)
stamp="$VENV/.tsmdet-setup-$stamp_key"
if [ -f "$stamp" ] && "$VENV/bin/python" -c "import mmcv.ops, mmdet, tsmdet" 2>/dev/null; then
  echo "[setup] up to date ($VENV, pins $stamp_key)" >&2
  exit 0
fi

step "check python ($PYTHON)"
command -v "$PYTHON" >/dev/null || { echo "[setup] $PYTHON not found; set PYTHON=/path/to/python3.11" >&2; false; }
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' 

step "create virtual environment $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade "pip>=24"

step "install pinned packages from $PINS (the first time this downloads torch, several GB)"
"${PIP[@]}" install -r "$PINS"

step "build mmcv $MMCV_VERSION with ops from source (about 8 minutes on 2 cores the first time)"
torch_version=$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')
wheel_dir="$CACHE/mmcv-$MMCV_VERSION-torch$torch_version"
if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
  mkdir -p "$wheel_dir"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "${PIP[@]}" wheel --no-deps --no-build-isolation "mmcv==$MMCV_VERSION" -w "$wheel_dir"
fi
step "install mmcv wheel from $wheel_dir"
"${PIP[@]}" install --no-deps "$wheel_dir"/mmcv-*.whl
# mmcv's own runtime needs (its wheel was installed without dependency resolution)
"${PIP[@]}" install -q addict yapf packaging Pillow pyyaml

step "install tsmdet (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .

step "check imports"
"$VENV/bin/python" -c "import mmcv.ops, mmdet, mmengine, torch, onnxruntime, tsmdet; print('[setup] ok: torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmdet', mmdet.__version__)"

rm -f "$VENV"/.tsmdet-setup-*
touch "$stamp"
