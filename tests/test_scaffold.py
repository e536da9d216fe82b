"""The basics every other module builds on: error messages, clip sampling, preprocessing."""

import numpy as np
import pytest
import torch

from videoxai import VideoXAIError
from videoxai.data.video import center_crop, clip_indices, even_indices, read_video, resize_short_side
from videoxai.models import load
from videoxai.models.spec import ModelSpec


def test_error_names_the_file():
    error = VideoXAIError("cannot be opened", "clips/a b.mp4")
    assert str(error) == "clips/a b.mp4: cannot be opened"
    assert error.path == "clips/a b.mp4"


def test_clip_indices_non_overlapping_and_loop_padding():
    assert clip_indices(40, 16).tolist() == [list(range(0, 16)), list(range(16, 32))]
    assert clip_indices(10, 16)[0].tolist() == list(range(10)) + list(range(6))
    assert clip_indices(48, 16, stride=8).shape == (5, 16)
    kept = clip_indices(160, 16, max_clips=2)
    assert kept[:, 0].tolist() == [0, 144]


def test_even_indices_cover_the_whole_video():
    assert even_indices(100, 5).tolist() == [0, 25, 50, 74, 99]


def test_resize_and_crop_shapes():
    frame = np.zeros((240, 320, 3), np.uint8)
    resized = resize_short_side(frame, 256)
    assert resized.shape == (256, 341, 3)
    assert center_crop(resized[None], 224).shape == (1, 224, 224, 3)


def test_preprocess_maps_pixels_to_the_declared_range():
    spec = ModelSpec("toy", num_frames=2, size=4, class_names=("a",), scale=1 / 127.5, offset=-1.0)
    clips = np.zeros((1, 2, 4, 4, 3), np.uint8)
    clips[..., 0] = 255
    inputs = spec.preprocess(clips)
    assert inputs.shape == (1, 3, 2, 4, 4)
    assert inputs[:, 0].eq(1.0).all() and inputs[:, 1].eq(-1.0).all()
    low, high = spec.value_range
    assert torch.allclose(low, torch.full((3,), -1.0)) and torch.allclose(high, torch.full((3,), 1.0))


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(VideoXAIError, match="unknown model 'resnet_nonexistent'"):
        load("resnet_nonexistent")


def test_missing_and_non_video_files(tmp_path):
    with pytest.raises(VideoXAIError, match="not found"):
        read_video(tmp_path / "missing.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoXAIError, match="empty"):
        read_video(empty)
    text = tmp_path / "notes.avi"
    text.write_text("this is not a video")
    with pytest.raises(VideoXAIError, match=str(text)):
        read_video(text)


def test_reads_a_real_clip(ucf_sample_videos):
    video = read_video(ucf_sample_videos[0], transform=lambda f: resize_short_side(f, 128))
    assert video.frames.dtype == np.uint8 and video.frames.shape[1:] == (128, 171, 3)
    assert video.source_size == (240, 320) and video.fps == pytest.approx(25, abs=1)
