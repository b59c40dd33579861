"""A synthetic ImageNet-VID: small videos in the exact ILSVRC2015 VID layout.

Why it exists: the real data set (about 86 GB) is not reachable from the build
machines, yet the reader, the clip sampler, training, the VID metric and the
streaming tools all need video data with the real folder layout, and the
project's central claim (temporal shift helps where a single frame is not
enough) needs a data set on which that claim can be tested in CPU minutes.

Classes (real VID names and WordNet ids; index order of ``SYNTHETIC_CLASSES``):

* ``car``  -- coloured checker texture; always moves to the RIGHT (+x).
* ``bus``  -- the same checker texture family, colours, sizes, speeds and blur
  as ``car``; always moves to the LEFT (-x).  ``(car, bus)`` is ``MOTION_PAIR``.
  The pair moves 1.5-5 % of the short image side per frame (1.8-6 px at
  160x120): visible at the stride-4 features where the first shift sits.
* ``zebra`` -- black-and-white wavy stripes; moves in any direction.
* ``giant_panda`` -- white with black blotches; moves in any direction.

Why the motion pair is a fair test of temporal modelling: every ``bus``
trajectory is a ``car`` trajectory played backwards.  Each instance's path is
parameterised around the middle frame of its video, ``centre(t) = mid +
velocity * (t - (T - 1) / 2)``, with ``mid`` drawn from one class-independent
distribution, and every other random quantity of a video (background and its
drift, occluder bar, vertical velocity, texture phase and angle, sensor noise)
has a distribution that is unchanged by reversing time.  Hence the set of single
frames containing a ``car`` has exactly the same distribution as the set of
single frames containing a ``bus``: same pixels, same box sizes, same positions,
same cut-off at the image border, same symmetric blur (a centred line kernel
shows the speed, never the sign of the direction).  A per-frame detector can do
no better than chance between the two; a model that sees the previous frame can
read the sign of the horizontal displacement.  The pair's speed is drawn in
pixels rather than relative to size because sub-pixel motion (what the slow
band gives small objects) leaves the sign nearly invisible over a few frames.

Other properties, chosen so that every part of the evaluation is exercised:

* textured, slowly drifting background (smooth noise, gradient, soft blobs);
* 1-3 instances per video, sizes log-uniform from small (under the devkit's
  ~24 px small-object threshold) to about 60% of the short image side;
* speeds (zebra, giant_panda) drawn relative to object size in three bands, so that the FGFA motion
  IoU split (slow > 0.9, medium 0.7-0.9, fast < 0.7 over +-10 frames) is
  populated in every bucket;
* motion blur proportional to speed for fast instances;
* occlusion by a background-textured bar (half of the videos) and by other
  instances (random depth order); ``occluded`` is 1 when more than 30% of the
  in-image object is covered;
* objects enter and leave the image; a box is dropped when less than 30% of
  the object is visible or a clipped side is under ``MIN_BOX_SIDE`` pixels;
  ``trackid`` is stable per instance.

Modules: :mod:`.scene` (what is in a video and how it moves: classes, instances,
textures, velocities), :mod:`.render` (pixels and boxes), :mod:`.writer` (the ILSVRC2015
folders, ImageSets, mp4 files, version marker).

Determinism: every video draws from its own ``numpy.random.Generator`` seeded
with ``(seed, split, video index)``, so the output does not depend on the number
of worker processes; JPEG quality is fixed.
"""
from __future__ import annotations

from .render import (
    MIN_BLUR_LENGTH,
    MIN_BOX_SIDE,
    MIN_VISIBLE_FRACTION,
    OCCLUDED_FRACTION,
    render_synthetic_video,
)
from .scene import MOTION_PAIR, MOTION_SIGN, SYNTHETIC_CLASSES, TEXTURE_OF_CLASS, video_rng
from .writer import (
    GENERATOR_VERSION,
    JPEG_QUALITY,
    MP4_FPS,
    VERSION_FILE,
    generate_synthetic_vid,
    generator_version,
    video_relpath,
    write_sample_video,
)

__all__ = [
    "GENERATOR_VERSION", "JPEG_QUALITY", "MIN_BLUR_LENGTH", "MIN_BOX_SIDE", "MIN_VISIBLE_FRACTION",
    "MOTION_PAIR", "MOTION_SIGN", "MP4_FPS", "OCCLUDED_FRACTION", "SYNTHETIC_CLASSES", "TEXTURE_OF_CLASS",
    "VERSION_FILE", "generate_synthetic_vid", "generator_version", "render_synthetic_video",
    "video_relpath", "video_rng", "write_sample_video",
]
