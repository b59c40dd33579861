# The synthetic set of tools/make_synthetic_vid.py (ILSVRC2015 layout, 160x120 frames, 4 classes).
# No horizontal flip: car and bus differ only by the direction they move in, and a flip swaps it.
data_root = "data/synthetic_vid/"
num_frames = 4
classes = ("car", "bus", "zebra", "giant_panda")  # tsmdet.datasets.synthetic.SYNTHETIC_CLASSES
metainfo = dict(classes=classes)
meta_keys = ("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "flip", "flip_direction",
             "homography_matrix")
train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(type="RandomResize", scale=(160, 120), ratio_range=(0.9, 1.1), keep_ratio=True),
    dict(type="PackDetInputs", meta_keys=meta_keys),
]
# The preprocessing contract (tsmdet.runtime.preprocess.Preprocess): the test pipeline below and every
# exported model (its metadata) are derived from this one definition. mean/std/channel_order must be the
# model's data_preprocessor's (the exporter checks); pad_value None = the mean (0 after normalisation).
preprocess = dict(input_size=(160, 128), scale=(160, 120), pad_position="bottom_right", pad_value=None,
                  channel_order="RGB", mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="ContractPreprocess", **preprocess),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")),
]
train_dataloader = dict(
    batch_size=4,  # clips: the detector sees batch_size * num_frames images
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="clip_collate"),
    dataset=dict(type="VIDClipDataset", data_root=data_root, ann_file="annotations/imagenet_vid_train.json",
                 data_prefix=dict(img="Data/VID/"), metainfo=metainfo, num_frames=num_frames,
                 sampling="contiguous", filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type="VideoSampler"),
    dataset=dict(type="VIDClipDataset", data_root=data_root, ann_file="annotations/imagenet_vid_val.json",
                 data_prefix=dict(img="Data/VID/"), metainfo=metainfo, test_mode=True,
                 pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="VIDMetric", ann_file=data_root + "annotations/imagenet_vid_val.json")
test_evaluator = val_evaluator
