"""Turn a training checkpoint into a small weights-only file for shipping (fp16 by default).

    python tools/publish_checkpoint.py work_dirs/dirinit_tsm/iter_600.pth checkpoints/synthetic_faster_rcnn_r18_tsm.pth
"""
from __future__ import annotations

import argparse
import sys

from tsmdet.utils.checkpoint import UnsafeCheckpointError, publish_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", help="training checkpoint (loaded through the safe loader)")
    parser.add_argument("dst", help="output file")
    parser.add_argument("--fp32", action="store_true", help="keep float32 weights (default: float16)")
    args = parser.parse_args(argv)
    try:
        out = publish_checkpoint(args.src, args.dst, half=not args.fp32)
    except (FileNotFoundError, UnsafeCheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
