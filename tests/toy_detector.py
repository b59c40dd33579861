"""A tiny online "detector" that satisfies the exported-graph contract, for engine and deploy tests.

``forward(image, state_0, state_1) -> (boxes, scores, labels, num_dets, state_out_0, state_out_1)``:
two shifted blocks each replace their first channels by the previous frame's cache
(as TSM's online shift does), so every output depends on the states. Exported with
the TorchScript tracer, like the real exporter.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch
from torch import nn

from tsmdet.runtime.meta import META_KEY, ModelMeta, StateSpec

INPUT_W, INPUT_H = 48, 32  # network input (w, h): non-square on purpose
NUM_DETS = 6
CLASSES = ("cat", "dog", "bird")
STATE_SHAPES = ((1, 2, 8, 12), (1, 1, 4, 6))


class ToyOnlineDetector(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, stride=4, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 1)
        self.register_buffer("mean", torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1))
        self.register_buffer("w_score", torch.randn(4, NUM_DETS, generator=g) * 3.0)
        self.register_buffer("w_box", torch.randn(4, 4 * NUM_DETS, generator=g) * 2.0)
        self.register_buffer("box_scale", torch.tensor([INPUT_W, INPUT_H] * 2, dtype=torch.float32))
        self.register_buffer("label_of", (torch.arange(NUM_DETS) % len(CLASSES)).to(torch.int32))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)

    def forward(self, image, state_0, state_1):
        x = (image - self.mean) / self.std
        f1 = self.conv(x)  # (B, 4, 8, 12)
        m1 = torch.cat([state_0, f1[:, 2:]], dim=1)  # shift: channels 0..1 from the previous frame
        f2 = torch.nn.functional.avg_pool2d(torch.relu(self.conv2(m1)), 2)  # (B, 4, 4, 6)
        m2 = torch.cat([state_1, f2[:, 1:]], dim=1)
        g = m2.mean(dim=(2, 3))  # (B, 4)
        raw_scores = torch.sigmoid(g @ self.w_score)  # (B, K)
        scores, order = torch.topk(raw_scores, NUM_DETS, dim=1)
        params = torch.sigmoid(g @ self.w_box).view(-1, NUM_DETS, 4)  # (B, K, 4) cx, cy, w, h in 0..1
        params = torch.gather(params, 1, order.unsqueeze(-1).expand(-1, -1, 4))
        cxcywh = params * self.box_scale
        boxes = torch.cat([cxcywh[..., :2] - cxcywh[..., 2:] / 2, cxcywh[..., :2] + cxcywh[..., 2:] / 2], -1)
        num_dets = (scores > 0.5).sum(dim=1).to(torch.int32)  # (B,)
        valid = (torch.arange(NUM_DETS).unsqueeze(0) < num_dets.unsqueeze(1)).to(torch.float32)
        labels = self.label_of[order]
        return boxes, scores * valid, labels, num_dets, f1[:, :2], f2[:, :1]


def toy_meta(batch_size: int = 1, score_thr: float = 0.6) -> ModelMeta:
    return ModelMeta(
        input_size=(INPUT_W, INPUT_H),
        classes=CLASSES,
        states=tuple(StateSpec(f"state_{i}", f"state_out_{i}", s) for i, s in enumerate(STATE_SHAPES)),
        batch_size=batch_size,
        max_det=NUM_DETS,
        score_thr=score_thr,
        model_name="toy",
    )


def zero_states(batch: int = 1) -> list[np.ndarray]:
    return [np.zeros((batch, *s[1:]), dtype=np.float32) for s in STATE_SHAPES]


def add_meta(model: onnx.ModelProto, meta: ModelMeta) -> onnx.ModelProto:
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, meta.to_json()
    return model


def export_toy(path: Path, dynamic_batch: bool) -> Path:
    """Export the toy detector with its metadata; returns ``path``."""
    module = ToyOnlineDetector().eval()
    inputs = ["image", "state_0", "state_1"]
    outputs = ["boxes", "scores", "labels", "num_dets", "state_out_0", "state_out_1"]
    example = (torch.zeros(1, 3, INPUT_H, INPUT_W), *map(torch.from_numpy, zero_states()))
    with warnings.catch_warnings():  # the TorchScript exporter is chosen on purpose (as in tsmdet.deploy)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module, example, str(path), input_names=inputs, output_names=outputs, opset_version=17,
            dynamic_axes={n: {0: "batch"} for n in inputs + outputs} if dynamic_batch else None, dynamo=False,
        )
    model = add_meta(onnx.load(str(path)), toy_meta(batch_size=-1 if dynamic_batch else 1))
    onnx.save(model, str(path))
    return path


def random_frames(n: int, size: tuple[int, int], seed: int) -> list[np.ndarray]:
    """``n`` smooth random BGR uint8 frames of (w, h) ``size`` (smooth: resizing keeps them informative)."""
    rng = np.random.default_rng(seed)
    w, h = size
    smalls = rng.integers(0, 256, size=(n, max(2, h // 8), max(2, w // 8), 3), dtype=np.uint8)
    return [cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) for small in smalls]
