"""Score a deployed engine on an ImageNet VID set: AP50, devkit mAP, slow/medium/fast, per class.

    python tools/eval_engine.py model.onnx --engine onnx --ann data/synthetic_vid/annotations/imagenet_vid_val.json \
        --data-root data/synthetic_vid --out work_dirs/eval/onnx.REPORT.json
    python tools/eval_engine.py --engine torch --config CFG --checkpoint CKPT --ann GT.json --data-root ROOT --out R.json
    python tools/eval_engine.py model.int8.onnx --engine onnx --ann GT.json --data-root ROOT --out R.json --max-videos 4
    python tools/eval_engine.py model.int8.onnx ... --compare test=work_dirs/x/vid.REPORT.json fp32=R32.json
        # one table: AP50 overall and per class of each report and of this run, gaps to the first

Runs the engine over every video frame by frame (the shift state is reset at each video start),
with the model's own preprocessing contract, and writes REPORT.json, REPORT.md and the COCO
detections REPORT.bbox.json: the same report tools/test.py writes for the mmdet model.
The library function is ``tsmdet.apis.eval_engine.evaluate_engine``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ENGINES = ("torch", "onnx", "trt")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help="ONNX file or TensorRT engine (onnx, trt; not used by torch)")
    parser.add_argument("--engine", choices=ENGINES, required=True, help="backend to evaluate")
    parser.add_argument("--ann", required=True, help="CocoVID ground truth json (tools/convert_imagenet_vid.py)")
    parser.add_argument("--data-root", required=True, help="data set folder holding Data/VID")
    parser.add_argument("--out", required=True, metavar="REPORT.json", help="report json; .md and .bbox.json beside it")
    parser.add_argument("--config", help="model config (torch engine)")
    parser.add_argument("--checkpoint", help="checkpoint (torch engine)")
    parser.add_argument("--convention", choices=("fgfa", "coco"), default="fgfa",
                        help="VID metric convention (default: fgfa, the ILSVRC devkit / FGFA evaluation)")
    parser.add_argument("--max-videos", type=int, default=None, metavar="N", help="only the first N videos")
    parser.add_argument("--compare", nargs="+", default=[], metavar="NAME=REPORT.json",
                        help="print one AP50 table of these reports and this run, gaps to the first "
                             "(e.g. test=work_dirs/x/vid.REPORT.json, the mmdet model's tools/test.py report)")
    parser.add_argument("--threads", type=int, default=None, help="torch/onnxruntime CPU compute threads (default: 1 on <= 2 usable cores, else cores - 1)")
    return parser.parse_args(argv)


def _check_inputs(args: argparse.Namespace) -> str | None:
    """The first bad input as a one-line message, or None."""
    if args.engine == "torch":
        for path, what in ((args.config, "--config"), (args.checkpoint, "--checkpoint")):
            if not path:
                return f"the torch engine needs {what}"
            if not Path(path).is_file():
                return f"{what} file not found: {path}"
    elif not args.model or not Path(args.model).is_file():
        return f"model file not found: {args.model}"
    if not Path(args.ann).is_file():
        return f"annotation file not found: {args.ann}"
    for item in args.compare:
        name, sep, path = item.partition("=")
        if not sep or not name or not Path(path).is_file():
            return f"--compare {item}: expected NAME=REPORT.json of an existing report"
    if not Path(args.data_root).is_dir():
        return f"data root not found: {args.data_root}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    problem = _check_inputs(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from tsmdet.apis.engines import engine_from_model_file, open_engine
    from tsmdet.apis.eval_engine import comparison_table, evaluate_engine, load_report
    from tsmdet.evaluation.vid_metric import format_summary
    from tsmdet.runtime import EngineUnavailableError

    try:
        compared = [(item.partition("=")[0], load_report(item.partition("=")[2])) for item in args.compare]
        other = {r.get("convention") for _, r in compared} - {None, args.convention}
        if other:  # before the run: a table of mixed conventions compares nothing
            raise ValueError(f"--compare reports use the {sorted(other)} convention, this run {args.convention}")
        if args.engine == "torch":
            engine = open_engine("torch", config=args.config, checkpoint=args.checkpoint, threads=args.threads)
        else:
            extra = {"intra_op_threads": args.threads} if args.engine == "onnx" and args.threads else {}
            engine = engine_from_model_file(args.engine, args.model, **extra)
        result = evaluate_engine(engine, args.ann, args.data_root, args.out, convention=args.convention,
                                 max_videos=args.max_videos)
    except EngineUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err if 'REPORT' in str(err) or '--compare' in str(err) else f'{args.ann}: {err}'}",
              file=sys.stderr)
        return 2
    print(format_summary(result.report))
    print(f"report: {result.report_path} {result.markdown_path} {result.detections_path}")
    if compared:
        name = f"{args.engine} {result.report['engine']['precision']}"
        print(comparison_table([*compared, (name, result.report)]))
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
