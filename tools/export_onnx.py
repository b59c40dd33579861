"""Export a tsmdet detector or online recognizer (config + checkpoint) to an ONNX model with shift states.

The graph takes the letterboxed RGB frame (float32 0..255) and the shift caches
`state_0..`, and returns fixed-size detections `boxes, scores, labels, num_dets` plus
the next caches `state_out_0..`; normalisation, box decoding and NMS are inside.
The model's metadata (input size, state shapes, classes, thresholds) is stored in
the file under the key 'tsmdet', so engines need nothing else. After export every
operator is checked against TensorRT's ONNX parser, and onnxruntime is compared
with PyTorch on a random frame sequence with the states fed back.
A recognizer config (Recognizer2D, past shift) exports one frame in, its class logits `scores`
(B, num_classes) and `state_out_..` out, with the smoothing parameters in the metadata
(``tsmdet.deploy.recognizer_export``). The library function is ``tsmdet.deploy.export.export_onnx``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tsmdet.utils.cli import frame_size


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python tools/export_onnx.py configs/vid_r50_tsm.py work_dirs/vid_r50_tsm/epoch_7.pth "
               "--out vid_r50_tsm.onnx\n"
               "  python tools/export_onnx.py CONFIG CKPT --out model.onnx --input-size 640x384 "
               "--static-batch")
    parser.add_argument("config", help="tsmdet/mmdet config file")
    parser.add_argument("checkpoint", help="checkpoint (.pth) matching the config (loaded strictly)")
    parser.add_argument("--out", required=True, metavar="MODEL.onnx", help="ONNX file to write")
    parser.add_argument("--input-size", type=frame_size, default=None, metavar="WxH",
                        help="network input (letterbox) size; default: the test pipeline's Resize scale "
                             "rounded up to the pad divisor. Must be a multiple of the pad divisor (32)")
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument("--dynamic-batch", dest="dynamic_batch", action="store_true", default=True,
                       help="symbolic stream-batch axis: one file serves 1..N streams per call (default; "
                            "TensorRT builds it with a 1..--max-batch profile)")
    batch.add_argument("--static-batch", dest="dynamic_batch", action="store_false",
                       help="a fixed batch of 1 instead")
    parser.add_argument("--score-thr", type=float, default=None, help="score threshold (default: test_cfg)")
    parser.add_argument("--max-det", type=int, default=None,
                        help="detections per frame K (default: test_cfg)")
    parser.add_argument("--nms-iou", type=float, default=None,
                        help="final NMS IoU threshold (default: test_cfg)")
    parser.add_argument("--pre-nms-top-k", type=int, default=None, metavar="K",
                        help="candidates per FPN level before NMS (default: test_cfg nms_pre)")
    parser.add_argument("--precision", choices=("fp32", "fp16"), default="fp32",
                        help="fp16: learned layers in fp16, box decoding and NMS kept fp32 (inputs and "
                             "outputs stay fp32); default fp32")
    parser.add_argument("--shift-form", choices=("concat", "convs"), default="concat",
                        help="ONNX spelling of each online shift: concat (one Split + one Concat, default) or "
                             "convs (two 0/1 1x1 convs, keeps onnxruntime's blocked x86 layout); same values. "
                             "scripts/shift_forms.py measures which is faster on your machine")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the onnxruntime-vs-PyTorch comparison")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="allow full pickle for this checkpoint (only for files you trust)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for path, what in ((args.config, "config"), (args.checkpoint, "checkpoint")):
        if not Path(path).is_file():
            print(f"error: {what} file not found: {path}", file=sys.stderr)
            return 2
    from tsmdet.deploy.export import export_onnx
    from tsmdet.deploy.trt_ops import UnsupportedOperatorError
    from tsmdet.deploy.verify import ExportVerificationError
    from tsmdet.utils.checkpoint import trust_checkpoint

    if args.trust_checkpoint:
        trust_checkpoint(args.checkpoint)
    from mmengine.config import Config

    from tsmdet.deploy.recognizer_export import export_recognizer_onnx, is_recognizer_config
    from tsmdet.ops.temporal_shift import shift_export_form

    try:
        with shift_export_form(args.shift_form):  # the file's shift spelling (same values)
            if is_recognizer_config(Config.fromfile(args.config)):  # recognizers: scores + states out
                meta, _ = export_recognizer_onnx(args.config, args.checkpoint, args.out, input_size=args.input_size,
                                                 dynamic_batch=args.dynamic_batch, verify=not args.no_verify,
                                                 precision=args.precision)
            else:
                meta, _ = export_onnx(
                    args.config, args.checkpoint, args.out, input_size=args.input_size,
                    dynamic_batch=args.dynamic_batch,
                    score_thr=args.score_thr, max_det=args.max_det, nms_iou=args.nms_iou,
                    pre_nms_top_k=args.pre_nms_top_k, verify=not args.no_verify, precision=args.precision,
                )
    except (UnsupportedOperatorError, ExportVerificationError, NotImplementedError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    logging.getLogger("export_onnx").info(
        "wrote %s: input %dx%d, %d states, %d classes", args.out, *meta.input_size, len(meta.states),
        len(meta.classes))
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
