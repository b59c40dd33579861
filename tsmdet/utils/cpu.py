"""How many CPU cores this process may use (stdlib only: the runtime imports it on a Jetson)."""
from __future__ import annotations

import os


def usable_cpu_count() -> int:
    """Cores this process may run on: taskset/cgroup affinity where the OS reports it, else all.

    ``os.cpu_count()`` counts the machine's cores, which oversubscribes a container or a
    process pinned to a few of them; thread pools and worker counts are sized from this.
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
