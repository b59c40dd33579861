"""Load test a Triton-served model with N concurrent streams; bounded, loopback, stops by itself.

    python tools/serve.py model.onnx --repo outputs/triton --ttl-s 5 --start &
    python tools/load_test.py --url localhost:8001 --streams 1,4,8,16 --out outputs/load_test.json

Per stream count: aggregate frames/s, p50/p90/p99 latency per frame, the batch sizes the server
formed (Triton statistics), and mismatches against a local single-stream onnxruntime run of the
same frames (every stream sees the sample video from its own offset). Then: START resets a
stream, and a stream left open is evicted after the server's TTL (waits TTL + 1.5 s; skip with
--no-ttl-check). Writes REPORT.json and a PNG (throughput and p99 against streams); exit 1 if a
check failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tsmdet.apis.defaults import default_onnx, default_video
from tsmdet.runtime import EngineUnavailableError
from tsmdet.serving.load_test import LoadTestOptions, run_load_test
from tsmdet.serving.report import format_table, plot_report, read_video_frames


def _streams(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated stream counts, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"stream counts must be >= 1, got {text!r}")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="localhost:8001", help="Triton gRPC address (default: %(default)s)")
    parser.add_argument("--model-name", default="tsmdet", help="served model name (default: %(default)s)")
    parser.add_argument(
        "--model",
        default=None,
        help="the served ONNX file, for the local reference run "
        "(default: the one tools/serve.py exports when given none, in the tsmdet cache)",
    )
    parser.add_argument(
        "--streams", type=_streams, default=(1, 4, 8, 16), help="stream counts (default: 1,4,8,16)"
    )
    parser.add_argument(
        "--frames", type=int, default=24, help="frames per stream and level (default: %(default)s)"
    )
    parser.add_argument("--video", help="frames to send (default: the built-in synthetic sample video)")
    parser.add_argument(
        "--max-level-s", type=float, default=120.0, help="time bound per level (default: %(default)s)"
    )
    parser.add_argument("--no-ttl-check", action="store_true", help="skip the TTL eviction check")
    parser.add_argument("--out", required=True, help="report JSON; the plot goes next to it (.png)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    opts = LoadTestOptions(
        url=args.url,
        model_name=args.model_name,
        streams=args.streams,
        frames=args.frames,
        max_level_s=args.max_level_s,
        ttl_check=not args.no_ttl_check,
    )
    try:
        video = read_video_frames(args.video or default_video())
        report = run_load_test(opts, args.model or default_onnx(dynamic_batch=True), video)
    except (EngineUnavailableError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    png = plot_report(report, out.with_suffix(".png"))
    print(format_table(report))
    print(f"START reset: {report['start_reset']}\nTTL eviction: {report['ttl_eviction']}")
    print(f"report: {out}\nplot: {png}\n{'OK' if report['ok'] else 'FAILED'}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
