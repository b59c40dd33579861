"""The library side of the tools: training/testing runners, engines, defaults, demo, benchmark.

Names are imported on first use (PEP 562), so ``from tsmdet.apis.engines import open_engine``
on a machine with only onnxruntime never imports mmengine, while ``from tsmdet.apis import
build_runner`` still works where the OpenMMLab stack is installed.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_runner": "runner",
    "configure_test": "runner",
    "check_data_paths": "config",
    "load_config": "config",
    "open_engine": "engines",
    "engine_from_model_file": "engines",
    "init_recognizer": "recognition",
    "inference_recognizer": "recognition",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tsmdet.apis' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
