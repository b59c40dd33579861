"""The safe checkpoint loader: mmengine's own checkpoints load and resume; pickled code is refused."""
import os
import pickle

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from tsmdet.utils.checkpoint import UnsafeCheckpointError, load_checkpoint_file, register_safe_loader, trust_checkpoint

register_safe_loader()  # the explicit opt-in every tsmdet entry point makes


class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode="tensor"):
        pred = self.linear(inputs)  # default_collate already stacked the batch
        if mode == "loss":
            return dict(loss=((pred.squeeze(-1) - labels) ** 2).mean())
        return pred


class ToyDataset(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([float(i), 1.0]), labels=torch.tensor(float(i)))


def _runner(work_dir, max_iters, resume=False, load_from=None):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(), sampler=dict(type="DefaultSampler", shuffle=False), batch_size=2,
            collate_fn=dict(type="default_collate"),
        ),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        param_scheduler=dict(type="MultiStepLR", milestones=[2]),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=2, by_epoch=False)),
        resume=resume,
        load_from=load_from,
        default_scope="mmengine",
    )


def test_runner_checkpoint_loads_safely_and_resumes(tmp_path):
    _runner(tmp_path, max_iters=2).train()
    ckpt = tmp_path / "iter_2.pth"
    with pytest.raises(pickle.UnpicklingError):  # what plain torch.load does to mmengine's checkpoints
        torch.load(ckpt, weights_only=True)
    loaded = load_checkpoint_file(ckpt)
    assert loaded["meta"]["iter"] == 2 and "message_hub" in loaded and "optimizer" in loaded
    runner = _runner(tmp_path, max_iters=4, resume=True)
    runner.train()
    assert runner.iter == 4
    assert (tmp_path / "iter_4.pth").exists()


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickled_object_is_refused_with_clear_error(tmp_path):
    bad = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "payload": Evil()}, bad)
    with pytest.raises(UnsafeCheckpointError, match=r"refusing to load .*evil\.pth.*--trust-checkpoint"):
        load_checkpoint_file(bad)
    from mmengine.runner.checkpoint import _load_checkpoint

    with pytest.raises(UnsafeCheckpointError):  # mmengine's own entry point goes through the same loader
        _load_checkpoint(str(bad), map_location="cpu")


def test_trusted_file_may_use_full_pickle(tmp_path):
    path = tmp_path / "mine.pth"
    torch.save({"extra": {1, 2}, "cls": ToyDataset}, path)  # a class reference is outside the allow-list
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(path)
    trust_checkpoint(path)
    assert load_checkpoint_file(path)["cls"] is ToyDataset


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_checkpoint_file(tmp_path / "nope.pth")


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    """builtins.getattr is mapped to a stand-in: it cannot reach anything but HistoryBuffer's statistics."""

    class Sneaky:
        def __reduce__(self):
            from mmengine.logging.history_buffer import HistoryBuffer

            return (getattr, (HistoryBuffer, "__init__"))  # an allowed class, but not a statistics method

    path = tmp_path / "getattr.pth"
    torch.save({"x": Sneaky()}, path)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(path)


def test_importing_models_does_not_replace_mmengines_loader():
    """Registration of the safe loader is an explicit call, never a side effect of an import."""
    import subprocess
    import sys

    code = (
        "from mmengine.runner.checkpoint import CheckpointLoader\n"
        "before = CheckpointLoader._schemes['']\n"
        "import tsmdet.models\n"
        "assert CheckpointLoader._schemes[''] is before, 'import tsmdet.models replaced the loader'\n"
        "from tsmdet.utils.checkpoint import register_safe_loader\n"
        "register_safe_loader()\n"
        "assert CheckpointLoader._schemes[''] is not before\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
