"""The ``trtexec`` command line equivalent to a build (logged, so a build can be reproduced by hand).

The flags come from the same :class:`~.plan.BuildPlan` the Python build executes (the table
is in docs/jetson.md, "The trtexec equivalent"):

* 8.6: ``--fp16`` for the fp16 / int8 builder flag, ``--int8`` for INT8, and ``--calib=CACHE``
  when INT8 comes from our calibrator (trtexec cannot run the stateful calibration itself,
  so it reads the cache ``build_engine.py`` wrote); a QDQ graph needs ``--int8`` only.
* 10.x: ``--stronglyTyped`` (precision from the graph); the weakly typed fp16 fallback is ``--fp16``.
* 11.x: no precision flag at all (strong typing is always on; ``--fp16/--int8/--calib`` are
  removed and ``--stronglyTyped`` is not needed).
"""
from __future__ import annotations

from pathlib import Path

from ...runtime.meta import ModelMeta
from .plan import BuildPlan, plan_build
from .profile import BatchProfile, input_shapes


def trtexec_command(
    onnx_path: str | Path,
    meta: ModelMeta,
    precision: str,
    profile: BatchProfile | None,
    workspace_gb: float,
    engine_path: str | Path,
    calib_cache: str | Path | None = None,
    plan: BuildPlan | None = None,
) -> str:
    """The ``trtexec`` line that builds the same engine; without ``plan``, the 8.6 build of an fp32 graph."""
    plan = plan or plan_build("8.6", precision, "fp32")
    parts = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}",
             f"--memPoolSize=workspace:{int(workspace_gb * 1024)}"]
    if plan.path == "10" and plan.strongly_typed:
        parts.append("--stronglyTyped")
    if "FP16" in plan.builder_flags:
        parts.append("--fp16")
    if "INT8" in plan.builder_flags:
        parts.append("--int8")
        if plan.calibrator:
            parts.append(f"--calib={calib_cache or 'CALIBRATION.cache'}")
    if profile is not None:
        for flag, batch in (("min", profile.min), ("opt", profile.opt), ("max", profile.max)):
            spec = ",".join(f"{n}:{'x'.join(map(str, s))}" for n, s in input_shapes(meta, batch).items())
            parts.append(f"--{flag}Shapes={spec}")
    return " ".join(parts)
