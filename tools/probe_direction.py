"""Time-reversal probe: does a detector separate the synthetic motion pair (car / bus) by direction?

Runs every val video forwards and backwards frame by frame (shift caches on) and reports, for the
pair's ground-truth boxes, how often the true class outscores the other one in each direction.
A per-frame (2D) detector scores exactly 50 % direction accuracy; a detector that uses time scores
above it. See tsmdet/evaluation/motion_probe.py for the why.

    python tools/probe_direction.py configs/synthetic/faster_rcnn_r18_tsm.py CKPT --data-root data/synthetic_vid_val64
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from tsmdet.apis.engines import open_engine
from tsmdet.evaluation.motion_probe import format_probe, probe_direction
from tsmdet.evaluation.vid_metric import load_vid_gt
from tsmdet.utils.cli import UsageError, check_paths


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="detector config (a synthetic-set config)")
    parser.add_argument("checkpoint", help="checkpoint file (.pth)")
    parser.add_argument("--data-root", default="data/synthetic_vid",
                        help="synthetic set made by tools/make_synthetic_vid.py (default: %(default)s)")
    parser.add_argument("--ann", help="val json (default <data-root>/annotations/imagenet_vid_val.json)")
    parser.add_argument("--pair", nargs=2, default=["car", "bus"], metavar="CLASS",
                        help="the two classes that differ only by motion direction (default: car bus)")
    parser.add_argument("--out", help="write the result as json here")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="allow full pickle for the checkpoint (only for files you trust)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = Path(args.data_root)
    if args.pair[0] == args.pair[1]:
        raise UsageError(f"--pair needs two different classes, got {args.pair[0]} twice")
    try:
        gt = load_vid_gt(args.ann or root / "annotations" / "imagenet_vid_val.json")
    except ValueError as err:
        logging.getLogger("probe_direction").error("%s", err)
        return 2
    check_paths(("config", args.config, "file"), ("checkpoint", args.checkpoint, "file"),
                ("--data-root", root, "dir"))  # all before the model is built
    if args.trust_checkpoint:
        from tsmdet.utils.checkpoint import trust_checkpoint

        trust_checkpoint(args.checkpoint)
    prefix = gt.get("info", {}).get("file_name_prefix", "Data/VID")
    with open_engine("torch", config=args.config, checkpoint=args.checkpoint, num_streams=2) as engine, \
            tqdm(total=len(gt["images"]), unit="frame", desc="probe") as bar:
        result = probe_direction(engine, gt, root / prefix, args.pair, progress=bar.update)
    print(format_probe(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))
        print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
