"""The model the serving tools use when given none: the shipped checkpoint with a dynamic batch axis.

``tsmdet.apis.defaults.default_onnx`` exports a batch-1 graph (what one local stream needs);
serving batches several streams into one graph call, so it needs the batch axis dynamic.
Exported on first use (needs the OpenMMLab stack once), and again when the checkpoint is newer.
"""
from __future__ import annotations

import logging
from pathlib import Path

from tsmdet.apis.defaults import DEFAULT_CHECKPOINT, DEFAULT_CONFIG, OUTPUTS

logger = logging.getLogger(__name__)

DEFAULT_SERVING_ONNX = OUTPUTS / "models" / "synthetic_faster_rcnn_r18_tsm.dynamic.onnx"


def default_serving_onnx(path: Path = DEFAULT_SERVING_ONNX) -> Path:
    if not DEFAULT_CHECKPOINT.is_file():
        raise FileNotFoundError(f"the shipped checkpoint is missing: {DEFAULT_CHECKPOINT}")
    if not path.is_file() or path.stat().st_mtime < DEFAULT_CHECKPOINT.stat().st_mtime:
        from tsmdet.deploy.export import export_onnx

        logger.info("exporting %s with a dynamic batch axis to %s (first run)", DEFAULT_CHECKPOINT.name, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(DEFAULT_CONFIG, DEFAULT_CHECKPOINT, path, dynamic_batch=True)
    return path
