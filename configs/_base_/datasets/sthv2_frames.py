# Something-Something V2 as TSM release frame folders (`<folder> <num_frames> <label>`, frames
# {:06d}.jpg from 1), as made by the TSM release's tools/vid2img_sthv2.py + gen_label_sthv2.py.
# Layout under data_root: 20bn-something-something-v2-frames/<id>/000001.jpg, train_videofolder.txt,
# val_videofolder.txt, category.txt (174 class names, index = line).
# NO FLIP: the classes are direction-sensitive ("Pushing something from left to right").
data_root = "data/sthv2/"
num_segments = 8
common = dict(type="VideoClassificationDataset", data_root=data_root, list_format="tsm",
              filename_tmpl="{:06d}.jpg", start_index=1, class_names_file="category.txt",
              data_prefix=dict(video="20bn-something-something-v2-frames/"))
train_pipeline = [
    dict(type="SampleSegments", num_segments=num_segments),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=256),
    dict(type="VideoMultiScaleCrop", input_size=224, scales=(1, 0.875, 0.75, 0.66)),
    dict(type="PackActionInputs"),
]
val_pipeline = [
    dict(type="SampleSegments", num_segments=num_segments, test_mode=True),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=256),
    dict(type="VideoCenterCrop", crop_size=224),
    dict(type="PackActionInputs"),
]
test_pipeline = [  # TSM release --twice_sample --test_crops 3: 2 clips x 3 crops
    dict(type="SampleSegments", num_segments=num_segments, twice_sample=True, test_mode=True),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=256),
    dict(type="VideoThreeCrop", crop_size=256),
    dict(type="PackActionInputs"),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(**common, ann_file="train_videofolder.txt", pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(**common, ann_file="val_videofolder.txt", pipeline=val_pipeline, test_mode=True),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(**common, ann_file="val_videofolder.txt", pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type="AccuracyMetric", topk=(1, 5))
test_evaluator = val_evaluator
