"""RoI extraction by level (tsmdet/deploy/roi_extract.py) against mmdet's SingleRoIExtractor on the same boxes.

Boxes of every size (so all four levels are populated, one level left empty in a second case),
two images; also the exported ONNX graph on onnxruntime, where an empty level must not fail.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tsmdet.deploy.roi_extract import extract_by_level, roi_levels

STRIDES = (4, 8, 16, 32)
OUT = (7, 7)
FINEST = 56.0
IMG_H, IMG_W = 512, 640


def _rois(sizes: list[float], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    rows = []
    for k, s in enumerate(sizes):
        w, h = s * (0.7 + 0.6 * torch.rand(1, generator=g)).item(), s * (0.7 + 0.6 * torch.rand(1, generator=g)).item()
        x1 = (IMG_W - w) * torch.rand(1, generator=g).item()
        y1 = (IMG_H - h) * torch.rand(1, generator=g).item()
        rows.append([k % 2, x1, y1, x1 + w, y1 + h])
    return torch.tensor(rows, dtype=torch.float32)


def _feats(seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 8, IMG_H // s, IMG_W // s, generator=g) for s in STRIDES]


def _mmdet_extractor():
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

    return SingleRoIExtractor(roi_layer=dict(type="RoIAlign", output_size=OUT[0], sampling_ratio=0),
                              out_channels=8, featmap_strides=list(STRIDES), finest_scale=int(FINEST)).eval()


@pytest.mark.parametrize("sizes", [
    [20, 60, 130, 180, 260, 300, 480, 500],  # every level
    [20, 30, 480, 500, 25],  # levels 1 and 2 empty
])
def test_matches_single_roi_extractor(sizes):
    rois, feats = _rois(sizes, seed=len(sizes)), _feats(seed=1)
    with torch.no_grad():
        expected = _mmdet_extractor()(feats, rois)
        got = extract_by_level(feats, rois, STRIDES, OUT, 0, FINEST)
    assert got.shape == expected.shape == (len(sizes), 8, *OUT)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    levels = roi_levels(rois, len(STRIDES), FINEST)
    assert set(levels.tolist()) == ({0, 1, 2, 3} if len(sizes) == 8 else {0, 3})


def test_exported_graph_matches_on_onnxruntime(tmp_path):
    import onnxruntime as ort

    class Extract(torch.nn.Module):
        def forward(self, f0, f1, f2, f3, rois):
            return extract_by_level([f0, f1, f2, f3], rois, STRIDES, OUT, 0, FINEST)

    feats = _feats(seed=2)
    path = tmp_path / "extract.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Extract(), (*feats, _rois([20, 40, 90, 200], seed=3)), str(path), opset_version=17,
                          input_names=["f0", "f1", "f2", "f3", "rois"], output_names=["out"],
                          dynamic_axes={"rois": {0: "R"}, "out": {0: "R"}}, dynamo=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    extractor = _mmdet_extractor()
    for sizes in ([20, 130, 260, 480, 180, 35], [25, 30]):  # the second leaves levels 1-3 empty
        rois = _rois(sizes, seed=4)
        (got,) = session.run(None, {**{f"f{i}": f.numpy() for i, f in enumerate(feats)}, "rois": rois.numpy()})
        with torch.no_grad():
            expected = extractor(feats, rois).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_exported_output_keeps_the_static_roi_count(tmp_path):
    """Each level's RoI count is data-dependent; the pooled result must still be (R, C, h, w) with R static."""
    import onnx

    class Extract(torch.nn.Module):
        def forward(self, f0, f1, f2, f3, rois):
            return extract_by_level([f0, f1, f2, f3], rois, STRIDES, OUT, 0, FINEST)

    path = tmp_path / "static.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Extract(), (*_feats(seed=5), _rois([20, 90, 300], seed=6)), str(path), opset_version=17,
                          input_names=["f0", "f1", "f2", "f3", "rois"], output_names=["out"], dynamo=False)
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    (out,) = model.graph.output
    assert [d.dim_value for d in out.type.tensor_type.shape.dim] == [3, 8, *OUT]
    assert sum(n.op_type == "NonZero" for n in model.graph.node) == len(STRIDES)
