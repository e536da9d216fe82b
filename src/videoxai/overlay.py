"""Relevance drawn over video frames, written as MP4 (OpenCV) or GIF (Pillow).

Frames are uint8 RGB ``(T, H, W, 3)``; relevance is float ``(T, H, W)``, same T, H and W.
Colours: red for positive relevance, blue for negative, blended over the frame with an opacity
proportional to ``|relevance|``, so voxels without relevance (e.g. outside a selective mask)
show the plain frame. One scale per clip (its largest ``|relevance|``) keeps frames comparable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from videoxai.errors import VideoXAIError

POSITIVE_RGB = np.array([255.0, 30.0, 0.0])
NEGATIVE_RGB = np.array([0.0, 90.0, 255.0])
FORMATS = (".mp4", ".gif")


def overlay_relevance(
    frames: np.ndarray, relevance: np.ndarray, scale: float | None = None, opacity: float = 0.75
) -> np.ndarray:
    """Blend relevance ``(T, H, W)`` over frames uint8 ``(T, H, W, 3)``; returns uint8 ``(T, H, W, 3)``.

    ``scale`` is the ``|relevance|`` drawn at full opacity (default: the clip's maximum).
    """
    frames = np.asarray(frames)
    relevance = np.asarray(relevance, dtype=np.float32)
    if frames.ndim != 4 or frames.shape[-1] != 3 or relevance.shape != frames.shape[:3]:
        raise VideoXAIError(
            f"overlay: need frames (T, H, W, 3) and relevance (T, H, W) of the same size, "
            f"got {frames.shape} and {relevance.shape}"
        )
    if scale is None:
        scale = float(np.abs(relevance).max())
    strength = np.clip(np.abs(relevance) / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(relevance)
    colour = np.where(relevance[..., None] >= 0, POSITIVE_RGB, NEGATIVE_RGB)
    alpha = (opacity * strength)[..., None]
    blended = frames.astype(np.float32) * (1.0 - alpha) + colour * alpha
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def enlarge(frames: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscale of ``(T, H, W, 3)`` by an integer factor (relevance stays crisp)."""
    if factor == 1:
        return frames
    return frames.repeat(factor, axis=1).repeat(factor, axis=2)


def label_panel(frames: np.ndarray, label: str, height: int = 18) -> np.ndarray:
    """Add a black band with ``label`` above every frame of ``(T, H, W, 3)``."""
    band = np.zeros((frames.shape[0], height, frames.shape[2], 3), dtype=np.uint8)
    for index in range(band.shape[0]):
        cv2.putText(band[index], label, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([band, frames], axis=1)


def side_by_side(panels: Sequence[np.ndarray], labels: Sequence[str] | None = None, gap: int = 4) -> np.ndarray:
    """Panels uint8 ``(T, H, W_i, 3)`` next to each other, separated by a white gap, optionally labelled."""
    if labels is not None:
        panels = [label_panel(panel, label) for panel, label in zip(panels, labels)]
    pieces = []
    for index, panel in enumerate(panels):
        if index:
            pieces.append(np.full(panel.shape[:2] + (gap, 3), 255, dtype=np.uint8))
        pieces.append(panel)
    return np.ascontiguousarray(np.concatenate(pieces, axis=2))


def write_video(frames: np.ndarray, path: str | os.PathLike, fps: float = 8.0) -> Path:
    """Write uint8 RGB ``(T, H, W, 3)`` to ``.mp4`` ('mp4v' via OpenCV) or ``.gif`` (Pillow, looping)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise VideoXAIError(f"output must end in {' or '.join(FORMATS)}", path)
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise VideoXAIError(f"need frames (T, H, W, 3), got {frames.shape}", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(frame) for frame in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=max(20, round(1000 / fps)), loop=0)
        return path
    height, width = frames.shape[1:3]
    # most MP4 decoders want even sizes; pad one black row/column rather than resample
    padded = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (padded.shape[2], padded.shape[1]))
    if not writer.isOpened():
        raise VideoXAIError("OpenCV cannot open an 'mp4v' writer for this file", path)
    try:
        for frame in padded:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


__all__ = ["FORMATS", "enlarge", "label_panel", "overlay_relevance", "side_by_side", "write_video"]
