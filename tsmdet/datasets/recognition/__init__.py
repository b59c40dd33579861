"""Video classification data: annotation lists, sampling, decoding, clip transforms, the dataset.

Importing this package registers the transforms (``VideoInit``, ``SampleSegments``,
``DecodeFrames``, ``VideoResize``, ``VideoMultiScaleCrop``, ``VideoCenterCrop``,
``VideoThreeCrop``, ``VideoFlip``, ``PackActionInputs``), ``VideoClassificationDataset`` and
``TransitionClipDataset`` (training clips that start in another video) in mmdet's registries (configs: ``custom_imports``). The pure parts (``annotations``,
``sampling``, ``decoding``, ``synthetic_gestures``) need no OpenMMLab import and can be
used on their own.
"""
from .annotations import AnnotationError, load_class_names, parse_annotation_list
from .augment import VideoCenterCrop, VideoFlip, VideoMultiScaleCrop, VideoResize, VideoThreeCrop
from .dataset import VideoClassificationDataset
from .decoding import UnreadableVideoError
from .formatting import PackActionInputs
from .loading import DecodeFrames, SampleSegments, VideoInit
from .sampling import sample_indices
from .transitions import TransitionClipDataset

__all__ = [
    "AnnotationError", "DecodeFrames", "PackActionInputs", "SampleSegments", "UnreadableVideoError",
    "TransitionClipDataset", "VideoCenterCrop", "VideoClassificationDataset", "VideoFlip", "VideoInit", "VideoMultiScaleCrop",
    "VideoResize", "VideoThreeCrop", "load_class_names", "parse_annotation_list", "sample_indices",
]
