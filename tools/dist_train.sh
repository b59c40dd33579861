#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG NPROC [train.py options]
# On GPUs one process per GPU (NCCL); without CUDA, NPROC CPU processes (gloo).
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 CONFIG NPROC [tools/train.py options]" >&2; exit 2; fi
CONFIG=$1; NPROC=$2; shift 2
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
exec "$PY" -m torch.distributed.run --nnodes=1 --nproc_per_node="$NPROC" \
  --master_port="${PORT:-29500}" tools/train.py "$CONFIG" --launcher pytorch "$@"
