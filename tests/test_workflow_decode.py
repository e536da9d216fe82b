"""The decode stage on awkward files: each gives correct clips or a clear one-line reason."""

import cv2
import numpy as np
import pytest

from videoxai.core.errors import VideoXAIError
from videoxai.data.video import decode_clips
from videoxai.models.spec import ModelSpec

I3D_GEOMETRY = ModelSpec("i3d", num_frames=16, size=224, class_names=(), resize_short_side=256)


def write_video(path, frames, fps=25.0, color=True):
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height), color)
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def gradient_frames(count, height, width, channels=3):
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    frames = [np.roll(ramp, 3 * t, axis=1).astype(np.uint8) for t in range(count)]
    frames = np.stack(frames)
    return frames if channels == 1 else np.repeat(frames[..., None], 3, axis=-1)


@pytest.mark.parametrize(
    "content, reason",
    [(b"", r"video file is empty \(0 bytes\)"), (b"this is not a video\n" * 50, "cannot be opened|no frame")],
)
def test_broken_files_raise_one_line_reasons(tmp_path, content, reason):
    path = tmp_path / "bad clip 'é'.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoXAIError, match=reason) as error:
        decode_clips(path, I3D_GEOMETRY)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(VideoXAIError, match="not found"):
        decode_clips(tmp_path / "absent.mp4", I3D_GEOMETRY)


def test_truncated_video_fails_clearly_or_keeps_what_decodes(tmp_path):
    whole = write_video(tmp_path / "whole.mp4", gradient_frames(40, 120, 160))
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    try:
        decoded = decode_clips(truncated, I3D_GEOMETRY)
    except VideoXAIError as error:
        assert "\n" not in str(error)
    else:
        assert decoded.clips.shape[1:] == (16, 224, 224, 3)


def test_short_grayscale_video_is_loop_padded_rgb(tmp_path):
    path = write_video(tmp_path / "short gray.mp4", gradient_frames(5, 120, 160, channels=1), color=False)
    decoded = decode_clips(path, I3D_GEOMETRY)
    assert decoded.clips.shape == (1, 16, 224, 224, 3) and decoded.clips.dtype == np.uint8
    assert decoded.frame_indices[0].tolist() == [t % 5 for t in range(16)]
    np.testing.assert_array_equal(decoded.clips[0, 5], decoded.clips[0, 0])  # frame 5 is frame 0 again
    assert (decoded.clips[..., 0] == decoded.clips[..., 2]).all()
    assert decoded.num_frames == 5 and decoded.source_size == (120, 160)


def test_4k_video_is_resized_while_reading_and_clips_are_consecutive(tmp_path):
    path = write_video(tmp_path / "uhd.mp4", gradient_frames(34, 2160, 3840))
    decoded = decode_clips(path, ModelSpec("c3d", num_frames=16, size=112, class_names=(), resize_hw=(128, 171)))
    assert decoded.source_size == (2160, 3840)
    assert decoded.clips.shape == (2, 16, 112, 112, 3)
    assert decoded.frame_indices.tolist() == [list(range(16)), list(range(16, 32))]


def test_real_clip(ucf_sample_videos):
    decoded = decode_clips(ucf_sample_videos[0], I3D_GEOMETRY, max_clips=2)
    assert decoded.clips.shape == (2, 16, 224, 224, 3)
    assert decoded.fps == pytest.approx(25.0) and decoded.source_size == (240, 320)


def test_spread_sampling_takes_one_clip_over_the_whole_video(tmp_path):
    path = write_video(tmp_path / "ramp.mp4", gradient_frames(30, 64, 80))
    small = ModelSpec("small", num_frames=8, size=48, class_names=(), resize_short_side=56)
    decoded = decode_clips(path, small, clip_length=5, sampling="spread")
    assert decoded.clips.shape == (1, 5, 48, 48, 3)
    assert decoded.frame_indices.tolist() == [[0, 7, 14, 22, 29]]
    with pytest.raises(VideoXAIError, match="sampling must be"):
        decode_clips(path, small, sampling="random")
