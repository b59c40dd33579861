# Kinetics-400 as MMAction2 video lists (`<video_path> <label>`), decoded with OpenCV.
# Layout under data_root (docs/recognition.md "Real data"):
#   videos_train/<youtube_id>_<start>_<end>.mp4, videos_val/..., kinetics400_train_list_videos.txt,
#   kinetics400_val_list_videos.txt, label_map_k400.txt (400 class names, one per line)
# TSM release frame folders instead: list_format="tsm", filename_tmpl="img_{:05d}.jpg", data_prefix the
# frame root (VideoInit is then a no-op and DecodeFrames reads the folders).
# Sampling: TSN segments (1x1x8, 71.2 % top-1 in the TSM paper); the dense recipe (74.1 %) is
# SampleSegments(mode="dense") with 10 clips at test time (tsm_r50_k400_8f.py comments).
data_root = "data/kinetics400/"
num_segments = 8
dataset_type = "VideoClassificationDataset"
common = dict(type=dataset_type, data_root=data_root, list_format="video", class_names_file="label_map_k400.txt")
train_pipeline = [
    dict(type="VideoInit"),
    dict(type="SampleSegments", num_segments=num_segments),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=256),
    dict(type="VideoMultiScaleCrop", input_size=224, scales=(1, 0.875, 0.75, 0.66)),
    dict(type="VideoFlip", prob=0.5),  # Kinetics classes are mirror-symmetric
    dict(type="PackActionInputs"),
]
val_pipeline = [  # 1 clip x 1 centre crop
    dict(type="VideoInit"),
    dict(type="SampleSegments", num_segments=num_segments, test_mode=True),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=256),
    dict(type="VideoCenterCrop", crop_size=224),
    dict(type="PackActionInputs"),
]
test_pipeline = [  # 10 clips x 3 crops (30 views), the paper's full-resolution test
    dict(type="VideoInit"),
    dict(type="SampleSegments", num_segments=num_segments, num_clips=10, test_mode=True),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=256),
    dict(type="VideoThreeCrop", crop_size=256),
    dict(type="PackActionInputs"),
]
train_dataloader = dict(
    batch_size=8,  # clips per GPU
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(**common, ann_file="kinetics400_train_list_videos.txt", data_prefix=dict(video="videos_train/"),
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(**common, ann_file="kinetics400_val_list_videos.txt", data_prefix=dict(video="videos_val/"),
                 pipeline=val_pipeline, test_mode=True),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(**common, ann_file="kinetics400_val_list_videos.txt", data_prefix=dict(video="videos_val/"),
                 pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type="AccuracyMetric", topk=(1, 5))
test_evaluator = val_evaluator
