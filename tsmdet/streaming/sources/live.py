"""Live sources (camera index, rtsp/http URL): wall-clock timestamps, reconnect with backoff.

The first frame after a reconnect carries ``source_restarted=True``: the temporal-shift
caches describe a past that no longer precedes that frame, so the caller must reset the
model state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from .base import Capture, CaptureFactory, Decoded, EndReason, ReconnectPolicy, SourceError, SourceStats
from .capture import describe, timed_read, try_open

logger = logging.getLogger(__name__)


def open_live(target: str | int, factory: CaptureFactory) -> Capture:
    """Open a camera or URL once; failing at start is a configuration error, so no retries here."""
    cap = try_open(target, factory)
    if cap is None:
        raise SourceError(f"{describe(target)} could not be opened")
    return cap


def read_live(
    target: str | int,
    cap: Capture,
    factory: CaptureFactory,
    policy: ReconnectPolicy,
    stats: SourceStats,
    stop: threading.Event,
) -> Iterator[Decoded]:
    """Read a camera or URL; on a failed read reopen it, up to ``policy.max_tries`` per outage.

    The try counter resets only after a frame is decoded, so a server that accepts the
    connection but never sends a frame still exhausts the tries.
    """
    current: Capture | None = cap
    restarted = False
    failures = 0
    try:
        while not stop.is_set():
            if current is None:
                if failures >= policy.max_tries:
                    stats.end_reason = EndReason.RECONNECT_FAILED
                    stats.end_detail = f"{describe(target)}: no frame after {failures} reconnect tries"
                    logger.error("%s", stats.end_detail)
                    return
                if stop.wait(policy.delay(failures)):
                    return
                failures += 1
                current = try_open(target, factory)
                if current is not None:
                    stats.reconnects += 1
                    restarted = True
                    logger.info("%s reopened (try %d)", describe(target), failures)
                continue
            image, ms = timed_read(current)
            if image is None:
                logger.warning("%s stopped delivering frames; reconnecting", describe(target))
                current.release()
                current = None
                continue
            failures = 0
            yield Decoded(image, time.time(), restarted, ms)
            restarted = False
    finally:
        if current is not None:
            current.release()
