"""ImageNet VID data: XML reader/converter, synthetic generator (no OpenMMLab import here).

The mmdet-side pieces (``VIDClipDataset``, ``clip_collate``, ``VideoSampler``) register
themselves when ``tsmdet.datasets.vid_clip_dataset`` is imported (configs do it through
``custom_imports``); they are not imported here so that the converter and the generator
start without loading mmdet.
"""
