"""Convert a TSM-release or MMAction2 TSM checkpoint into a tsmdet recognizer checkpoint.

    python tools/convert_checkpoint.py TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50.pth \\
        checkpoints/tsm_r50_k400.pth --from tsm --config configs/recognition/tsm_r50_k400_8f.py
    python tools/convert_checkpoint.py tsm_r50_mmaction2.pth checkpoints/tsm_r50.pth --from mmaction2

ResNet vs MobileNetV2 is told from the keys. Without --config the recognizer is
read off the weights (depth, widths, classes, where it shifts); num_segments and
shift_div then come from the TSM file name or the MMAction2 stored config. The
output loads with mmengine's load_checkpoint(strict=True); any unmatched, missing
or mis-shaped key (all of them, listed) or a shift-position mismatch is an error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tsmdet.models.convert import SOURCES, ConversionError, convert_checkpoint
from tsmdet.utils.checkpoint import UnsafeCheckpointError, trust_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("src", help="source checkpoint (loaded through the safe loader)")
    parser.add_argument("dst", help="output checkpoint ({'state_dict', 'meta'})")
    parser.add_argument("--from", dest="source", required=True, choices=SOURCES, help="source format")
    parser.add_argument("--config", help="tsmdet recognizer config the output must load into (recommended)")
    parser.add_argument(
        "--classes", help="class-name file, one name per line (index = line number), stored in meta"
    )
    parser.add_argument(
        "--trust-checkpoint", action="store_true", help="allow full pickle for SRC (only for files you trust)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        classes = None
        if args.classes:
            lines = Path(args.classes).read_text(encoding="utf-8").splitlines()
            classes = [line.strip() for line in lines if line.strip()]
        if args.trust_checkpoint:
            trust_checkpoint(args.src)
        out = convert_checkpoint(args.src, args.dst, args.source, config=args.config, classes=classes)
    except (ConversionError, UnsafeCheckpointError, FileNotFoundError, OSError) as err:
        print(f"error: {args.src}: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
