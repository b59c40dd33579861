"""Quantize an exported fp32 ONNX detector to INT8 (QDQ) with calibration frames streamed through its state.

    python tools/quantize.py model.onnx --calib data/synthetic_vid/videos/synthetic_00.mp4 --out model.int8.onnx
    python tools/quantize.py model.onnx --calib frames/ --method entropy --frames 128 --out model.int8.onnx
    python tools/quantize.py model.onnx --calib clip.mp4 --out model.int8.onnx --speed-frames 60

onnxruntime quantize_static, QDQ format, per-channel symmetric int8 weights and symmetric int8
activations (what TensorRT reads as an explicitly quantized network). The calibration frames
go through the model's preprocessing contract and its online state (each frame's state_out fed
back as the next state_in). Box decoding and NMS stay fp32. --speed-frames N compares fp32 and
int8 model-only latency on onnxruntime (interleaved blocks) after quantizing.
The library function is ``tsmdet.deploy.quantize.quantize_int8``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="fp32 ONNX file written by tools/export_onnx.py")
    parser.add_argument("--calib", required=True, metavar="VIDEO_OR_FOLDER",
                        help="calibration frames: a video file or an image folder, read in order as one stream")
    parser.add_argument("--out", required=True, metavar="MODEL.int8.onnx", help="QDQ ONNX file to write")
    parser.add_argument("--method", choices=("minmax", "entropy", "percentile"), default="minmax",
                        help="calibration method (default: minmax)")
    parser.add_argument("--frames", type=int, default=64, help="calibration frames (default: 64)")
    parser.add_argument("--asymmetric", action="store_true",
                        help="uint8 asymmetric activations: onnxruntime's fastest x86 CPU path, not for TensorRT "
                             "(default: symmetric int8, zero point 0, as TensorRT needs)")
    parser.add_argument("--speed-frames", type=int, default=0, metavar="N",
                        help="after quantizing, time fp32 vs int8 on N calibration frames (default: off)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not Path(args.model).is_file():
        print(f"error: model file not found: {args.model}", file=sys.stderr)
        return 2
    if not Path(args.calib).exists():
        print(f"error: calibration source not found: {args.calib}", file=sys.stderr)
        return 2
    from tsmdet.deploy.quantize import compare_speed, quantize_int8

    try:
        report = quantize_int8(args.model, args.calib, args.out, method=args.method, frames=args.frames,
                               symmetric=not args.asymmetric)
    except ValueError as err:
        print(f"error: {args.model}: {err}", file=sys.stderr)
        return 2
    print(f"wrote {report.out}: {report.quantized_nodes} quantized tensors, {report.excluded_nodes} nodes kept "
          f"fp32, {report.frames} calibration frames ({report.method})")
    if args.speed_frames:
        speed = compare_speed([args.model, args.out], args.calib, frames=args.speed_frames)
        print(f"onnxruntime model-only p50: {speed.p50_ms}; fp32/int8 paired ratio {speed.paired_ratio:.2f}")
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
