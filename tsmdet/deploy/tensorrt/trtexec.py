"""The ``trtexec`` command line equivalent to a build (logged, so a build can be reproduced by hand)."""
from __future__ import annotations

from pathlib import Path

from ...runtime.meta import ModelMeta
from .profile import BatchProfile, input_shapes


def trtexec_command(
    onnx_path: str | Path,
    meta: ModelMeta,
    precision: str,
    profile: BatchProfile | None,
    workspace_gb: float,
    engine_path: str | Path,
    calib_cache: str | Path | None = None,
) -> str:
    """The ``trtexec`` line that builds the same engine (trtexec cannot calibrate: INT8 needs a cache)."""
    parts = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}",
             f"--memPoolSize=workspace:{int(workspace_gb * 1024)}"]
    if precision in ("fp16", "int8"):
        parts.append("--fp16")
    if precision == "int8":
        parts += ["--int8", f"--calib={calib_cache or 'CALIBRATION.cache'}"]
    if profile is not None:
        for flag, batch in (("min", profile.min), ("opt", profile.opt), ("max", profile.max)):
            spec = ",".join(f"{n}:{'x'.join(map(str, s))}" for n, s in input_shapes(meta, batch).items())
            parts.append(f"--{flag}Shapes={spec}")
    return " ".join(parts)
