"""Can a config's backbone learn the synthetic motion pair's direction when that is its only loss?

Trains the backbone + a linear car-vs-bus classifier on RoI features of the ground-truth boxes
(frames with history only) and prints the accuracy curve. A 2D backbone stays at 50 %; a TSM
backbone that carries the previous frame rises above it. See tsmdet/apis/direction_learnability.py.

    python tools/direction_learnability.py configs/synthetic/faster_rcnn_r18_tsm.py --data-root data/synthetic_vid_big
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tsmdet.apis.direction_learnability import train_direction_classifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="a synthetic-set config (its backbone, clips and data are used)")
    parser.add_argument("--data-root", help="synthetic set (default: the config's data_root)")
    parser.add_argument("--steps", type=int, default=400, help="Adam steps of one clip batch (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--out", help="write the curve as json here")
    parser.add_argument("--init", help="start from this detector checkpoint (default: the config's init)")
    parser.add_argument("--save", help="write the model with the trained backbone here (a load_from checkpoint)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = train_direction_classifier(
            args.config, args.steps, args.data_root, args.lr,
            on_report=lambda step, acc, loss: print(f"step {step:5d}  accuracy {100 * acc:5.1f} %  loss {loss:.3f}",
                                                    flush=True),
            init_checkpoint=args.init, save_to=args.save)
    except (ValueError, FileNotFoundError) as err:
        logging.getLogger("direction_learnability").error("%s", err)
        return 2
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
