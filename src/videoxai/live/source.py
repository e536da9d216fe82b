"""Where frames come from: a camera, a video file, a URL or raw frames on standard input.

:func:`open_source` opens one as a :class:`FrameSource` of uint8 RGB ``(H, W, 3)`` frames;
:func:`frame_for_model` resizes and crops each to the model's ``(S, S, 3)``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from videoxai.core.errors import VideoXAIError
from videoxai.data.video import center_crop, frame_transform_for


@dataclass
class FrameSource:
    """Where frames come from. Iterate :meth:`frames` for uint8 RGB ``(H, W, 3)`` frames.

    Attributes:
        description: what the user gave (for messages).
        fps: the source's frame rate when it states one, else None.
        paced: True for files, which are played at their own frame rate; cameras, streams
            and standard input deliver frames at their own pace.
    """

    description: str
    fps: float | None
    paced: bool
    _read: Callable[[], np.ndarray | None] = field(repr=False)
    _release: Callable[[], None] = field(repr=False, default=lambda: None)

    def frames(self) -> Iterator[np.ndarray]:
        try:
            while True:
                frame = self._read()
                if frame is None:
                    return
                yield frame
        finally:
            self._release()

    def close(self) -> None:
        self._release()


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` -> ``(width, height)``."""
    width, separator, height = text.lower().partition("x")
    if not separator or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise VideoXAIError(f"--size must look like WIDTHxHEIGHT (e.g. 320x240), got {text!r}")
    return int(width), int(height)


def _capture_reader(capture: cv2.VideoCapture) -> Callable[[], np.ndarray | None]:
    def read() -> np.ndarray | None:
        ok, frame = capture.read()
        if not ok or frame is None:
            return None
        if frame.ndim == 2:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    return read


def open_source(source: str, size: str | None = None, loop: bool = False, stdin=None) -> FrameSource:
    """Open a camera index (``0``), a device (``/dev/video0``), a video file, a URL, or ``-``.

    ``-`` reads raw RGB frames (``rgb24``, ``W·H·3`` bytes each) from standard input and needs
    ``size="WxH"``. A file is played at its own frame rate, from the start again when ``loop``.
    """
    if source == "-":
        if size is None:
            raise VideoXAIError("--source -: raw frames on standard input need --size WIDTHxHEIGHT")
        width, height = parse_size(size)
        stream = stdin if stdin is not None else sys.stdin.buffer
        frame_bytes = width * height * 3

        def read_raw() -> np.ndarray | None:
            data = bytearray()
            while len(data) < frame_bytes:
                chunk = stream.read(frame_bytes - len(data))
                if not chunk:
                    return None  # end of input; a partial last frame is not a frame
                data.extend(chunk)
            return np.frombuffer(bytes(data), dtype=np.uint8).reshape(height, width, 3)

        return FrameSource("standard input", None, False, read_raw)

    is_camera_index = source.isdigit()
    is_url = "://" in source
    is_device = source.startswith("/dev/")
    if not (is_camera_index or is_url or is_device):
        path = Path(source)
        if not path.exists():
            raise VideoXAIError(
                "no such file (give a video file, a camera index, a /dev/video device, a URL or -)", path
            )
        if path.is_dir():
            raise VideoXAIError("is a directory, not a video file", path)
    capture = cv2.VideoCapture(int(source) if is_camera_index else source)
    if not capture.isOpened():
        capture.release()
        what = "camera" if is_camera_index or is_device else "stream" if is_url else "video file"
        raise VideoXAIError(f"OpenCV cannot open this {what}", source)
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    fps = fps if 0 < fps < 1000 else None
    read = _capture_reader(capture)
    is_file = not (is_camera_index or is_url or is_device)
    if is_file and loop:
        plain_read = read

        def read_looping() -> np.ndarray | None:
            frame = plain_read()
            if frame is None:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                frame = plain_read()
            return frame

        read = read_looping
    return FrameSource(source, fps or (25.0 if is_file else None), is_file, read, capture.release)


def frame_for_model(frame: np.ndarray, spec) -> np.ndarray:
    """Resize an RGB ``(H, W, 3)`` frame as the model's spec says and centre-crop it to ``(S, S, 3)``."""
    resized = frame_transform_for(spec)(frame)
    try:
        return np.ascontiguousarray(center_crop(resized, spec.size))
    except ValueError as error:
        raise VideoXAIError(f"frame too small for the model after resizing ({error})") from None


__all__ = ["FrameSource", "frame_for_model", "open_source", "parse_size"]
