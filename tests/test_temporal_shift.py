"""Shift semantics against hand-built tensors: both directions, online cache, both placements."""
import torch
import torch.nn.functional as F
import pytest

from tsmdet.ops.temporal_shift import (TemporalShift, online_call, online_shift, online_shift_as_convs,
                                      shift_export_form, temporal_shift)


def _clip(n: int, t: int, c: int) -> torch.Tensor:
    """(N*T, C, 1, 1) with value 100*clip + 10*frame + channel, so every entry says where it came from."""
    v = torch.tensor([[[100 * i + 10 * f + ch for ch in range(c)] for f in range(t)] for i in range(n)], dtype=torch.float32)
    return v.reshape(n * t, c, 1, 1)


def test_bidirectional_matches_hand_built():
    x = _clip(2, 3, 8)  # shift_div=4 -> fold 2
    out = temporal_shift(x, num_segments=3, shift_div=4, direction="bidirectional")[:, :, 0, 0]
    expected = torch.tensor(
        [
            # fold 0 from t+1, fold 1 from t-1, rest unchanged
            [10, 11, 0, 0, 4, 5, 6, 7],
            [20, 21, 2, 3, 14, 15, 16, 17],
            [0, 0, 12, 13, 24, 25, 26, 27],
            [110, 111, 0, 0, 104, 105, 106, 107],
            [120, 121, 102, 103, 114, 115, 116, 117],
            [0, 0, 112, 113, 124, 125, 126, 127],
        ],
        dtype=torch.float32,
    )
    assert torch.equal(out, expected)


def test_past_matches_hand_built():
    x = _clip(2, 3, 8)
    out = temporal_shift(x, num_segments=3, shift_div=4, direction="past")[:, :, 0, 0]
    expected = torch.tensor(
        [
            [0, 0, 2, 3, 4, 5, 6, 7],
            [0, 1, 12, 13, 14, 15, 16, 17],
            [10, 11, 22, 23, 24, 25, 26, 27],
            [0, 0, 102, 103, 104, 105, 106, 107],
            [100, 101, 112, 113, 114, 115, 116, 117],
            [110, 111, 122, 123, 124, 125, 126, 127],
        ],
        dtype=torch.float32,
    )
    assert torch.equal(out, expected)


def test_online_shift_replaces_fold_zero_and_returns_cache():
    x = torch.arange(8, dtype=torch.float32).reshape(1, 8, 1, 1)
    cache = torch.full((1, 2, 1, 1), -1.0)
    out, new_cache = online_shift(x, cache)
    assert out[0, :, 0, 0].tolist() == [-1, -1, 2, 3, 4, 5, 6, 7]
    assert new_cache[0, :, 0, 0].tolist() == [0, 1]


def test_conv_form_gives_the_hand_built_shift():
    x = torch.arange(8, dtype=torch.float32).reshape(1, 8, 1, 1) + 0.5
    cache = torch.full((1, 2, 1, 1), -1.25)
    out, new_cache = online_shift_as_convs(x, cache)
    assert out[0, :, 0, 0].tolist() == [-1.25, -1.25, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]
    assert new_cache[0, :, 0, 0].tolist() == [0.5, 1.5]
    x, cache = torch.randn(2, 16, 5, 7), torch.randn(2, 2, 5, 7)
    out, new_cache = online_shift_as_convs(x, cache)
    assert torch.equal(new_cache, x[:, :2]) and torch.equal(out[:, 2:], x[:, 2:])  # 0/1 weights: exact
    torch.testing.assert_close(out[:, :2], cache, rtol=0, atol=1e-6)  # x + (cache - x): one rounding


def test_export_form_scope():
    """The spelling is a scoped choice: split + concat by default, nested scopes undone on exit, typos refused."""
    from tsmdet.ops.temporal_shift import _EXPORT_FORM

    assert _EXPORT_FORM.get() == "concat"
    with shift_export_form("convs"):
        assert _EXPORT_FORM.get() == "convs"
        with shift_export_form("concat"):
            assert _EXPORT_FORM.get() == "concat"
        assert _EXPORT_FORM.get() == "convs"
    assert _EXPORT_FORM.get() == "concat"
    with pytest.raises(ValueError, match="one of"):
        with shift_export_form("fused"):
            pass


@pytest.mark.parametrize("form", ["concat", "convs"])
def test_exported_shift_matches_concat_on_onnxruntime(tmp_path, form):
    """Both ONNX spellings (one Split + one Concat; two 0/1 1x1 convs, no Split/Concat) give the eager
    shift's values on onnxruntime, with the caches fed back."""
    import warnings

    import numpy as np
    import onnx
    import onnxruntime as ort

    class Step(torch.nn.Module):  # conv -> online shift -> conv, as in a shifted residual block
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.Conv2d(16, 16, 3, padding=1)

        def forward(self, image, cache):
            shifted, new_cache = online_shift(self.a(image), cache)
            return self.b(shifted), new_cache

    torch.manual_seed(0)
    step, path = Step().eval(), tmp_path / "shift.onnx"
    with warnings.catch_warnings(), shift_export_form(form):
        warnings.simplefilter("ignore")
        torch.onnx.export(step, (torch.randn(2, 3, 6, 10), torch.zeros(2, 2, 6, 10)), str(path), opset_version=17,
                          input_names=["image", "cache"], output_names=["out", "cache_out"], dynamo=False)
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    if form == "convs":
        assert "Concat" not in ops and "Slice" not in ops and ops.count("Conv") == 4, ops
    else:
        # constant split sizes: no Shape/Gather chain computing slice bounds at run time
        assert ops.count("Concat") == ops.count("Split") == 1 and ops.count("Conv") == 2, ops
        assert not {"Slice", "Shape", "Gather"} & set(ops), ops
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    cache_t = cache_o = np.zeros((2, 2, 6, 10), np.float32)
    for _ in range(4):  # the caches fed back, as a stream does
        image = torch.randn(2, 3, 6, 10)
        with torch.no_grad():
            out_t, cache_t = step(image, torch.from_numpy(cache_t))
        out_o, cache_o = session.run(None, {"image": image.numpy(), "cache": cache_o})
        cache_t = cache_t.numpy()
        np.testing.assert_allclose(cache_o, cache_t, rtol=1e-5, atol=1e-6)  # conv `a` differs by rounding only
        np.testing.assert_allclose(out_o, out_t.numpy(), rtol=1e-5, atol=1e-5)


def test_online_frames_equal_offline_past():
    torch.manual_seed(0)
    x = torch.randn(2 * 5, 16, 3, 4)
    offline = temporal_shift(x, 5, 8, "past").reshape(2, 5, 16, 3, 4)
    clips = x.reshape(2, 5, 16, 3, 4)
    cache = torch.zeros(2, 2, 3, 4)
    for t in range(5):
        out, cache = online_shift(clips[:, t], cache)
        assert torch.equal(out, offline[:, t])


@pytest.mark.parametrize("bad", [dict(direction="future"), dict(shift_div=1)])
def test_bad_arguments_are_rejected(bad):
    args = dict(num_segments=2, shift_div=8, direction="past") | bad
    with pytest.raises(ValueError):
        temporal_shift(torch.zeros(4, 8, 1, 1), **args)


def test_batch_not_multiple_of_segments():
    with pytest.raises(ValueError, match="multiple of num_segments"):
        temporal_shift(torch.zeros(5, 8, 1, 1), 2)


def test_shift_is_traceable_without_constants():
    """Export safety: a traced shift must follow new inputs (in-place slice assignment would freeze them)."""
    traced = torch.jit.trace(lambda t: temporal_shift(t, 2, 4, "bidirectional"), torch.randn(4, 8, 2, 2))
    y = torch.randn(4, 8, 2, 2)
    assert torch.equal(traced(y), temporal_shift(y, 2, 4, "bidirectional"))


def _basic_block_by_hand(block, x_res: torch.Tensor, x_id: torch.Tensor) -> torch.Tensor:
    """BasicBlock computed with functional ops (no hooks): residual branch on x_res, identity x_id."""
    out = F.conv2d(x_res, block.conv1.weight, stride=block.conv1.stride, padding=block.conv1.padding)
    out = F.relu(block.norm1(out))
    out = F.conv2d(out, block.conv2.weight, stride=block.conv2.stride, padding=block.conv2.padding)
    out = block.norm2(out)
    identity = block.downsample(x_id) if block.downsample is not None else x_id
    return F.relu(out + identity)


@pytest.mark.parametrize("direction", ["bidirectional", "past"])
@pytest.mark.parametrize("place", ["blockres", "block"])
def test_placement_semantics(place, direction):
    """blockres: only the residual branch sees the shifted input; block: the identity path does too."""
    from tsmdet.models import TSMResNet

    torch.manual_seed(0)
    net = TSMResNet(depth=18, num_segments=3, shift_div=4, shift_place=place, shift_direction=direction).eval()
    block = net.layer1[0]
    x = torch.randn(2 * 3, 64, 5, 6)
    shifted = temporal_shift(x, 3, 4, direction)
    expected = _basic_block_by_hand(block, shifted, shifted if place == "block" else x)
    with torch.no_grad():
        got = block(x)
        expected = expected.detach()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_hooks_follow_deepcopy():
    """EMA hooks deep-copy the model: the copy's hooks must use the copy's shift modules."""
    import copy

    shift = TemporalShift(2, 4, "past")
    conv = torch.nn.Identity()
    holder = torch.nn.Module()
    holder.shift, holder.conv = shift, conv
    shift.attach(conv)
    clone = copy.deepcopy(holder)
    with online_call([clone.shift], [torch.full((1, 2, 1, 1), 7.0)]) as call:
        out = clone.conv(torch.zeros(1, 8, 1, 1))
        original = holder.conv(torch.zeros(2, 8, 1, 1))  # the original's hook: not in the clone's call
    assert out[0, :2, 0, 0].tolist() == [7.0, 7.0]
    assert call.results()[0].shape == (1, 2, 1, 1)
    assert torch.equal(original, torch.zeros(2, 8, 1, 1))  # offline shift of zeros, no cache used
