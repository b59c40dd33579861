"""Convert ILSVRC2015 VID (train/val) or the 30-class DET subset into a CocoVID-style json.

Example::

    python tools/convert_imagenet_vid.py --root data/ILSVRC2015 --split val \\
        --out data/ILSVRC2015/annotations/imagenet_vid_val.json

A second run whose output is up to date (same source fingerprint) is skipped.
The json schema and the bad-input policy are described in docs/datasets.md.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time

from tsmdet.datasets.imagenet_vid import SPLITS, convert_to_file
from tsmdet.datasets.vid_xml import AnnotationError

logger = logging.getLogger("convert_imagenet_vid")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Bad input: a malformed XML stops the run with its path (use --skip-bad to skip and "
        "count it); missing images, boxes outside the image, unknown WordNet ids and frame-number "
        "gaps are always skipped/clipped, warned and counted in the json's \"summary\".",
    )
    parser.add_argument("--root", required=True,
                        help="ILSVRC2015 folder (holds Annotations/, Data/, ImageSets/)")
    parser.add_argument("--split", required=True, choices=SPLITS,
                        help="VID train or val, or det: the DET train images with a VID class")
    parser.add_argument("--out", required=True, help="output json file")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel processes (default: number of CPUs; 1 = no pool)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip (and count) malformed annotations instead of stopping")
    parser.add_argument("--force", action="store_true", help="reconvert even when the output is up to date")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    start = time.perf_counter()
    try:
        summary = convert_to_file(args.root, args.split, args.out, workers=args.workers,
                                  strict=not args.skip_bad, force=args.force)
    except FileNotFoundError as err:
        logger.error("%s", err)
        return 1
    except AnnotationError as err:
        logger.error("%s (rerun with --skip-bad to skip and count such files)", err)
        return 1
    if summary is None:
        return 0
    seconds = time.perf_counter() - start
    print(f"{summary.split}: {summary.videos} videos, {summary.images} images, {summary.annotations} boxes, "
          f"{summary.instances} instances -> {args.out}")
    rate = summary.frames_seen / max(seconds, 1e-9)
    print(f"{summary.frames_seen} frames in {seconds:.1f} s ({rate:.0f} frames/s)")
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
