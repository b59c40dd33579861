"""The records the ImageNet VID converter passes between its listing, its workers and the assembler.

The split names, the output format version, the counters of :class:`ConversionSummary`,
and the small picklable dataclasses a worker process receives (:class:`ConvertTask`) and
sends back (:class:`WorkerResult`: videos of frames of boxes, counters, warnings).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import ClassVar

VID_SPLITS = ("train", "val")
SPLITS = (*VID_SPLITS, "det")


# Bump when the output schema or a policy changes: old outputs then count as stale.
FORMAT_VERSION = 1


@dataclass
class ConversionSummary:
    """Every count the converter makes; logged at the end and stored under ``"summary"``."""

    split: str = ""
    videos: int = 0
    images: int = 0
    annotations: int = 0
    instances: int = 0
    frames_seen: int = 0  # XML files (VID) or listed images (DET) looked at
    empty_images: int = 0  # kept frames with no box (normal in VID)
    bad_xml_skipped: int = 0
    missing_images: int = 0
    missing_videos: int = 0
    videos_without_frames: int = 0
    videos_with_gaps: int = 0
    missing_frame_numbers: int = 0
    boxes_clipped: int = 0
    boxes_dropped_empty: int = 0
    boxes_dropped_unknown_wnid: int = 0
    unknown_wnids: dict[str, int] = field(default_factory=dict)
    boxes_dropped_other_class: int = 0
    images_without_vid_class: int = 0

    # Counters that mean "the input was not clean" (as opposed to the expected DET filtering).
    PROBLEMS: ClassVar[tuple[str, ...]] = (
        "bad_xml_skipped", "missing_images", "missing_videos", "videos_without_frames",
        "videos_with_gaps", "missing_frame_numbers", "boxes_clipped", "boxes_dropped_empty",
        "boxes_dropped_unknown_wnid",
    )

    def merge(self, other: ConversionSummary) -> None:
        """Add another (per-worker) summary's counters into this one."""
        for f in fields(self):
            value = getattr(other, f.name)
            if f.name == "unknown_wnids":
                for wnid, n in value.items():
                    self.unknown_wnids[wnid] = self.unknown_wnids.get(wnid, 0) + n
            elif isinstance(value, int):
                setattr(self, f.name, getattr(self, f.name) + value)

    def problems(self) -> dict[str, int]:
        """The non-zero problem counters, for the end-of-run warning."""
        return {name: getattr(self, name) for name in self.PROBLEMS if getattr(self, name)}

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ConvertTask:
    """One unit of worker work: one VID video, or a chunk of DET image paths."""

    root: str
    split: str
    items: tuple[str, ...]
    strict: bool


@dataclass(frozen=True)
class BoxRecord:
    category_id: int
    track_key: int  # VID trackid; DET box index (every DET box is its own instance)
    bbox: tuple[float, float, float, float]
    occluded: int
    generated: int


@dataclass
class FrameRecord:
    frame_id: int
    file_name: str
    width: int
    height: int
    boxes: list[BoxRecord]


@dataclass
class VideoRecord:
    name: str
    frames: list[FrameRecord]


@dataclass
class WorkerResult:
    """What a worker sends back; warnings are logged by the parent so they are never lost."""

    videos: list[VideoRecord] = field(default_factory=list)
    counts: ConversionSummary = field(default_factory=ConversionSummary)
    warnings: list[str] = field(default_factory=list)
