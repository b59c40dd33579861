"""Write the synthetic gesture set (9 classes, direction pairs that only motion order separates).

Example:
    python tools/make_synthetic_actions.py                        # -> data/synthetic_actions
    python tools/make_synthetic_actions.py --out /tmp/gestures --train-videos 90 --val-videos 45 --no-mp4

Writes frame folders (frames/<split>/<id>/img_00001.jpg), mp4 files (videos/<split>/<id>.mp4),
both list formats (<split>_list_tsm.txt / _rawframes.txt: `<split>/<id> <num_frames> <label>`;
<split>_list_videos.txt: `<split>/<id>.mp4 <label>`) and classes.txt. The defaults (1800 train,
180 val videos of 16-24 frames at 64x64; 200 per class so that a small network cannot just memorise
each video's background) take one to a few minutes and are what configs/recognition/synthetic/ train
on; docs/recognition.md explains the construction.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from tsmdet.datasets.recognition.synthetic_gestures import (DIRECTION_PAIRS, GESTURE_CLASSES,
                                                            generate_synthetic_actions)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"Classes, in index order: {', '.join(GESTURE_CLASSES)}. Direction pairs (one class is the "
               f"other's time reversal): {'; '.join(' / '.join(p) for p in DIRECTION_PAIRS)}.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("data/synthetic_actions"), help="root of the set")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same videos")
    parser.add_argument("--train-videos", type=int, default=1800, help="training videos (classes round-robin)")
    parser.add_argument("--val-videos", type=int, default=180, help="validation videos")
    parser.add_argument("--min-frames", type=int, default=16, help="fewest frames per video")
    parser.add_argument("--max-frames", type=int, default=24, help="most frames per video")
    parser.add_argument("--size", type=int, default=64, help="frame side in pixels (square frames)")
    parser.add_argument("--no-mp4", action="store_true", help="frame folders only (no video list)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not 1 <= args.min_frames <= args.max_frames or args.size < 16:
        print("error: need 1 <= --min-frames <= --max-frames and --size >= 16", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        info = generate_synthetic_actions(args.out, args.train_videos, args.val_videos,
                                          (args.min_frames, args.max_frames), args.size, not args.no_mp4,
                                          args.seed, args.overwrite)
    except (FileExistsError, RuntimeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    logging.info("wrote %s (%s videos) in %.1f s", info.root, info.counts, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
