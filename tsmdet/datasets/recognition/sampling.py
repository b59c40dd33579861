"""Which frames a recognizer sees: TSN segment sampling, dense sampling, multiple test clips.

Pure numpy, 0-based frame indices (the loader adds a frame template's start number, 1 for
the TSM and MMAction2 folders). Formulas follow the original TSM release
(``ops/dataset.py``; /work/shared/reference/RECOGNITION.md), with ``new_length = 1``:

* segment, train: ``d = n // T``; ``d > 0``: ``i*d + randint(d)``; elif ``n > T``: ``sort(randint(n, T))``;
  else zeros.
* segment, test: ``tick = n / T``; ``int(tick/2 + tick*i)`` (the segment centres).
  ``twice_sample`` appends ``int(tick*i)`` (the segment starts) as a second view.
  ``num_clips = k > 1`` (our generalisation, the segment-wise analogue of MMAction2's
  multi-clip test): view ``j`` takes ``int(tick * (i + (j + 0.5) / k))``; ``k = 1`` is the centre.
* dense (Kinetics, I3D-style): a window of ``window`` (64) frames, stride ``window // T``,
  indices wrap modulo ``n``; train: random start in ``[0, max(1, n - window + 1) - 1)``
  (TSM's ``randint(0, sample_pos - 1)``); test with ``k`` clips: starts
  ``linspace(0, sample_pos - 1, k)`` as integers; a single test clip starts at the centre
  ``(sample_pos - 1) // 2`` (the TSM release draws it at random; a test should not).

Views are returned view-major: ``(num_views * T,)``, view 0's T frames first.
"""
from __future__ import annotations

import numpy as np

SAMPLING_MODES: tuple[str, ...] = ("segment", "dense")
DENSE_WINDOW = 64


def segment_train_indices(num_frames: int, num_segments: int, rng: np.random.Generator) -> np.ndarray:
    """TSN training sampling: one random frame inside each of T equal segments.  # (T,)"""
    _check(num_frames, num_segments)
    duration = num_frames // num_segments
    if duration > 0:
        return np.arange(num_segments) * duration + rng.integers(0, duration, size=num_segments)
    if num_frames > num_segments:  # unreachable for new_length=1 (then duration > 0); kept for the recipe
        return np.sort(rng.integers(0, num_frames, size=num_segments))
    return np.zeros(num_segments, dtype=np.int64)


def segment_test_indices(num_frames: int, num_segments: int, num_clips: int = 1,
                         twice_sample: bool = False) -> np.ndarray:
    """TSN test sampling: segment centres (+ starts with ``twice_sample``).  # (views * T,)"""
    _check(num_frames, num_segments)
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    tick = num_frames / float(num_segments)
    seg = np.arange(num_segments)
    views = [np.array([int(tick * (i + (j + 0.5) / num_clips)) for i in seg]) for j in range(num_clips)]
    if twice_sample:
        views.append(np.array([int(tick * i) for i in seg]))
    return np.concatenate(views).astype(np.int64)


def dense_indices(num_frames: int, num_segments: int, num_clips: int = 1, test_mode: bool = False,
                  rng: np.random.Generator | None = None, window: int = DENSE_WINDOW) -> np.ndarray:
    """I3D-style dense sampling: T frames at stride ``window // T`` from a start.  # (clips * T,)"""
    _check(num_frames, num_segments)
    stride = max(1, window // num_segments)
    sample_pos = max(1, 1 + num_frames - window)
    if not test_mode:
        if rng is None:
            raise ValueError("dense_indices(test_mode=False) needs an rng")
        starts = [0 if sample_pos == 1 else int(rng.integers(0, sample_pos - 1))] * num_clips
    elif num_clips == 1:
        starts = [(sample_pos - 1) // 2]
    else:
        starts = np.linspace(0, sample_pos - 1, num=num_clips, dtype=int).tolist()
    seg = np.arange(num_segments)
    return np.concatenate([(seg * stride + s) % num_frames for s in starts]).astype(np.int64)


def sample_indices(num_frames: int, num_segments: int, mode: str = "segment", num_clips: int = 1,
                   twice_sample: bool = False, test_mode: bool = False,
                   rng: np.random.Generator | None = None, window: int = DENSE_WINDOW) -> np.ndarray:
    """One entry point for the transforms: 0-based indices, view-major.  # (views * T,)

    Training draws ``num_clips`` independent segment samples (usually 1).
    """
    if mode not in SAMPLING_MODES:
        raise ValueError(f"sampling mode must be one of {SAMPLING_MODES}, got {mode!r}")
    if mode == "dense":
        if twice_sample:
            raise ValueError("twice_sample applies to segment sampling only")
        return dense_indices(num_frames, num_segments, num_clips, test_mode, rng, window)
    if test_mode:
        return segment_test_indices(num_frames, num_segments, num_clips, twice_sample)
    if rng is None:
        raise ValueError("training sampling needs an rng")
    return np.concatenate([segment_train_indices(num_frames, num_segments, rng) for _ in range(num_clips)])


def num_views(num_clips: int, twice_sample: bool = False, num_crops: int = 1) -> int:
    """Views of one test sample: (clips (+1 with twice_sample)) x crops."""
    return (num_clips + int(twice_sample)) * num_crops


def _check(num_frames: int, num_segments: int) -> None:
    if num_frames < 1:
        raise ValueError(f"a video needs at least one frame, got num_frames={num_frames}")
    if num_segments < 1:
        raise ValueError(f"num_segments must be >= 1, got {num_segments}")
