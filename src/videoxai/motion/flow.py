"""Dense optical flow of clips with OpenCV's Farnebäck method.

Pairing convention: frame ``t`` carries the flow from ``t`` to ``t + 1``; the last frame of a
clip, which has no successor, carries the flow from ``t - 1`` to ``t`` (a copy of the
previous frame's flow). A one-frame clip has zero flow.
"""

from __future__ import annotations

import cv2
import numpy as np

from videoxai.core.errors import VideoXAIError

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


def split_flow_settings(section: dict | None) -> tuple[dict, dict]:
    """The study's ``flow`` section as (Farnebäck parameters, camera settings).

    The camera settings keep ``compensate`` (False when absent); every other key of the section
    is a Farnebäck parameter, checked by :func:`farneback`.
    """
    params = dict(section or {})
    camera = dict(params.pop("camera", None) or {})
    camera.setdefault("compensate", False)
    return params, camera


def flow_magnitude(flow: np.ndarray) -> np.ndarray:
    """Per-pixel flow length: ``(..., 2)`` (dx, dy) -> float32 ``(...)``."""
    flow = np.asarray(flow, dtype=np.float32)
    return np.hypot(flow[..., 0], flow[..., 1])


# ---------------------------------------------------------------- camera (global) motion

CAMERA_MODELS: tuple[str, ...] = ("affine", "homography")

# A 8 px grid gives ~780 vectors at 224x224: plenty for RANSAC, fast; 1 px of reprojection error
# separates the background's flow (Farnebäck is accurate to a fraction of a pixel on texture)
# from an actor's. The border band is left out of the fit: Farnebäck is unreliable where
# content enters or leaves the frame.
CAMERA_DEFAULTS: dict[str, object] = {"model": "affine", "step": 8, "threshold": 1.0, "fit_margin": 8}


def _camera_settings(settings: dict) -> dict:
    merged = {**CAMERA_DEFAULTS, **settings}
    unknown = set(merged) - set(CAMERA_DEFAULTS)
    if unknown:
        raise VideoXAIError(f"unknown camera-motion setting(s) {sorted(unknown)}; known: {sorted(CAMERA_DEFAULTS)}")
    if merged["model"] not in CAMERA_MODELS:
        raise VideoXAIError(f"camera model must be one of {list(CAMERA_MODELS)}, got {merged['model']!r}")
    for key in ("step", "fit_margin"):
        value = merged[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "step" else 0):
            raise VideoXAIError(f"camera {key} must be an integer >= {1 if key == 'step' else 0}, got {value!r}")
    threshold = merged["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
        raise VideoXAIError(f"camera threshold must be a number > 0 (pixels), got {threshold!r}")
    return merged


def camera_motion_pair(flow: np.ndarray, **settings) -> tuple[np.ndarray, np.ndarray, float]:
    """The global (camera) motion of one flow field, fitted robustly, and what is left of the flow.

    Flow vectors sampled on a grid (every ``step`` pixels, outside a ``fit_margin`` band) give
    point correspondences ``p -> p + flow(p)``; OpenCV's RANSAC fits an affine map
    (``cv2.estimateAffine2D``) or a homography (``cv2.findHomography``) to them with
    ``threshold`` pixels of reprojection error. Where the fit fails (too few points, or a
    degenerate field) the camera is taken as still: identity, inlier share 0.

    Args:
        flow: float ``(H, W, 2)`` (dx, dy) in pixels, from one frame to the next.
        settings: overrides of :data:`CAMERA_DEFAULTS` (``model``, ``step``, ``threshold``,
            ``fit_margin``).
    Returns:
        ``(object_flow, transform, inlier_share)``: float32 ``(H, W, 2)`` the flow minus the
        camera's displacement at every pixel; float64 ``(3, 3)`` the fitted map of pixel
        coordinates (x, y, 1) from one frame to the next; the share of sampled vectors RANSAC
        kept as inliers, in [0, 1].
    """
    settings = _camera_settings(settings)
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise VideoXAIError(f"a flow field must be (H, W, 2), got shape {flow.shape}")
    height, width = flow.shape[:2]
    step, margin = settings["step"], settings["fit_margin"]
    ys = np.arange(margin + step // 2, height - margin, step)
    xs = np.arange(margin + step // 2, width - margin, step)
    grid_y, grid_x = np.meshgrid(ys, xs, indexing="ij")
    source = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(np.float32)
    vectors = flow[grid_y.ravel(), grid_x.ravel()]
    finite = np.isfinite(vectors).all(axis=1)
    source, target = source[finite], source[finite] + vectors[finite]
    transform = np.eye(3)
    inliers = None
    if settings["model"] == "affine" and len(source) >= 3:
        fitted, inliers = cv2.estimateAffine2D(
            source, target, method=cv2.RANSAC, ransacReprojThreshold=float(settings["threshold"]), refineIters=10
        )
        if fitted is not None:
            transform[:2] = fitted
    elif settings["model"] == "homography" and len(source) >= 4:
        fitted, inliers = cv2.findHomography(source, target, cv2.RANSAC, float(settings["threshold"]))
        if fitted is not None and np.isfinite(fitted).all():
            transform = fitted.astype(np.float64)
    share = float(np.count_nonzero(inliers)) / len(source) if inliers is not None and len(source) else 0.0
    if inliers is None or not np.isfinite(transform).all():
        transform, share = np.eye(3), 0.0
    return flow - camera_displacement(transform, height, width), transform, share


def camera_displacement(transform: np.ndarray, height: int, width: int) -> np.ndarray:
    """The displacement a ``(3, 3)`` map of pixel coordinates gives every pixel: float32 ``(H, W, 2)``."""
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float64)
    points = np.stack([grid_x, grid_y, np.ones_like(grid_x)], axis=-1) @ np.asarray(transform, np.float64).T
    # An affine map has a constant third row (0, 0, 1); a homography divides by it.
    moved = points[..., :2] / points[..., 2:3]
    return (moved - np.stack([grid_x, grid_y], axis=-1)).astype(np.float32)


def compensate_camera(flow: np.ndarray, **settings) -> dict[str, np.ndarray]:
    """:func:`camera_motion_pair` for every frame of every clip.

    Args:
        flow: float ``(N, T, H, W, 2)`` Farnebäck flow (as :func:`farneback_clips` gives).
        settings: see :data:`CAMERA_DEFAULTS`.
    Returns:
        ``{"object_flow": float32 (N, T, H, W, 2), "camera_transform": float32 (N, T, 3, 3),
        "camera_inliers": float32 (N, T)}``.
    """
    flow = np.asarray(flow)
    if flow.ndim != 5 or flow.shape[-1] != 2:
        raise VideoXAIError(f"flow must be (N, T, H, W, 2), got shape {flow.shape}")
    _camera_settings(settings)
    residual = np.zeros(flow.shape, np.float32)
    transforms = np.zeros((*flow.shape[:2], 3, 3), np.float32)
    inliers = np.zeros(flow.shape[:2], np.float32)
    for index in np.ndindex(flow.shape[:2]):
        residual[index], transforms[index], inliers[index] = camera_motion_pair(flow[index], **settings)
    return {"object_flow": residual, "camera_transform": transforms, "camera_inliers": inliers}
