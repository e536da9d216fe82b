"""Dense optical flow of clips with OpenCV's Farnebäck method.

Pairing convention: frame ``t`` carries the flow from ``t`` to ``t + 1``; the last frame of a
clip, which has no successor, carries the flow from ``t - 1`` to ``t`` (a copy of the
previous frame's flow). A one-frame clip has zero flow.
"""

from __future__ import annotations

import cv2
import numpy as np

from videoxai.errors import VideoXAIError

# OpenCV's tutorial values, which the paper uses.
FARNEBACK_DEFAULTS: dict[str, float | int] = {
    "pyr_scale": 0.5,
    "levels": 3,
    "winsize": 15,
    "iterations": 3,
    "poly_n": 5,
    "poly_sigma": 1.2,
}


def farneback_pair(previous: np.ndarray, following: np.ndarray, **params) -> np.ndarray:
    """Flow from ``previous`` to ``following``, both uint8 grayscale ``(H, W)``; float32 ``(H, W, 2)`` (dx, dy)."""
    settings = {**FARNEBACK_DEFAULTS, **params}
    unknown = set(settings) - set(FARNEBACK_DEFAULTS)
    if unknown:
        raise VideoXAIError(f"unknown Farnebäck parameter(s) {sorted(unknown)}; known: {sorted(FARNEBACK_DEFAULTS)}")
    return cv2.calcOpticalFlowFarneback(
        previous,
        following,
        None,
        float(settings["pyr_scale"]),
        int(settings["levels"]),
        int(settings["winsize"]),
        int(settings["iterations"]),
        int(settings["poly_n"]),
        float(settings["poly_sigma"]),
        0,
    )


def farneback(clip: np.ndarray, **params) -> np.ndarray:
    """Farnebäck flow between consecutive frames of one clip.

    Args:
        clip: uint8 ``(T, H, W, 3)`` RGB (or ``(T, H, W)`` grayscale).
        params: Farnebäck settings overriding :data:`FARNEBACK_DEFAULTS`.
    Returns:
        float32 ``(T, H, W, 2)``: ``[..., 0]`` is dx, ``[..., 1]`` is dy, in pixels; frame ``t``
        holds the flow ``t -> t+1``, the last frame the flow ``t-1 -> t``.
    """
    clip = np.asarray(clip)
    if clip.ndim == 4 and clip.shape[-1] == 3:
        gray = np.stack([cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) for frame in clip])
    elif clip.ndim == 3:
        gray = clip
    else:
        raise VideoXAIError(f"a clip must be (T, H, W, 3) RGB or (T, H, W) gray, got shape {clip.shape}")
    if gray.dtype != np.uint8:
        raise VideoXAIError(f"a clip must be uint8, got {gray.dtype}")
    num_frames, height, width = gray.shape
    flow = np.zeros((num_frames, height, width, 2), np.float32)
    for t in range(num_frames - 1):
        flow[t] = farneback_pair(gray[t], gray[t + 1], **params)
    if num_frames >= 2:
        flow[-1] = flow[-2]
    return flow


def farneback_clips(clips: np.ndarray, **params) -> np.ndarray:
    """:func:`farneback` for each clip of uint8 ``(N, T, H, W, 3)``; float32 ``(N, T, H, W, 2)``."""
    clips = np.asarray(clips)
    if clips.ndim != 5:
        raise VideoXAIError(f"clips must be (N, T, H, W, 3), got shape {clips.shape}")
    return (
        np.stack([farneback(clip, **params) for clip in clips])
        if len(clips)
        else np.zeros(clips.shape[:4] + (2,), np.float32)
    )


def flow_magnitude(flow: np.ndarray) -> np.ndarray:
    """Per-pixel flow length: ``(..., 2)`` (dx, dy) -> float32 ``(...)``."""
    flow = np.asarray(flow, dtype=np.float32)
    return np.hypot(flow[..., 0], flow[..., 1])
