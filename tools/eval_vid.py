"""Score COCO-format detections on an ImageNet VID (CocoVID json) ground truth.

Writes REPORT.json (AP, AP50, devkit mAP, slow/medium/fast AP, per class) and a
REPORT.md beside it. The metric itself is ``tsmdet.evaluation.vid_metric``.

--convention fgfa (default) is the ILSVRC devkit / FGFA motion-split evaluation the papers
report (+1 pixel boxes, isolated boxes slow, FGFA's frames-without-GT weight, closed motion
ranges); --convention coco is tsmdet's continuous-coordinate variant. COCO AP / AP50 are
the same under both; the report says which convention was used.
"""
from __future__ import annotations

import argparse
import logging
import sys

from tsmdet.evaluation.vid_metric import CONVENTIONS, DEFAULT_CONVENTION, evaluate_files, write_report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: python tools/eval_vid.py work_dirs/x/dets.bbox.json "
               "--ann data/vid/annotations/vid_val.json --out work_dirs/x/REPORT.json")
    parser.add_argument("dets", help="detections json: a list of {image_id, category_id, "
                                     "bbox [x, y, w, h], score} in original image pixels")
    parser.add_argument("--ann", required=True, help="CocoVID ground-truth json written by the "
                                                     "project's converter (videos, images, annotations)")
    parser.add_argument("--out", required=True, help="report json path; the .md report goes beside it")
    parser.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                        help="evaluate only these category names (default: all in --ann)")
    parser.add_argument("--convention", choices=CONVENTIONS, default=DEFAULT_CONVENTION,
                        help="box / motion-split rules of devkit mAP and slow/medium/fast: fgfa = the "
                             "devkit and FGFA evaluation papers report (default), coco = continuous "
                             "coordinates (tsmdet before issue 12)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = evaluate_files(args.dets, args.ann, args.classes, args.convention)
    except ValueError as err:
        logging.getLogger("eval_vid").error("%s", err)
        return 2
    json_path, md_path = write_report(result, args.out)
    print(f"report: {json_path} {md_path}")
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
