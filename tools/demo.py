"""The end-to-end demo (``make demo``): nothing to download; measured times in the README.

1. generates the synthetic video data set (ILSVRC2015 layout) and converts it;
2. evaluates the shipped online TSM detector on its val split, frame by frame with the shift
   caches, and prints the VID report (AP50 overall, slow / medium / fast, per class);
3. exports the model to ONNX and streams the sample video through onnxruntime: annotated video,
   JSONL detections and a latency summary.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tsmdet.apis.demo import run_demo
from tsmdet.apis.defaults import OUTPUTS
from tsmdet.runtime import ENGINE_CHOICES, require_engine
from tsmdet.utils.cli import UsageError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default=str(OUTPUTS / "demo"), help="where results go (default: %(default)s)")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="onnx",
                        help="engine for the streaming part (default: %(default)s)")
    args = parser.parse_args(argv)
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise UsageError(f"--out-dir {args.out_dir}: is a file, not a folder")
    if args.engine != "auto":
        require_engine(args.engine)  # before minutes of evaluation, not after them
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = run_demo(Path(args.out_dir), args.engine)
    print("\n" + Path(result["report_md"]).read_text())
    print(f"\nreport:          {result['report_md']}\nannotated video: {result['video']}\n"
          f"detections:      {result['jsonl']}")
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
