"""Recognizer2D, TSMHead, ActionDataPreprocessor, temporal pool: shapes, averaging conventions, time order."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

import tsmdet.models  # noqa: F401  (registers the classes)
from tsmdet.ops.temporal_pool import pooled_segments, temporal_pool
from tsmdet.structures import ActionDataSample

ROOT = Path(__file__).resolve().parents[1]
T, K, HW = 4, 5, 32


def build(backbone: dict | None = None, **head) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = dict(
        type="Recognizer2D",
        backbone=backbone
        or dict(
            type="TSMResNet",
            depth=18,
            base_channels=8,
            num_segments=T,
            shift_div=8,
            out_indices=(3,),
            init_cfg=None,
        ),
        cls_head=dict(type="TSMHead", num_classes=K, in_channels=64, **head),
    )
    model = MODELS.build(cfg)
    with torch.no_grad():  # logits O(1), so averaging conventions differ visibly
        model.cls_head.fc_cls.weight.normal_(0, 1.0)
    return model.eval()


def clips(n: int = 2, views: int = 1, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, views * T, 3, HW, HW, generator=torch.Generator().manual_seed(seed))


def samples(labels: list[int]) -> list[ActionDataSample]:
    return [ActionDataSample().set_gt_label(label) for label in labels]


def test_modes_shapes_and_loss_backward():
    model = build()
    x = clips()
    scores = model(x, mode="tensor")
    assert scores.shape == (2, K)
    out = model(x, samples([1, 3]), mode="predict")
    assert len(out) == 2
    for sample, row in zip(out, scores):
        assert sample.pred_score.shape == (K,) and sample.pred_score.dtype == torch.float32
        torch.testing.assert_close(sample.pred_score, row.softmax(-1))
        assert sample.pred_label.tolist() == [int(row.argmax())]
        assert sample.gt_label.dtype == torch.int64
    model.train()
    losses = model(x, samples([1, 3]), mode="loss")
    assert set(losses) == {"loss_cls", "top1_acc"} and torch.isfinite(losses["loss_cls"])
    losses["loss_cls"].backward()
    assert model.cls_head.fc_cls.weight.grad.abs().sum() > 0
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_predict_without_samples_creates_them():
    out = build()(clips(n=3), mode="predict")
    assert [s.pred_score.shape for s in out] == [(K,)] * 3


def test_consensus_averages_logits_over_segments():
    model = build()
    x = clips(n=1)
    feats = model.backbone(x.reshape(-1, 3, HW, HW))[-1]  # (T, C, h, w)
    per_frame = model.cls_head.fc_cls(feats.mean(dim=(2, 3)))  # (T, K)
    torch.testing.assert_close(model(x)[0], per_frame.mean(0))
    # head alone, frames whose logits differ a lot: logits are averaged, not probabilities
    head = model.cls_head
    frames = torch.randn(2 * T, 64, 2, 2, generator=torch.Generator().manual_seed(4)) * 3
    clip_logits = head(frames, num_clips=2)
    per_frame = head.fc_cls(frames.mean(dim=(2, 3))).view(2, T, K)
    torch.testing.assert_close(clip_logits, per_frame.mean(1))
    assert (clip_logits.softmax(-1) - per_frame.softmax(-1).mean(1)).abs().max() > 1e-2


@pytest.mark.parametrize("average_clips", ["score", "prob"])
def test_views_average_logits_or_probabilities(average_clips):
    model = build(average_clips=average_clips)
    a, b = clips(n=2, seed=2), clips(n=2, seed=3)
    model.cls_head.average_clips = "score"
    la, lb = model(a), model(b)  # one view each: view-averaged logits are the view's logits
    model.cls_head.average_clips = average_clips
    both = model(torch.cat([a, b], dim=1))  # (N, 2*T, ...): view 0 = a, view 1 = b
    expected = (la + lb) / 2 if average_clips == "score" else (la.softmax(-1) + lb.softmax(-1)) / 2
    torch.testing.assert_close(both, expected, atol=1e-5, rtol=1e-5)
    probs = torch.stack([s.pred_score for s in model(torch.cat([a, b], dim=1), mode="predict")])
    torch.testing.assert_close(probs.sum(-1), torch.ones(2))
    other = (la.softmax(-1) + lb.softmax(-1)) / 2 if average_clips == "score" else ((la + lb) / 2).softmax(-1)
    assert (probs - other).abs().max() > 1e-4


def test_label_smoothing_loss():
    x, labels = clips(), torch.tensor([0, 4])
    plain = build(dropout_ratio=0.0)
    smooth = build(dropout_ratio=0.0, label_smooth_eps=0.2)
    logits = plain(x)
    logp = logits.log_softmax(-1)
    nll = -logp.gather(1, labels[:, None]).squeeze(1)
    expected = (0.8 * nll + 0.2 * (-logp.mean(-1))).mean()
    loss_plain = plain(x, samples([0, 4]), mode="loss")["loss_cls"]
    loss_smooth = smooth(x, samples([0, 4]), mode="loss")["loss_cls"]
    torch.testing.assert_close(loss_plain, nll.mean())
    torch.testing.assert_close(loss_smooth, expected)
    assert abs(float((loss_plain - loss_smooth).detach())) > 1e-3


def test_temporal_pool_op_hand_computed():
    # one clip, T=4, one channel, 1x1: max over (t-1, t, t+1), stride 2
    x = torch.tensor([3.0, 1.0, 4.0, 2.0]).view(4, 1, 1, 1)
    assert temporal_pool(x, 4).flatten().tolist() == [3.0, 4.0]
    two = torch.tensor([3.0, 1.0, 4.0, 2.0, -1.0, -5.0, -2.0, -3.0]).view(8, 1, 1, 1)
    assert temporal_pool(two, 4).flatten().tolist() == [3.0, 4.0, -1.0, -2.0]
    odd = torch.tensor([1.0, 7.0, 2.0, 0.0, 5.0]).view(5, 1, 1, 1)
    assert pooled_segments(5) == 3 and temporal_pool(odd, 5).flatten().tolist() == [7.0, 7.0, 5.0]


# a small R18 with the original temporal pool after layer1 (T -> T/2 from layer2 on)
POOL_BACKBONE = dict(type="TSMResNet", depth=18, base_channels=8, num_segments=T, shift_div=8, out_indices=(3,),
                     temporal_pool=True, init_cfg=None)


def test_temporal_pool_backbone():
    model = build(POOL_BACKBONE)
    bb = model.backbone
    assert bb.out_num_segments == 2
    # R18: two blocks per stage, shifts in network order; only layer1 sees the unpooled T
    assert [shift.num_segments for shift in bb.shifts] == [4, 4, 2, 2, 2, 2, 2, 2]
    feats = bb(clips(n=3).reshape(-1, 3, HW, HW))[-1]
    assert feats.shape[0] == 3 * 2
    assert model(clips(n=3)).shape == (3, K)
    with pytest.raises(RuntimeError, match="cannot run online"):
        bb.init_state(1, HW, HW)
    with pytest.raises(RuntimeError, match="cannot run online"):
        bb(torch.zeros(1, 3, HW, HW), ())
    with pytest.raises(RuntimeError, match="cannot run online"):
        bb.online(())


def test_reversed_time_changes_tsm_but_not_tsn():
    tsm = build()
    tsn = build(
        dict(type="ResNet", depth=18, base_channels=8, out_indices=(3,), init_cfg=None), num_segments=T
    )
    tsn.load_state_dict(tsm.state_dict())  # same weights: the only difference is the shift
    x = clips(n=2, seed=5)
    rev = x.flip(1)
    torch.testing.assert_close(tsn(x), tsn(rev), atol=1e-5, rtol=1e-5)
    assert (tsm(x) - tsm(rev)).abs().max() > 1e-3


def test_input_errors():
    model = build()
    with pytest.raises(ValueError, match="not a multiple of num_segments=4"):
        model(torch.randn(1, 6, 3, HW, HW))
    with pytest.raises(ValueError, match=r"\(N, V\*T, 3, H, W\)"):
        model(torch.randn(4, 3, HW, HW))
    with pytest.raises(ValueError, match="disagree"):
        build(num_segments=8)
    with pytest.raises(ValueError, match="set num_segments"):
        build(dict(type="ResNet", depth=18, base_channels=8, out_indices=(3,)))
    with pytest.raises(ValueError, match="average_clips"):
        build(average_clips="max")
    with pytest.raises(ValueError, match="needs data_samples"):
        model(clips(), mode="loss")


def test_data_preprocessor_flips_bgr_and_normalises():
    pre = MODELS.build(
        dict(type="ActionDataPreprocessor", mean=[10.0, 20.0, 30.0], std=[2.0, 4.0, 5.0], bgr_to_rgb=True)
    )
    frame = torch.zeros(2, 3, 2, 2, dtype=torch.uint8)
    frame[:, 0], frame[:, 1], frame[:, 2] = 50, 60, 70  # B, G, R
    out = pre(dict(inputs=[frame, frame], data_samples=None))["inputs"]
    assert out.shape == (2, 2, 3, 2, 2) and out.dtype == torch.float32
    assert out[0, 0, :, 0, 0].tolist() == [(70 - 10) / 2, (60 - 20) / 4, (50 - 30) / 5]  # R, G, B
    keep = MODELS.build(dict(type="ActionDataPreprocessor", mean=[0, 0, 0], std=[1, 1, 1], bgr_to_rgb=False))
    assert keep(dict(inputs=frame[None]))["inputs"][0, 0, :, 0, 0].tolist() == [50.0, 60.0, 70.0]
    with pytest.raises(ValueError, match="one shape"):
        pre(dict(inputs=[frame, frame[:, :, :1]]))


@pytest.mark.parametrize("name", ["tsm_r50_recognizer.py", "tsm_mbv2_recognizer.py"])
def test_base_model_configs_build_and_run(name):
    cfg = Config.fromfile(str(ROOT / "configs/_base_/models" / name)).model
    cfg.backbone.init_cfg = None
    model = MODELS.build(cfg)
    model.init_weights()
    t = model.num_segments
    assert t == 8 and model.cls_head.average_clips == "score"
    assert float(model.cls_head.fc_cls.weight.std()) < 0.01  # init_std 0.001
    data = dict(inputs=[torch.randint(0, 256, (t, 3, 32, 32), dtype=torch.uint8)], data_samples=samples([2]))
    model.train()
    losses = model(**model.data_preprocessor(data, True), mode="loss")
    assert torch.isfinite(losses["loss_cls"])
    model.eval()
    with torch.no_grad():
        assert model(**model.data_preprocessor(data), mode="tensor").shape == (1, cfg.cls_head.num_classes)


def test_temporal_pool_recognizer_exports_to_onnx(tmp_path):
    """The project's exporter (the TorchScript tracer) keeps shifts and pool: onnxruntime agrees."""
    import onnxruntime as ort

    model = build(POOL_BACKBONE)
    x = clips(n=1, seed=7)
    path = tmp_path / "tsm_pool.onnx"
    with torch.no_grad():
        torch.onnx.export(
            model,
            (x,),
            str(path),
            input_names=["clips"],
            output_names=["scores"],
            opset_version=17,
            dynamo=False,
        )
        expected = model(x)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"clips": x.numpy()})[
        0
    ]
    torch.testing.assert_close(torch.from_numpy(got), expected, atol=1e-4, rtol=1e-4)
    rev = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"clips": x.flip(1).numpy()}
    )[0]
    torch.testing.assert_close(torch.from_numpy(rev), model(x.flip(1)).detach(), atol=1e-4, rtol=1e-4)


def test_zero_dim_label_tensor_is_a_1_element_label():
    sample = ActionDataSample().set_gt_label(torch.tensor(2))
    assert sample.gt_label.shape == (1,) and sample.gt_label.dtype == torch.int64
    losses = build()(clips(n=1), [sample], mode="loss")
    assert torch.isfinite(losses["loss_cls"])


def test_runner_steps_train_and_test():
    """The mmengine contract the Runner uses: train_step (only loss_* keys summed) and test_step."""
    from mmengine.optim import OptimWrapper

    model = build()
    data = dict(
        inputs=[torch.randint(0, 256, (T, 3, HW, HW), dtype=torch.uint8) for _ in range(2)],
        data_samples=samples([0, 3]),
    )
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    model.train()
    before = model.cls_head.fc_cls.weight.detach().clone()
    log_vars = model.train_step(data, wrapper)
    assert set(log_vars) == {"loss", "loss_cls", "top1_acc"}
    torch.testing.assert_close(log_vars["loss"], log_vars["loss_cls"])
    assert not torch.equal(before, model.cls_head.fc_cls.weight)
    model.eval()
    out = model.test_step(data)
    assert [s.gt_label.item() for s in out] == [0, 3] and all(s.pred_score.shape == (K,) for s in out)
