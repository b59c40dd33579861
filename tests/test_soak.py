"""A short soak of tools/infer_stream.py (scripts/soak.py): nothing leaks across a looping run.

The full run (10,000 frames) is `python scripts/soak.py`; its figures are in docs/reliability.md.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tsmdet.apis.defaults import default_onnx, default_video

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 300


def test_short_soak_leaks_no_threads_fds_or_memory(tmp_path: Path) -> None:
    default_onnx(), default_video()  # prepared once in the user cache, outside the measured process
    out = tmp_path / "soak.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "soak.py"), "--frames", str(FRAMES),
                          "--warmup", "60", "--json", str(out)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["exit_code"] == 0 and result["frames"] == FRAMES == result["jsonl_lines"]
    assert result["resets"] > FRAMES // 96  # the sample video (96 frames) looped, state reset at every pass
    assert result["thread_growth"] == 0 and result["fd_growth"] == 0
    assert result["after"]["thread_names"] == result["before"]["thread_names"] == ["MainThread"]
    assert result["rss_growth_mb"] < 30, result
    assert not list(tmp_path.glob("*.jsonl"))  # the soak writes into its own temporary folder
