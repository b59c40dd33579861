# The synthetic gesture set of tools/make_synthetic_actions.py (64x64 frames, 9 classes, TSM lists),
# fed at 32x32 (resize to 36, crop 32) so that a small ResNet trains on a 2-core CPU in minutes.
#   python tools/make_synthetic_actions.py --out data/synthetic_actions
# NO FLIP: the set's direction pairs (swipe left/right, ...) are mirror images in time and space.
data_root = "data/synthetic_actions/"
num_segments = 8
classes_file = "classes.txt"
# The generator's fixed class order (tsmdet.datasets.recognition.synthetic_gestures.GESTURE_CLASSES),
# so a model of this config has its class names without the data set on disk (export, inference).
classes = ("swipe_left", "swipe_right", "swipe_up", "swipe_down",
           "rotate_clockwise", "rotate_anticlockwise", "zoom_in", "zoom_out", "no_gesture")
common = dict(type="VideoClassificationDataset", data_root=data_root, list_format="tsm",
              filename_tmpl="img_{:05d}.jpg", start_index=1, class_names_file=classes_file,
              data_prefix=dict(video="frames/"))
train_pipeline = [
    dict(type="SampleSegments", num_segments=num_segments),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=36),
    dict(type="VideoMultiScaleCrop", input_size=32, scales=(1, 0.875, 0.75)),
    dict(type="PackActionInputs"),
]
val_pipeline = [
    dict(type="SampleSegments", num_segments=num_segments, test_mode=True),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=36),
    dict(type="VideoCenterCrop", crop_size=32),
    dict(type="PackActionInputs"),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(**common, ann_file="train_list_tsm.txt", pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(**common, ann_file="val_list_tsm.txt", pipeline=val_pipeline, test_mode=True),
)
test_dataloader = val_dataloader
# tsmdet.datasets.recognition.synthetic_gestures.DIRECTION_PAIRS
direction_pairs = [("swipe_left", "swipe_right"), ("swipe_up", "swipe_down"),
                   ("rotate_clockwise", "rotate_anticlockwise"), ("zoom_out", "zoom_in")]
val_evaluator = dict(type="AccuracyMetric", topk=(1, 5), pairs=direction_pairs)
test_evaluator = val_evaluator
