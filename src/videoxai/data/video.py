"""Reading videos into uint8 RGB frames, and turning frames into model-sized clips.

All frame arrays are uint8 RGB ``(F, H, W, 3)``; clips are ``(N, T, H, W, 3)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from videoxai.core.errors import VideoXAIError


@dataclass
class Video:
    """Decoded frames of one video plus what we know about the source."""

    path: str
    frames: np.ndarray  # uint8 (F, H, W, 3) RGB, after the per-frame transform
    fps: float
    source_size: tuple[int, int]  # (height, width) of the file's frames

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


def resize_short_side(frame: np.ndarray, short_side: int) -> np.ndarray:
    """Resize ``(H, W, 3)`` so that min(H, W) == short_side, keeping the aspect ratio."""
    height, width = frame.shape[:2]
    factor = short_side / min(height, width)
    new_size = (max(short_side, round(width * factor)), max(short_side, round(height * factor)))
    return resize_exact(frame, (new_size[1], new_size[0]))


def resize_exact(frame: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Resize ``(H, W, 3)`` to exactly ``size_hw``; area averaging when shrinking avoids aliasing."""
    height, width = frame.shape[:2]
    if (height, width) == tuple(size_hw):
        return frame
    shrinking = size_hw[0] * size_hw[1] < height * width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(frame, (size_hw[1], size_hw[0]), interpolation=interpolation)


def center_crop(frames: np.ndarray, size: int) -> np.ndarray:
    """Crop the central ``size`` x ``size`` window of ``(..., H, W, 3)``."""
    height, width = frames.shape[-3:-1]
    if height < size or width < size:
        raise ValueError(f"cannot crop {size}x{size} from {height}x{width}")
    top = (height - size) // 2
    left = (width - size) // 2
    return frames[..., top : top + size, left : left + size, :]


def frame_transform_for(spec) -> Callable[[np.ndarray], np.ndarray]:
    """Per-frame resize (no crop) that brings a frame to the model's pre-crop size."""
    if spec.resize_hw is not None:
        return lambda frame: resize_exact(frame, spec.resize_hw)
    if spec.resize_short_side is not None:
        return lambda frame: resize_short_side(frame, spec.resize_short_side)
    return lambda frame: resize_exact(frame, (spec.size, spec.size))


def read_video(
    path: str | os.PathLike,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    max_frames: int | None = None,
) -> Video:
    """Decode every frame of ``path`` as RGB, applying ``transform`` to each as it is read.

    Resizing inside the read keeps memory bounded for large (e.g. 4K) videos. Grayscale
    sources come out as 3 identical channels. Raises :class:`VideoXAIError` naming the file
    when it is missing, empty, not a video or has no decodable frame.
    """
    path = Path(path)
    if not path.exists():
        raise VideoXAIError("video file not found", path)
    if path.is_dir():
        raise VideoXAIError("is a directory, not a video file", path)
    if path.stat().st_size == 0:
        raise VideoXAIError("video file is empty (0 bytes)", path)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoXAIError("cannot be opened as a video (unknown or corrupt container)", path)
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = []
        source_size = None
        while max_frames is None or len(frames) < max_frames:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
            else:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            if source_size is None:
                source_size = (int(frame.shape[0]), int(frame.shape[1]))
            frames.append(transform(frame) if transform is not None else frame)
    finally:
        capture.release()
    if not frames:
        raise VideoXAIError("no frame could be decoded (corrupt, truncated or not a video)", path)
    return Video(str(path), np.ascontiguousarray(np.stack(frames)), fps if fps > 0 else 25.0, source_size)


def even_indices(num_frames: int, count: int) -> np.ndarray:
    """``count`` frame indices spread evenly over ``[0, num_frames)``, first and last included."""
    if num_frames <= 0:
        raise ValueError("a video needs at least one frame")
    return np.round(np.linspace(0, num_frames - 1, count)).astype(np.int64)


def clip_indices(
    num_frames: int, clip_length: int, stride: int | None = None, max_clips: int | None = None
) -> np.ndarray:
    """Frame indices ``(N, clip_length)`` of consecutive-frame clips, as the paper samples them.

    Clips start every ``stride`` frames (default ``clip_length``: non-overlapping). A video
    shorter than one clip is loop-padded (indices wrap around), so every video gives >= 1 clip.
    With ``max_clips``, that many clips are kept, spread evenly over the available starts.
    """
    stride = clip_length if stride is None else stride
    if stride < 1 or clip_length < 1:
        raise ValueError("clip_length and stride must be positive")
    if num_frames < clip_length:
        starts = np.array([0])
    else:
        starts = np.arange(0, num_frames - clip_length + 1, stride)
    if max_clips is not None and len(starts) > max_clips:
        starts = starts[even_indices(len(starts), max_clips)]
    return (starts[:, None] + np.arange(clip_length)[None, :]) % num_frames


@dataclass
class DecodedClips:
    """Model-sized clips of one video and where they came from."""

    path: str
    clips: np.ndarray  # uint8 (N, T, size, size, 3) RGB
    frame_indices: np.ndarray  # int64 (N, T) indices into the source video's frames
    fps: float
    source_size: tuple[int, int]  # (height, width) of the file's frames
    num_frames: int  # decoded frames in the source video


def decode_clips(
    path: str | os.PathLike,
    spec,
    clip_length: int | None = None,
    stride: int | None = None,
    max_clips: int | None = None,
    sampling: str = "consecutive",
) -> DecodedClips:
    """Read ``path`` and cut it into clips the model can take.

    Frames are resized as ``spec`` says while reading (bounded memory for 4K sources) and
    centre-cropped to ``spec.size``. ``sampling="consecutive"`` (the paper's) cuts clips of
    consecutive frames with :func:`clip_indices` (non-overlapping by default, loop-padded when
    the video is shorter than one clip); ``"spread"`` takes one clip of ``clip_length`` frames
    spread evenly over the whole video (how a classifier's video-level prediction is made).

    Args:
        spec: anything with ``size``, ``num_frames``, ``resize_short_side``, ``resize_hw``
            (a :class:`~videoxai.models.spec.ModelSpec`); the network is not needed.
        clip_length: frames per clip T (default ``spec.num_frames``).
        stride: frames between clip starts (default ``clip_length``).
        max_clips: keep at most this many clips, spread evenly over the video.
        sampling: ``"consecutive"`` or ``"spread"`` (then ``stride`` and ``max_clips`` are unused).
    Returns:
        :class:`DecodedClips` with uint8 clips ``(N, T, size, size, 3)``.
    Raises:
        VideoXAIError: the file is missing, empty, not a video or has no decodable frame.
    """
    clip_length = int(clip_length or spec.num_frames)
    if sampling not in ("consecutive", "spread"):
        raise VideoXAIError(f"sampling must be 'consecutive' or 'spread', got {sampling!r}")
    video = read_video(path, transform=frame_transform_for(spec))
    if sampling == "spread":
        indices = even_indices(video.num_frames, clip_length)[None]
    else:
        indices = clip_indices(video.num_frames, clip_length, stride=stride, max_clips=max_clips)
    try:
        clips = center_crop(video.frames[indices], spec.size)
    except ValueError as error:
        raise VideoXAIError(f"frames too small for the model after resizing ({error})", path) from error
    return DecodedClips(
        path=video.path,
        clips=np.ascontiguousarray(clips),
        frame_indices=indices.astype(np.int64),
        fps=video.fps,
        source_size=video.source_size,
        num_frames=video.num_frames,
    )
