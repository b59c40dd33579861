"""Where built engines are kept and when one can be reused: the cache folder and the cache key.

Engines are specific to the GPU and the TensorRT version that built them, so they are
cached under a key of sha256(onnx bytes) + TensorRT version + GPU name + precision + batch
profile (+ calibration input for INT8).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from .profile import BatchProfile

DEFAULT_CACHE_DIR = Path(os.environ.get("TSMDET_ENGINE_CACHE", "~/.cache/tsmdet/engines")).expanduser()


def engine_cache_key(
    onnx_bytes: bytes,
    trt_version: str,
    gpu_name: str,
    precision: str,
    profile: BatchProfile | None,
    calibration: str = "",
) -> str:
    """sha256 over everything that makes an engine file valid only for one build configuration."""
    digest = hashlib.sha256(onnx_bytes)
    config = {
        "trt": trt_version,
        "gpu": gpu_name,
        "precision": precision,
        "profile": dataclasses.asdict(profile) if profile else "static",
        "calibration": calibration,
    }
    digest.update(json.dumps(config, sort_keys=True).encode())
    return digest.hexdigest()
