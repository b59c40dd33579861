"""Errors of the runtime layer that mean "this file cannot be run", as opposed to a bug.

A tool turns them into one line naming the file and the problem and exit code 2
(``tsmdet.utils.cli.run_tool``), never a traceback.
"""
from __future__ import annotations

from tsmdet.utils.cli import InputError


class ModelFileError(InputError, ValueError):
    """A model file that is not what it must be: not ONNX, truncated, without tsmdet metadata, of
    another task than asked for, or a TensorRT plan from another TensorRT version or GPU.
    The message starts with the file's path. (A ``ValueError`` for callers written before it existed.)"""
