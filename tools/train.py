"""Train a tsmdet detector: a thin shell over mmengine's Runner.

    python tools/train.py configs/vid_r50_tsm.py
    python tools/train.py configs/synthetic/faster_rcnn_r18_tsm.py --work-dir work_dirs/syn_tsm
    python tools/train.py CONFIG --resume            # continue from the latest checkpoint in the work dir
    tools/dist_train.sh CONFIG 8                     # several GPUs (or CPU processes with gloo)
"""
from __future__ import annotations

import argparse
import logging
import sys

from mmengine.config import DictAction

from tsmdet.apis import build_runner, check_data_paths, load_config
from tsmdet.apis.config import DataNotFoundError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="config file, e.g. configs/vid_r50_tsm.py")
    parser.add_argument("--work-dir", help="where logs and checkpoints go (default work_dirs/<config name>)")
    parser.add_argument(
        "--resume", nargs="?", const="auto", default=None, metavar="CKPT",
        help="resume training: without a value from the latest checkpoint in the work dir, or from CKPT",
    )
    parser.add_argument("--amp", action="store_true", help="automatic mixed precision")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="allow full pickle for the resumed checkpoint (only for files you trust)")
    parser.add_argument("--data-root", help="data set folder (e.g. /data/ILSVRC2015); overrides the config's data_root")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        help="override config keys, e.g. train_cfg.max_epochs=2")
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none", help="set by dist_train.sh")
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(args.config, args.cfg_options, args.data_root)
        check_data_paths(cfg, splits=("train", "val"))
    except (FileNotFoundError, DataNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    runner = build_runner(cfg, args.config, work_dir=args.work_dir, resume=args.resume, amp=args.amp,
                          launcher=args.launcher, trusted_checkpoint=args.trust_checkpoint)
    runner.train()
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
