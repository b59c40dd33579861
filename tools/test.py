"""Evaluate a tsmdet detector or recognizer on its test split and write the report.

    python tools/test.py CONFIG CHECKPOINT                   # online, frame by frame with shift caches
    python tools/test.py CONFIG CHECKPOINT --mode offline    # clip mode (T frames at once)
    python tools/test.py configs/recognition/synthetic/tsm_r18_gestures.py CKPT   # a recognizer

Detectors write into the work dir: vid.REPORT.json and vid.REPORT.md (AP50 overall, slow / medium /
fast, per class; COCO AP; devkit mAP) and the detections in COCO results format (vid.bbox.json).
Recognizers (configs/recognition) write acc.REPORT.json, acc.REPORT.md (top-1, top-5, mean class
accuracy, direction-pair and per-class accuracy) and acc.confusion.png; --mode applies to
detectors only (a recognizer's test pipeline sets its views: clips x crops).
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
from tsmdet.evaluation.vid_metric import CONVENTIONS, DEFAULT_CONVENTION


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="config file")
    parser.add_argument("checkpoint", help="checkpoint file (.pth)")
    parser.add_argument("--work-dir", help="where the report goes (default work_dirs/<config name>)")
    parser.add_argument("--mode", choices=["online", "offline"], default="online",
                        help="online: one frame at a time with the shift caches (default); offline: clips")
    parser.add_argument("--out-prefix", help="prefix of the report files (default <work-dir>/vid, recognizers <work-dir>/acc)")
    parser.add_argument("--convention", choices=CONVENTIONS, default=DEFAULT_CONVENTION,
                        help="detectors: VID metric convention of devkit mAP and slow/medium/fast; fgfa = the "
                             "ILSVRC devkit / FGFA evaluation papers report (default), coco = continuous "
                             "coordinates (docs/datasets.md); AP / AP50 are the same under both")
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
    stem = "acc" if cfg.model.get("type") == "Recognizer2D" else "vid"
    configure_test(cfg, mode=args.mode, out_prefix=args.out_prefix or str(Path(work_dir) / stem),
                   convention=args.convention)
    runner = build_runner(cfg, args.config, work_dir=work_dir, load_from=args.checkpoint,
                          launcher=args.launcher, trusted_checkpoint=args.trust_checkpoint)
    runner.test()
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
