"""eval_engine's comparison table: AP50 overall and per class of several VID reports, gaps to the first."""
from __future__ import annotations

import json

import pytest

from tsmdet.apis.eval_engine import comparison_table, load_report


def _report(ap50: float, car: float, bus: float | None, convention: str = "fgfa") -> dict:
    return {"ap50": ap50, "convention": convention,
            "per_class": {"car": {"ap50": car}, "bus": {"ap50": bus}}}


def test_table_has_each_run_and_its_gap_to_the_reference():
    table = comparison_table([("test", _report(0.7699, 0.61, 0.5675)),
                              ("onnx fp32", _report(0.7702, 0.61, 0.5675)),
                              ("onnx int8", _report(0.7670, 0.6095, None))]).splitlines()
    assert table[0] == "| run | AP50 | gap | bus | gap | car | gap |"
    assert table[2] == "| test | 76.99 |  | 56.75 |  | 61.00 |  |"
    assert table[3] == "| onnx fp32 | 77.02 | +0.03 | 56.75 | +0.00 | 61.00 | +0.00 |"
    # 76.70 - 76.99 = -0.29; car 60.95 - 61.00 = -0.05; a class without AP shows n/a
    assert table[4] == "| onnx int8 | 76.70 | -0.29 | n/a |  | 60.95 | -0.05 |"


def test_mixed_conventions_and_bad_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="different metric conventions"):
        comparison_table([("a", _report(0.5, 0.5, 0.5, "fgfa")), ("b", _report(0.5, 0.5, 0.5, "coco"))])
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"top1": 0.3}))
    with pytest.raises(ValueError, match="not a VID report"):
        load_report(bad)
    bad.write_text("{")
    with pytest.raises(ValueError, match="not a readable VID report"):
        load_report(bad)
