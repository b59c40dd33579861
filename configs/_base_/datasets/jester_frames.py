# 20BN Jester as TSM release frame folders (`<folder> <num_frames> <label>`, frames {:05d}.jpg from 1).
# Layout under data_root: 20bn-jester-v1/<id>/00001.jpg, train_videofolder.txt, val_videofolder.txt,
# category.txt (27 classes; the order of /work/shared/reference/RECOGNITION.md, as the TSM online demo).
# NO FLIP: "Swiping Left" mirrored is "Swiping Right".
data_root = "data/jester/"
num_segments = 8
common = dict(type="VideoClassificationDataset", data_root=data_root, list_format="tsm",
              filename_tmpl="{:05d}.jpg", start_index=1, class_names_file="category.txt",
              data_prefix=dict(video="20bn-jester-v1/"))
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
test_dataloader = val_dataloader
jester_pairs = [("Swiping Left", "Swiping Right"), ("Swiping Up", "Swiping Down"),
                ("Sliding Two Fingers Left", "Sliding Two Fingers Right"),
                ("Sliding Two Fingers Up", "Sliding Two Fingers Down"),
                ("Turning Hand Clockwise", "Turning Hand Counterclockwise"),
                ("Zooming In With Full Hand", "Zooming Out With Full Hand")]
val_evaluator = dict(type="AccuracyMetric", topk=(1, 5), pairs=jester_pairs)
test_evaluator = val_evaluator
