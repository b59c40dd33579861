"""Library side of tools/train.py and tools/test.py (the tools only parse arguments)."""
from .config import check_data_paths, load_config
from .runner import build_runner

__all__ = ["build_runner", "check_data_paths", "load_config"]
