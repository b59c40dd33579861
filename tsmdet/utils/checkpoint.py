"""Loading checkpoints without executing pickled code.

torch >= 2.6 loads with ``weights_only=True``: a restricted unpickler that only
rebuilds tensors, containers and explicitly allow-listed globals. mmengine
0.10.7 writes checkpoints that this rejects (its ``message_hub`` holds
``HistoryBuffer`` objects and numpy scalars/arrays), so ``--resume`` and
``load_from`` break. The fix here is NOT ``weights_only=False`` (which runs any
code a checkpoint file carries): it is the short allow-list below of exactly the
types mmengine stores, used by one loader that is also registered as mmengine's
loader for local files and http(s) URLs, so the Runner goes through it too.

A file the user explicitly marks trusted (:func:`trust_checkpoint`, the tools'
``--trust-checkpoint``) may be loaded with full pickle; nothing else is.
"""
from __future__ import annotations

import logging
import os
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tsmdet.utils.cli import InputError

logger = logging.getLogger(__name__)

_TRUSTED: set[str] = set()


class UnsafeCheckpointError(pickle.UnpicklingError, InputError):
    """The file holds a pickled object outside the allow-list (it could run code)."""


def _numpy_globals() -> list[Any]:
    """numpy's reconstruction helpers and dtype classes (module names differ in numpy 1 and 2)."""
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    dtype_classes = [type(np.dtype(t)) for t in ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1", "U1", "S1", "O")]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtype_classes]


# What HistoryBuffer._set_default_statistics registers (mmengine 0.10.x).
_DEFAULT_STATISTICS = ("min", "max", "current", "mean")


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` during unpickling.

    A pickled ``HistoryBuffer`` refers to its statistics methods as
    ``getattr(HistoryBuffer, 'min')``; allowing the real ``getattr`` would hand
    any attribute of any allowed object to the unpickler. This allows exactly
    the statistics methods registered on ``HistoryBuffer`` and nothing else.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    # The defaults are registered lazily (by the first HistoryBuffer created), so in a fresh
    # process (tools/test.py loading a training checkpoint) the dict can still be empty.
    allowed = (*_DEFAULT_STATISTICS, *HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f"getattr({getattr(obj, '__name__', type(obj).__name__)}, {name!r}) is not allowed")


def allowed_globals() -> list[Any]:
    """Everything beyond tensors and builtin containers that mmengine checkpoints contain."""
    from mmengine.logging.history_buffer import HistoryBuffer

    return [HistoryBuffer, (_history_buffer_getattr, "builtins.getattr"), *_numpy_globals()]


def trust_checkpoint(path: str | os.PathLike) -> None:
    """Mark one file as trusted: it may then be unpickled without restriction."""
    _TRUSTED.add(os.path.realpath(path))


def load_checkpoint_file(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """``torch.load`` with the allow-list; refuses anything else with a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    if os.path.realpath(path) in _TRUSTED:
        logger.warning("loading %s with full pickle (marked trusted by the user)", path)
        return torch.load(path, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f"refusing to load {path}: it holds the pickled global {disallowed_global(err)}, outside "
            f"tsmdet's allow-list (it could run code when loaded); if you made this file or trust its "
            f"source, pass --trust-checkpoint"
        ) from None


_GLOBAL_RE = re.compile(r"GLOBAL\s+([\w.]+)")
_GETATTR_RE = re.compile(r"getattr\([^)]*\) is not allowed")


def disallowed_global(err: BaseException) -> str:
    """The global torch's restricted unpickler refused, parsed from its message (torch 2.6+ words it
    "Unsupported global: GLOBAL mod.name ..." or "unsupported GLOBAL mod.name whose module ...")."""
    text = str(err)
    match = _GLOBAL_RE.search(text) or _GETATTR_RE.search(text)
    if match is None:
        return "(not named by torch: " + (text.strip().splitlines() or [type(err).__name__])[-1][:120] + ")"
    return match.group(1) if match.re is _GLOBAL_RE else match.group(0)


def _load_from_local(filename: str, map_location: Any) -> Any:
    return load_checkpoint_file(os.path.expanduser(filename), map_location)


def _load_from_http(filename: str, map_location: Any) -> Any:
    """Download once into torch hub's cache, then load it through the allow-list."""
    cache_dir = Path(torch.hub.get_dir()) / "checkpoints"
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / Path(filename.split("?")[0]).name
    if not target.exists():
        torch.hub.download_url_to_file(filename, str(target), progress=True)
    return load_checkpoint_file(target, map_location)


def register_safe_loader() -> None:
    """Make mmengine's ``CheckpointLoader`` (load_from, resume, init_cfg Pretrained) use the safe loader.

    A deliberate process-wide switch, made explicitly by every tsmdet entry point that loads
    checkpoints (``build_runner``, ``load_deploy_model``, the benchmark and the probes);
    importing tsmdet never makes it. Code of your own that calls mmengine's loaders adds this
    one line. Idempotent.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes="", loader=_load_from_local, force=True)
    CheckpointLoader.register_scheme(prefixes=("http://", "https://"), loader=_load_from_http, force=True)


def publish_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, half: bool = True) -> Path:
    """Write a weights-only copy of a training checkpoint for shipping.

    Drops the optimizer, scheduler and message hub (needed only to resume),
    keeps the weights (as float16 with ``half``: half the size; they are cast back
    to the model's dtype on load) and the small metadata a user needs
    (``dataset_meta`` with the class names, iteration, versions).
    """
    ckpt = load_checkpoint_file(src)
    state = ckpt.get("state_dict", ckpt)
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    meta = {k: v for k, v in (ckpt.get("meta") or {}).items()
            if k in ("dataset_meta", "iter", "epoch", "mmengine_version", "seed", "experiment_name")}
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "meta": meta}, dst)
    return dst
