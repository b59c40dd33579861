"""scripts/shift_forms.py: both spellings exported, each timed against the twin, the JSON written."""
import json
import runpy
import subprocess
import sys
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "recognition" / "synthetic" / "tsm_r18_gestures_online_48.py"


def _shift_ops(path: str) -> set[str]:
    return {n.op_type for n in onnx.load(path).graph.node if "/shifts." in n.name and n.op_type != "Constant"}


def test_shift_forms_script_times_both_spellings(tmp_path, capsys):
    script = runpy.run_path(str(ROOT / "scripts" / "shift_forms.py"))
    report = script["compare_forms"](["--config", str(CONFIG), "--sessions", "2", "--calls", "3", "--out-dir", str(tmp_path)])
    rows = {r["export"]: r for r in report["rows"]}
    assert list(rows) == ["no_shift", "convs", "concat"]
    assert all(r["ms"] > 0 and len(r["per_session"]) == 2 for r in rows.values())
    assert rows["no_shift"]["ratio"] == 1.0 and rows["convs"]["ratio"] > 0
    assert _shift_ops(rows["convs"]["file"]) == {"Add", "Conv", "Sub"}
    assert _shift_ops(rows["concat"]["file"]) == {"Concat", "Split"}
    assert not _shift_ops(rows["no_shift"]["file"])
    assert json.loads((tmp_path / "shift_forms.json").read_text())["rows"][1]["export"] == "convs"
    assert "| concat |" in capsys.readouterr().out


def test_shift_forms_script_rejects_bad_input(tmp_path):
    """A bad size or a missing file: exit 2 and one line naming the problem, no traceback."""
    script = str(ROOT / "scripts" / "shift_forms.py")
    for args, message in ((["--input-size", "big"], "--input-size"), (["--config", str(tmp_path / "nope.py")], "nope.py")):
        done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr
