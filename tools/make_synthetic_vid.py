"""Write a synthetic ImageNet-VID data set (exact ILSVRC2015 VID layout) for tests and CPU experiments.

Example:
    python tools/make_synthetic_vid.py --out data/synthetic_vid --workers 2

The defaults (24 train and 8 val videos of 32 frames at 160x120, three 96-frame
mp4 files) take seconds to write and are sized for training a small TSM
detector on a CPU in minutes; see docs/synthetic_data.md for the classes and
why the car/bus pair is a fair test of temporal modelling.
"""
from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from tsmdet.datasets.synthetic import MOTION_PAIR, SYNTHETIC_CLASSES, generate_synthetic_vid
from tsmdet.utils.cli import frame_size


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"Classes, in index order: {', '.join(SYNTHETIC_CLASSES)}; "
               f"motion pair: {' / '.join(MOTION_PAIR)} "
               "(identical in single frames, opposite horizontal motion).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", required=True, type=Path,
                        help="root of the data set: Data/, Annotations/, ImageSets/ and videos/ go here")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes")
    parser.add_argument("--train-videos", type=int, default=24, help="training snippets")
    parser.add_argument("--val-videos", type=int, default=8, help="validation snippets")
    parser.add_argument("--frames", type=int, default=32,
                        help="frames per snippet (>= 21 keeps the +-10 frame motion-IoU windows whole)")
    parser.add_argument("--size", type=frame_size, default="160x120", metavar="WxH", help="frame size")
    parser.add_argument("--mp4", type=int, default=3,
                        help="val-like videos written as videos/synthetic_NN.mp4, for the streaming tools")
    parser.add_argument("--mp4-frames", type=int, default=96, help="frames per mp4 video (30 fps)")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="processes; the output does not depend on it")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing synthetic set under --out instead of refusing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    start = time.perf_counter()
    try:
        counts = generate_synthetic_vid(
            args.out, seed=args.seed, train_videos=args.train_videos, val_videos=args.val_videos,
            frames=args.frames, size=args.size, mp4=args.mp4, mp4_frames=args.mp4_frames,
            workers=args.workers, overwrite=args.overwrite, progress=True,
        )
    except (FileExistsError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None
    logging.info(
        "wrote %d train videos (%d frames, %d boxes), %d val videos (%d frames, %d boxes) and %d mp4 "
        "to %s in %.1f s; classes %s",
        counts["train_videos"], counts["train_frames"], counts["train_boxes"], counts["val_videos"],
        counts["val_frames"], counts["val_boxes"], counts["mp4_videos"], args.out,
        time.perf_counter() - start, ", ".join(SYNTHETIC_CLASSES),
    )


if __name__ == "__main__":
    import sys

    from tsmdet.utils.cli import run_tool

    sys.exit(run_tool(main))
