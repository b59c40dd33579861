"""tsmdet.utils.atomic: a reader sees the old file or the whole new one, never a torn one or a stray temp."""
from __future__ import annotations

import pytest

from tsmdet.utils.atomic import atomic_output, write_atomic


def test_output_is_renamed_on_success_and_removed_on_failure(tmp_path):
    target = tmp_path / "sub" / "model.onnx"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".onnx" and tmp != target  # writers pick by suffix
        tmp.write_text("new")
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("torn")
        raise RuntimeError("export failed half-way")
    assert target.read_text() == "new" and sorted(p.name for p in target.parent.iterdir()) == ["model.onnx"]


def test_write_atomic_text_and_bytes(tmp_path):
    assert write_atomic(tmp_path / "a.json", "{}").read_text() == "{}"
    assert write_atomic(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.bin"]
