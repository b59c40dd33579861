"""The CPU thread policy: default from the usable cores, torch and onnxruntime engines honour ``threads``.

Tiny toy detector (tests/toy_detector.py); checks what each backend is actually configured
with (torch's thread count seen inside the module's forward, the onnxruntime session's own
options), not what the engine says about itself.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from toy_detector import ToyOnlineDetector, export_toy, random_frames, toy_meta
from tsmdet.runtime import create_engine
from tsmdet.runtime.threads import check_threads, default_threads
from tsmdet.utils.cpu import usable_cpu_count


class ThreadProbe(ToyOnlineDetector):
    """The toy detector, recording torch's intra-op thread count during each forward."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def forward(self, *inputs):
        self.seen.append(torch.get_num_threads())
        return super().forward(*inputs)


@pytest.fixture(scope="module")
def toy_onnx(tmp_path_factory) -> Path:
    return export_toy(tmp_path_factory.mktemp("threads") / "toy.onnx", dynamic_batch=True)


@pytest.mark.parametrize("cores, expected", [(1, 1), (2, 1), (3, 2), (4, 3), (16, 15)])
def test_default_rule(cores, expected):
    assert default_threads(cores) == expected


def test_default_comes_from_usable_cores_not_the_machine():
    assert check_threads(None) == default_threads(len(os.sched_getaffinity(0)))
    assert usable_cpu_count() == len(os.sched_getaffinity(0))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            check_threads(bad)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_torch_engine_runs_with_its_threads_and_restores_the_process_count(threads):
    probe = ThreadProbe().eval()
    engine = create_engine("torch", probe, meta=toy_meta(), threads=threads)
    before = torch.get_num_threads()
    for frame in random_frames(2, (64, 48), seed=0):
        engine.infer([frame])
    assert probe.seen == [threads, threads]
    assert torch.get_num_threads() == before  # process-wide count left as the caller set it
    settings = engine.thread_settings
    assert settings.backend == "torch" and settings.intra_op == threads and not settings.default


def test_torch_engine_default_threads():
    probe = ThreadProbe().eval()
    engine = create_engine("torch", probe, meta=toy_meta())
    engine.infer(random_frames(1, (64, 48), seed=1))
    assert probe.seen == [default_threads()]
    assert engine.thread_settings.default


@pytest.mark.parametrize("threads, spinning", [(1, False), (3, True)])
def test_onnx_session_options_follow_the_policy(toy_onnx, threads, spinning):
    kwargs = {"allow_spinning": True} if spinning else {}
    engine = create_engine("onnx", toy_onnx, num_streams=2, threads=threads, **kwargs)
    options = engine.session.get_session_options()
    assert options.intra_op_num_threads == threads
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == ("1" if spinning else "0")
    assert engine.thread_settings.to_dict()["intra_op"] == threads
    results = engine.infer(random_frames(2, (64, 48), seed=2))  # the session runs with these options
    assert len(results) == 2


def test_onnx_default_threads_and_no_spinning(toy_onnx):
    engine = create_engine("onnx", toy_onnx)
    options = engine.session.get_session_options()
    assert options.intra_op_num_threads == default_threads()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert engine.thread_settings.default and engine.thread_settings.spinning is False
