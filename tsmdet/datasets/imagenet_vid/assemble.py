"""Worker results -> the CocoVID json dict: 1-based ids in task order, instance ids, the summary."""
from __future__ import annotations

import logging
from typing import Iterator

from ..vid_classes import coco_categories
from .records import FORMAT_VERSION, ConversionSummary, VideoRecord, WorkerResult

logger = logging.getLogger(__name__)


def assemble(parts: Iterator[WorkerResult], split: str) -> dict:
    """Number everything 1-based in task order and build the json dict (``summary`` included)."""
    summary = ConversionSummary(split=split)
    videos: list[dict] = []
    images: list[dict] = []
    annotations: list[dict] = []
    for part in parts:
        summary.merge(part.counts)
        for message in part.warnings:
            logger.warning(message)
        for video in part.videos:
            if video.frames:
                _add_video(video, videos, images, annotations, summary)
    summary.videos, summary.images, summary.annotations = len(videos), len(images), len(annotations)
    prefix = "Data/DET" if split == "det" else "Data/VID"
    return {
        "info": {"split": split, "file_name_prefix": prefix, "format_version": FORMAT_VERSION},
        "videos": videos,
        "images": images,
        "annotations": annotations,
        "categories": coco_categories(),
        "summary": summary.to_dict(),
    }


def _add_video(video: VideoRecord, videos: list[dict], images: list[dict], annotations: list[dict],
               summary: ConversionSummary) -> None:
    video_id = len(videos) + 1
    videos.append({"id": video_id, "name": video.name})
    instance_ids: dict[int, int] = {}
    for frame in video.frames:
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": frame.file_name, "video_id": video_id,
                       "frame_id": frame.frame_id, "width": frame.width, "height": frame.height})
        for box in frame.boxes:
            if box.track_key not in instance_ids:
                summary.instances += 1
                instance_ids[box.track_key] = summary.instances
            x, y, w, h = box.bbox
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "video_id": video_id,
                "category_id": box.category_id, "instance_id": instance_ids[box.track_key],
                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0,
                "occluded": box.occluded, "generated": box.generated,
            })


def log_summary(summary: ConversionSummary) -> None:
    logger.info("%s: %d videos, %d images, %d boxes, %d instances", summary.split, summary.videos,
                summary.images, summary.annotations, summary.instances)
    if summary.split == "det":
        logger.info("DET: %d boxes of non-VID classes dropped, %d images without a VID class left out",
                    summary.boxes_dropped_other_class, summary.images_without_vid_class)
    problems = summary.problems()
    if problems:
        logger.warning("input problems (see warnings above): %s", problems)
    if summary.unknown_wnids:
        logger.warning("unknown WordNet ids (boxes dropped): %s", summary.unknown_wnids)
