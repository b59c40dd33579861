"""Latency report of an online TSM detector per engine, against the same model without the shift.

    python tools/benchmark.py                                     # built-in model, every engine, 200 frames
    python tools/benchmark.py --config configs/vid_mbv2_tsm_retinanet.py --engines torch onnx
    python tools/benchmark.py --config CFG --checkpoint CKPT --source video.mp4 --threads 2
    python tools/benchmark.py --engines torch onnx --streams 1,8 --contend   # tails under load, batched streams

Model-only and end-to-end (decode + preprocess + inference + postprocess) p50/p90/p99 and FPS,
per-stage times, parameters, FLOPs and state bytes per stream, and the targets (online TSM /
no shift <= 1.02, onnxruntime >= 1.5x PyTorch, end-to-end <= 1.15x model-only), written to
--out-dir as benchmark.json, benchmark.md and benchmark.png. Always exits 0 when the run
completes: it is a report, failed targets are marked in it. See docs/deployment.md, "Latency".
The library function is ``tsmdet.apis.benchmark.run_benchmark``.
"""
from __future__ import annotations

import argparse
import logging
import sys

from tsmdet.runtime import ENGINE_KINDS
from tsmdet.utils.cli import UsageError, check_paths, frame_size, positive_int, reject_flags


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config",
                        help="model config (default: the built-in synthetic Faster R-CNN R18 TSM)")
    parser.add_argument("--checkpoint",
                        help="checkpoint, loaded strictly (default: the built-in one with the default "
                             "config; else random weights, latency only)")
    parser.add_argument("--engines", nargs="+", choices=ENGINE_KINDS, default=None,
                        help="engines to run (default: all; unavailable ones are reported with the reason)")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="allow full pickle for --checkpoint (only for files you trust)")
    parser.add_argument("--frames", type=positive_int, default=200,
                        help="measured frames per variant (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="warm-up frames per variant (default: %(default)s)")
    parser.add_argument("--block-frames", type=positive_int, default=10,
                        help="frames per variant per interleaved block (default: %(default)s)")
    parser.add_argument("--sessions", type=positive_int, default=6,
                        help="independent instances of each engine and model, blocks rotated over them (at "
                             "most one per block; --warmup is spread over them): two sessions of one file "
                             "differ by up to ~4%% in speed (default: %(default)s)")
    parser.add_argument("--source", help="video file to decode (default: a rendered synthetic video)")
    parser.add_argument("--input-size", type=frame_size, default=None, metavar="WxH",
                        help="network input (default: the config's test scale padded to 32)")
    parser.add_argument("--out-dir", default="outputs/benchmark", help="report folder (default: %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="intra-op threads of torch and onnxruntime (default: 1 on <= 2 usable cores, "
                             "else cores - 1; recorded in the report)")
    parser.add_argument("--spinning", action="store_true",
                        help="let onnxruntime's intra-op threads spin between operators (default: off)")
    parser.add_argument("--contend", action="store_true",
                        help="also measure every block with a CPU-bound neighbour process (paused between "
                             "blocks, ended with the run): p50/p90/p99 with and without it")
    parser.add_argument("--streams", type=stream_counts, default=None, metavar="B[,B...]",
                        help="batched streams: one engine, B streams per call (e.g. 1,2,4,8): "
                             "per-stream latency and aggregate frames/s (torch and onnx)")
    parser.add_argument("--stream-calls", type=positive_int, default=40,
                        help="measured calls per stream count with --streams (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    return args


def stream_counts(text: str) -> list[int]:
    """argparse ``type``: comma-separated stream counts >= 1, e.g. ``1,2,4,8``."""
    try:
        counts = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not counts or min(counts) < 1 or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"expected distinct integers >= 1, got {text!r}")
    return sorted(counts)


def check_args(args: argparse.Namespace) -> None:
    """The argument contract: every path exists, no flag that this run would ignore."""
    check_paths(("--config", args.config, "file"), ("--checkpoint", args.checkpoint, "file"),
                ("--source", args.source, "file"))
    if args.engines and not {"torch", "onnx"} & set(args.engines):
        reject_flags(args, ("--threads", "--streams", "--spinning"),
                     "applies to torch/onnxruntime; --engines has neither")
    if args.engines and "onnx" not in args.engines:
        reject_flags(args, ("--spinning",), "sets onnxruntime spinning; --engines has no onnx")
    if args.stream_calls != 40 and not args.streams:
        raise UsageError("--stream-calls needs --streams")
    if args.trust_checkpoint and not args.checkpoint:
        raise UsageError("--trust-checkpoint needs --checkpoint (the built-in checkpoint needs no trust)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_args(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.trust_checkpoint:
        from tsmdet.utils.checkpoint import trust_checkpoint

        trust_checkpoint(args.checkpoint)
    logging.getLogger("tsmdet.streaming").setLevel(logging.WARNING)  # one summary per interleaved block
    from tsmdet.apis.benchmark import format_markdown, run_benchmark

    report = run_benchmark(args.config, args.checkpoint, engines=args.engines, frames=args.frames,
                           warmup=args.warmup, source=args.source, out_dir=args.out_dir, threads=args.threads,
                           input_size=args.input_size, block_frames=args.block_frames, contend=args.contend,
                           streams=args.streams, stream_calls=args.stream_calls, spinning=args.spinning,
                           sessions=args.sessions)
    print(format_markdown(report))
    print("written: " + ", ".join(report["files"].values()))
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
