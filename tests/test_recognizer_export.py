"""Online recognizers export to ONNX with named shift caches; onnxruntime == torch over 30+ frames."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from random_recognizer import save_random_recognizer

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one OpenMP thread
SYNTH = ROOT / "configs/recognition/synthetic/tsm_r18_gestures_online.py"
DEMO = ROOT / "configs/recognition/tsm_mbv2_jester_online.py"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "tools"))
    import export_onnx  # tools/export_onnx.py

    tmp = tmp_path_factory.mktemp("rec_export")
    out = {}
    for name, config, extra in (("synth", SYNTH, []), ("demo", DEMO, ["--input-size", "64x64"])):
        ckpt = save_random_recognizer(config, tmp / f"{name}.pth")
        onnx_path = tmp / f"{name}.onnx"
        assert export_onnx.main([str(config), str(ckpt), "--out", str(onnx_path), *extra]) == 0
        out[name] = (config, ckpt, onnx_path)
    return out


def _frames(n: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (size[1], size[0], 3)).astype(np.float32)
    return [np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8) for _ in range(n)]


@pytest.mark.parametrize("name", ["synth", "demo"])
def test_metadata_describes_the_recognizer(exported, name):
    from tsmdet.runtime import read_onnx_meta

    config, _, path = exported[name]
    meta = read_onnx_meta(str(path))
    assert meta.task == "recognition" and meta.output_names == ("scores",)
    assert [s.name for s in meta.states] == [f"state_{i}" for i in range(len(meta.states))]
    assert [s.output for s in meta.states] == [f"state_out_{i}" for i in range(len(meta.states))]
    if name == "demo":
        assert len(meta.states) == 10 and meta.channel_order == "BGR" and meta.input_size == (64, 64)
        assert meta.preprocessing.keep_ratio is False  # the demo stretches its camera frame
        tensor, _ = meta.preprocessing.apply(np.full((48, 64, 3), 255, np.uint8))  # a 4:3 frame fills the input
        assert tensor.shape == (3, 64, 64) and (tensor == 255).all()  # no padded rows
        assert meta.classes[2] == "No gesture"
        assert meta.extra["smoothing"]["masked"] == [7, 8, 21, 22, 3]
        assert meta.extra["smoothing"]["fold"] == {"0": 2}  # JSON keys
    else:
        assert len(meta.states) == 8 and meta.channel_order == "RGB" and meta.input_size == (32, 32)
        assert meta.preprocessing.keep_ratio is True
        assert meta.classes[-1] == "no_gesture" and meta.extra["smoothing"]["idle"] == 8
    import onnx

    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["image", *(s.name for s in meta.states)]
    assert [o.name for o in graph.output] == ["scores", *(s.output for s in meta.states)]
    batch_axis, classes_axis = graph.output[0].type.tensor_type.shape.dim
    assert batch_axis.dim_param and classes_axis.dim_value == len(meta.classes)  # the tool's dynamic default
    assert meta.batch_size == -1


@pytest.mark.parametrize("name", ["synth", "demo"])
def test_onnx_matches_torch_over_30_frames_and_reset(exported, name):
    from tsmdet.deploy.recognizer_export import load_recognizer_deploy
    from tsmdet.runtime import create_engine

    config, ckpt, path = exported[name]
    onnx_engine = create_engine("onnx", path)
    module, meta = load_recognizer_deploy(config, ckpt, input_size=onnx_engine.meta.input_size)
    torch_engine = create_engine("torch", module, meta=meta)
    frames = _frames(32, meta.input_size)
    raw_t, raw_o = [], []
    for frame in frames:
        raw_t.append(torch_engine.infer([frame])[0].scores)
        raw_o.append(onnx_engine.infer([frame])[0].scores)
    diff = np.abs(np.stack(raw_t) - np.stack(raw_o)).max()
    assert diff < 1e-4, diff
    # the state is used: frame 10 differs from running it first
    torch_engine.reset()
    alone = torch_engine.infer([frames[10]])[0].scores
    assert np.abs(alone - raw_t[10]).max() > 1e-4
    # reset gives the first frame's result again, on both engines
    for engine, raw in ((torch_engine, raw_t), (onnx_engine, raw_o)):
        engine.reset()
        again = engine.infer([frames[0]])[0].scores
        assert np.allclose(again, raw[0], atol=1e-6)


def test_torch_engine_opens_a_recognizer_config(exported):
    from tsmdet.apis.engines import open_engine

    config, ckpt, _ = exported["synth"]
    engine = open_engine("torch", config=config, checkpoint=ckpt)
    assert engine.meta.task == "recognition"
    result = engine.infer(_frames(1, (64, 64)))[0]
    assert result.scores.shape == (9,) and abs(float(result.scores.sum()) - 1) < 1e-4


def test_shift_form_option_gives_the_same_scores(exported, tmp_path):
    """`--shift-form convs` writes the 0/1-conv spelling (no Split/Concat in any shift), and it scores
    the frames as the default split + concat file does, the caches fed back in both."""
    import export_onnx  # tools/export_onnx.py (the fixture put tools/ on the path)
    import onnx

    from tsmdet.runtime import create_engine

    config, ckpt, default_path = exported["demo"]
    convs_path = tmp_path / "demo_convs.onnx"
    assert export_onnx.main([str(config), str(ckpt), "--out", str(convs_path), "--input-size", "64x64",
                             "--shift-form", "convs", "--no-verify"]) == 0

    def shift_ops(path: Path) -> set[str]:
        return {n.op_type for n in onnx.load(str(path)).graph.node if "/shifts." in n.name and n.op_type != "Constant"}

    assert shift_ops(default_path) == {"Split", "Concat"}
    assert shift_ops(convs_path) == {"Conv", "Sub", "Add"}
    engines = [create_engine("onnx", p) for p in (default_path, convs_path)]
    for frame in _frames(6, (64, 64), seed=3):
        split_scores, conv_scores = (e.infer([frame])[0].scores for e in engines)
        np.testing.assert_allclose(conv_scores, split_scores, rtol=1e-4, atol=1e-4)
