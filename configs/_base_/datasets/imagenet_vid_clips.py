# ImageNet VID (+ the DET 30-class subset) as clips of T frames, for online TSM detectors.
# Expected layout under data_root (ILSVRC2015/): Data/VID, Data/DET, and annotations/*.json made by
#   python tools/convert_imagenet_vid.py --root $DATA --split train --out $DATA/annotations/imagenet_vid_train.json
#   python tools/convert_imagenet_vid.py --root $DATA --split val   --out $DATA/annotations/imagenet_vid_val.json
#   python tools/convert_imagenet_vid.py --root $DATA --split det   --out $DATA/annotations/imagenet_det_30cls.json
data_root = "data/ILSVRC2015/"
num_frames = 8
backend_args = None
meta_keys = ("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "flip", "flip_direction",
             "homography_matrix")
train_pipeline = [
    dict(type="LoadImageFromFile", backend_args=backend_args),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(type="RandomResize", scale=(1000, 600), ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type="RandomFlip", prob=0.5),  # the same flip for every frame of a clip (VIDClipDataset)
    dict(type="PackDetInputs", meta_keys=meta_keys),
]
# The preprocessing contract (tsmdet.runtime.preprocess.Preprocess): the test pipeline below and every
# exported model (its metadata) are derived from this one definition. mean/std/channel_order must be the
# model's data_preprocessor's (the exporter checks); pad_value None = the mean (0 after normalisation).
preprocess = dict(input_size=(1024, 608), scale=(1000, 600), pad_position="bottom_right", pad_value=None,
                  channel_order="RGB", mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
test_pipeline = [
    dict(type="LoadImageFromFile", backend_args=backend_args),
    dict(type="ContractPreprocess", **preprocess),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")),
]
clip = dict(type="VIDClipDataset", data_root=data_root, num_frames=num_frames, pipeline=train_pipeline,
            filter_cfg=dict(filter_empty_gt=True), backend_args=backend_args)
train_dataloader = dict(
    batch_size=1,  # clips per GPU: the detector sees batch_size * num_frames images
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    batch_sampler=dict(type="AspectRatioBatchSampler"),
    collate_fn=dict(type="clip_collate"),
    dataset=dict(
        type="ConcatDataset",
        datasets=[
            dict(**clip, ann_file="annotations/imagenet_det_30cls.json", data_prefix=dict(img="Data/DET/")),
            dict(**clip, ann_file="annotations/imagenet_vid_train.json", data_prefix=dict(img="Data/VID/"),
                 sampling="random_strided", max_stride=4, frames_per_video=15),
        ],
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type="VideoSampler"),  # whole videos per rank, in frame order (online evaluation)
    dataset=dict(type="VIDClipDataset", data_root=data_root, ann_file="annotations/imagenet_vid_val.json",
                 data_prefix=dict(img="Data/VID/"), test_mode=True, pipeline=test_pipeline,
                 backend_args=backend_args),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="VIDMetric", ann_file=data_root + "annotations/imagenet_vid_val.json")
test_evaluator = val_evaluator
