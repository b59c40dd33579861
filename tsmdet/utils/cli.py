"""Small argparse helpers shared by the command-line tools (kept free of heavy imports)."""
from __future__ import annotations

import argparse


def frame_size(text: str) -> tuple[int, int]:
    """argparse ``type`` for ``WIDTHxHEIGHT`` (e.g. ``160x120``): a positive (width, height)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return width, height
