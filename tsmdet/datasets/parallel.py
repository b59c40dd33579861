"""The data tools' parallel driver: an ordered map over a process pool, with a progress bar.

Used by the ImageNet VID converter (one task per video or DET chunk) and the synthetic
generator (one task per video). Results come back in task order, so outputs do not depend
on the worker count.
"""
from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

from tqdm import tqdm

from tsmdet.utils.cpu import usable_cpu_count

_T = TypeVar("_T")
_R = TypeVar("_R")


def parallel_map(fn: Callable[[_T], _R], tasks: Sequence[_T], workers: int, desc: str,
                 progress: bool, unit: str = "it") -> Iterator[_R]:
    """``map(fn, tasks)`` in task order, over a process pool when workers > 1, with a bar.

    ``fn`` must be a module-level function (it is pickled to the workers). The bar goes to
    stderr and only to a terminal (tqdm's ``disable=None``) when ``progress`` is set.
    """
    bar = tqdm(total=len(tasks), desc=desc, unit=unit, file=sys.stderr, disable=None if progress else True)
    with bar:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield fn(task)
                bar.update()
            return
        chunksize = max(1, len(tasks) // (workers * 16))
        pool = ProcessPoolExecutor(max_workers=workers)
        try:
            for result in pool.map(fn, tasks, chunksize=chunksize):
                yield result
                bar.update()
        finally:
            # On an error (a strict converter) do not wait for the rest of the data set.
            pool.shutdown(wait=True, cancel_futures=True)


def resolve_workers(workers: int | None) -> int:
    """``workers`` as given, or the usable cores when None; at least 1."""
    return max(1, workers if workers is not None else usable_cpu_count())
