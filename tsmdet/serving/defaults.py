"""Where the serving tools keep the model they use when given none.

``tools/serve.py`` without ``MODEL.onnx`` exports the shipped checkpoint here with a dynamic
batch axis (``tsmdet.apis.defaults.default_onnx`` is a batch-1 graph, what one local stream
needs; serving batches several streams into one graph call). ``tools/load_test.py`` reads
the same file for its local reference run. Only the path lives here: the export needs the
deploy layer, which this package must not import (tests/test_structure.py).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SERVING_ONNX = REPO_ROOT / "outputs" / "models" / "synthetic_faster_rcnn_r18_tsm.dynamic.onnx"
