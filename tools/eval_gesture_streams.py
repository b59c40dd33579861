"""Score an online gesture model on sample-like streams: gestures found, spurious events, lag.

    python tools/eval_gesture_streams.py                          # the shipped model, seeds 1..29
    python tools/eval_gesture_streams.py model.onnx --seeds 0     # seed 0 is the built-in sample itself
    python tools/eval_gesture_streams.py model.onnx --seeds 1-9 --out work_dirs/streams.json

Each seed renders a stream like the built-in sample video (the same gesture order, every run its
own scene), runs it through the engine with the model's own smoothing (from its metadata), and
scores the events: a gesture is found when an event of its label overlaps it; an event matching
no gesture is spurious. The library function is ``tsmdet.apis.gesture_streams.evaluate_gesture_streams``.
"""
from __future__ import annotations

import argparse
import logging
import sys


def seed_list(text: str) -> list[int]:
    """'1-29' or '0,3,5' -> a list of seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must look like 1-29 or 0,3,5, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"need non-negative seeds, got {text!r}")
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help="exported recognizer (.onnx; default: the shipped gesture model)")
    parser.add_argument("--seeds", type=seed_list, default=list(range(1, 30)), metavar="1-29",
                        help="stream seeds (default: 1-29; 0 is the built-in sample)")
    parser.add_argument("--frames-per-gesture", type=int, default=None,
                        help="frames per gesture run (default: the sample's)")
    parser.add_argument("--out", default=None, metavar="REPORT.json", help="write every stream's events here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tsmdet.streaming").setLevel(logging.WARNING)  # one summary per stream otherwise

    from tsmdet.apis.gesture_streams import evaluate_gesture_streams, format_report, write_report
    from tsmdet.apis.recognition_defaults import SAMPLE_FRAMES_PER_GESTURE, default_recognition_onnx

    model = args.model or str(default_recognition_onnx())
    report = evaluate_gesture_streams(model, args.seeds, args.frames_per_gesture or SAMPLE_FRAMES_PER_GESTURE)
    print(format_report(report))
    if args.out:
        write_report(report, args.out)
        print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
