"""Turn a training checkpoint into a small weights-only file for shipping (fp16 by default).

    python tools/publish_checkpoint.py work_dirs/dirinit_tsm/iter_600.pth checkpoints/synthetic_faster_rcnn_r18_tsm.pth
"""
from __future__ import annotations

import argparse
import sys

from pathlib import Path

from tsmdet.utils.checkpoint import UnsafeCheckpointError, publish_checkpoint, trust_checkpoint
from tsmdet.utils.cli import UsageError, check_paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", help="training checkpoint (loaded through the safe loader)")
    parser.add_argument("dst", help="output file")
    parser.add_argument("--fp32", action="store_true", help="keep float32 weights (default: float16)")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="allow full pickle for SRC (only for files you trust)")
    args = parser.parse_args(argv)
    check_paths(("src", args.src, "file"))
    if Path(args.dst).is_dir():
        raise UsageError(f"dst {args.dst}: is a folder; name the output file")
    if Path(args.dst).resolve() == Path(args.src).resolve():
        raise UsageError(f"dst {args.dst}: is the source file; write the published copy elsewhere")
    if args.trust_checkpoint:
        trust_checkpoint(args.src)
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
