#!/usr/bin/env bash
# Creates .venv-triton: the Triton Inference Server environment (nvidia-pytriton's tritonserver
# binary with the Python backend, numpy<2 and onnxruntime for the backend stub). Kept apart from
# the project's .venv because the wheel pins numpy<2 and the stub needs numpy 1.x, while the
# project uses numpy 2 (docs/serving.md). Idempotent: a stamp keyed by requirements/triton.txt
# and this script makes a second run return at once. Called at the end of scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
TRITON_VENV=${TRITON_VENV:-.venv-triton}
REQS=requirements/triton.txt

step() { STEP="$1"; echo "[setup_triton] $1" >&2; }
trap 'echo "[setup_triton] FAILED at step: ${STEP:-start} (see the output above for why)" >&2' ERR

stamp_key=$(cat "$REQS" scripts/setup_triton.sh | sha256sum | cut -c1-16)
stamp="$TRITON_VENV/.tsmdet-triton-$stamp_key"
server_glob="$TRITON_VENV/lib/python3.*/site-packages/pytriton/tritonserver/bin/tritonserver"
if [ -f "$stamp" ] && compgen -G "$server_glob" >/dev/null; then
  echo "[setup_triton] up to date ($TRITON_VENV, $stamp_key)" >&2
  exit 0
fi

step "create virtual environment $TRITON_VENV with $PYTHON"
command -v "$PYTHON" >/dev/null || { echo "[setup_triton] $PYTHON not found; set PYTHON=/path/to/python3.x (3.8-3.13)" >&2; false; }
[ -x "$TRITON_VENV/bin/python" ] || "$PYTHON" -m venv "$TRITON_VENV"
PIP=("$TRITON_VENV/bin/python" -m pip --disable-pip-version-check)

step "install $REQS (nvidia-pytriton bundles tritonserver, about 55 MB)"
"${PIP[@]}" install -q -r "$REQS"

step "check the server binary, the stub for this Python and numpy<2"
compgen -G "$server_glob" >/dev/null
"$TRITON_VENV/bin/python" - <<'EOF'
import pathlib, sys
import numpy, onnxruntime, pytriton
root = pathlib.Path(pytriton.__file__).parent / "tritonserver"
version = f"{sys.version_info[0]}.{sys.version_info[1]}"
stub = root / "python_backend_stubs" / version / "triton_python_backend_stub"
assert stub.is_file(), f"no Python-backend stub for Python {version} in the wheel"
assert int(numpy.__version__.split(".")[0]) < 2, f"the stub needs numpy<2, found {numpy.__version__}"
print(f"[setup_triton] ok: {root / 'bin' / 'tritonserver'}, stub {version}, numpy {numpy.__version__}, "
      f"onnxruntime {onnxruntime.__version__}", file=sys.stderr)
EOF

rm -f "$TRITON_VENV"/.tsmdet-triton-*
touch "$stamp"
