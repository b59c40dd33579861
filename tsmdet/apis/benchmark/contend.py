"""The benchmark's view of the machine: a CPU-bound neighbour process (``--contend``) and the load during the run.

Why a neighbour: a deployed detector never has its cores to itself (decode thread, other
streams, other services), and a thread count that is fastest on an idle machine can make
the tail explode as soon as one core is taken (issue 15). The neighbour is one process
spinning on one core, started once, paused (SIGSTOP) for the quiet blocks and resumed
(SIGCONT) for the contended ones, so both conditions are measured in the same run,
interleaved like the variants. It is bounded: it exits by itself after ``max_s`` seconds or
as soon as its parent is gone, and :meth:`Neighbour.close` ends it in any case.

Why the load is sampled per block: the load average at the start says nothing about a
neighbour that arrived halfway through (this machine is shared); a run whose load moved by
more than :data:`LOAD_CHANGE_MAX` is flagged in the report.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

LOAD_CHANGE_MAX = 1.0  # a run whose 1-min load average moved more than this (beyond the neighbour's own 1.0) is flagged
_SPIN = """
import os, sys, time
end, parent = time.monotonic() + float(sys.argv[1]), int(sys.argv[2])
while time.monotonic() < end and os.getppid() == parent:
    for _ in range(20000):
        pass
"""


class Neighbour:
    """One CPU-bound child process, paused until :meth:`resume`; a context manager that always ends it."""

    def __init__(self, max_s: float = 3600.0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _SPIN, str(max_s), str(os.getpid())],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.running = True
        self.pause()
        logger.info("contention neighbour pid %d (bounded to %.0f s)", self.proc.pid, max_s)

    def pause(self) -> None:
        if self.running and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGSTOP)
        self.running = False

    def resume(self) -> None:
        if not self.running and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.running = True

    def close(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # a stopped process does not act on SIGTERM until continued
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Neighbour":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat, or None off Linux."""
    stat = Path("/proc/stat")
    if not stat.is_file():
        return None
    fields = [int(v) for v in stat.read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


class LoadMonitor:
    """Samples the 1-min load average and the machine's CPU busy fraction at every block."""

    def __init__(self) -> None:
        self.samples: list[dict[str, Any]] = []
        self._start = time.perf_counter()
        self._last = _cpu_times()

    def sample(self, block: int, phase: str) -> None:
        """Record the load now; ``cpu_busy`` is the busy fraction of all cores since the last sample."""
        now = _cpu_times()
        busy = None
        if now is not None and self._last is not None and now[1] > self._last[1]:
            busy = (now[0] - self._last[0]) / (now[1] - self._last[1])
        self._last = now
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        self.samples.append({"t_s": round(time.perf_counter() - self._start, 2), "block": block, "phase": phase,
                             "load_avg_1min": load, "cpu_busy": busy})

    def summary(self, contended: bool) -> dict[str, Any]:
        """min/max/first/last load, and ``changed``: the load moved by more than LOAD_CHANGE_MAX (+ 1.0
        for the neighbour's own process when it ran) during the run."""
        loads = [s["load_avg_1min"] for s in self.samples if s["load_avg_1min"] is not None]
        busy = [s["cpu_busy"] for s in self.samples if s["cpu_busy"] is not None]
        allowed = LOAD_CHANGE_MAX + (1.0 if contended else 0.0)
        out: dict[str, Any] = {"samples": self.samples, "allowed_change": allowed}
        if loads:
            out.update(first=loads[0], last=loads[-1], min=min(loads), max=max(loads),
                       changed=max(loads) - min(loads) > allowed)
        else:
            out.update(first=None, last=None, min=None, max=None, changed=False)
        out["cpu_busy_mean"] = sum(busy) / len(busy) if busy else None
        return out
