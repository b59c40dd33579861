"""The CPU thread policy of the torch and onnxruntime engines: how many threads, spinning or not.

Why a policy and not "all cores": a deployed process is never alone on its cores. The
streaming runner decodes in a reader thread, postprocess and rendering run in the
caller, and other processes (other streams, other services) share the machine. With as
many compute threads as cores, every frame is a barrier of N threads: when one of them is
descheduled by a neighbour, the whole frame waits for it (tens to hundreds of ms on a
2-core VM), which is what makes the tail explode under contention (issue 15: torch at 2
threads, p90 250-1,340 ms vs a 20-25 ms median; at 1 thread p99 31 ms).

The rule (:func:`default_threads`): 1 thread when the process may use 2 cores or fewer
(the second core is left to decode and to the neighbours), else ``cores - 1`` (one core
left for decode/postprocess). onnxruntime runs its graph sequentially (inter-op 1: one
stream's graph has no independent branches worth a second pool), and its intra-op pool
does not spin (``session.intra_op.allow_spinning=0``) unless asked: a spinning worker
burns its core between operators, which is free on an idle dedicated machine (a few %
faster) and steals the core from the neighbour or the decode thread otherwise.

torch's intra-op thread count is per process (``torch.set_num_threads``), not per module:
the torch engine sets its count around each of its own calls and restores the previous
value, so two torch engines with different counts in one process each run with theirs,
one at a time. torch's inter-op pool is fixed at the process's first parallel work and is
not set here. Stdlib only: imported by the runtime on a Jetson.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from ..utils.cpu import usable_cpu_count

DEFAULT_RULE = "1 thread when <= 2 usable cores, else usable cores - 1"


def default_threads(cores: int | None = None) -> int:
    """The default compute threads for ``cores`` usable cores (default: this process's); see the module."""
    cores = usable_cpu_count() if cores is None else cores
    if cores < 1:
        raise ValueError(f"cores must be >= 1, got {cores}")
    return 1 if cores <= 2 else cores - 1


def check_threads(threads: int | None) -> int:
    """``threads`` (>= 1) or the default; raises ``ValueError`` naming a bad value."""
    if threads is None:
        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")
    return threads


@dataclass(frozen=True)
class ThreadSettings:
    """What an engine runs with, as recorded in reports (``Engine.thread_settings``)."""

    backend: str  # "torch" | "onnx"
    intra_op: int
    inter_op: int | None  # onnx: the session's; torch: the process's (not set by the engine)
    spinning: bool | None  # onnx intra-op spinning; None for torch (OpenMP passive wait)
    usable_cores: int
    default: bool  # True when the thread count came from the rule, not from the caller

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rule": DEFAULT_RULE}


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None
