"""Evaluate a tsmdet detector on a video val split and write the VID report.

    python tools/test.py CONFIG CHECKPOINT                   # online, frame by frame with shift caches
    python tools/test.py CONFIG CHECKPOINT --mode offline    # clip mode (T frames at once)

Writes into the work dir: vid.REPORT.json and vid.REPORT.md (AP50 overall, slow / medium / fast,
per class; COCO AP; devkit mAP) and the detections in COCO results format (vid.bbox.json).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mmengine.config import DictAction

from tsmdet.apis import build_runner, check_data_paths, load_config
from tsmdet.apis.config import DataNotFoundError
from tsmdet.apis.runner import configure_test


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="config file")
    parser.add_argument("checkpoint", help="checkpoint file (.pth)")
    parser.add_argument("--work-dir", help="where the report goes (default work_dirs/<config name>)")
    parser.add_argument("--mode", choices=["online", "offline"], default="online",
                        help="online: one frame at a time with the shift caches (default); offline: clips")
    parser.add_argument("--out-prefix", help="prefix of the report/detections files (default <work-dir>/vid)")
    parser.add_argument("--trust-checkpoint", action="store_true", help="allow full pickle for this checkpoint")
    parser.add_argument("--data-root", help="data set folder (e.g. /data/ILSVRC2015); overrides the config's data_root")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        help="override config keys, e.g. model.test_cfg.rcnn.score_thr=0.01")
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none")
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if not Path(args.checkpoint).is_file():
            raise FileNotFoundError(f"checkpoint not found: {args.checkpoint}")
        cfg = load_config(args.config, args.cfg_options, args.data_root)
        check_data_paths(cfg, splits=("test",))
    except (FileNotFoundError, DataNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    work_dir = args.work_dir or cfg.get("work_dir") or str(Path("work_dirs") / Path(args.config).stem)
    configure_test(cfg, mode=args.mode, out_prefix=args.out_prefix or str(Path(work_dir) / "vid"))
    runner = build_runner(cfg, args.config, work_dir=work_dir, load_from=args.checkpoint,
                          launcher=args.launcher, trusted_checkpoint=args.trust_checkpoint)
    runner.test()
    return 0


if __name__ == "__main__":
    sys.exit(main())
