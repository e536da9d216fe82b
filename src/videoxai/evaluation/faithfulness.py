"""Faithfulness of relevance maps: deletion / insertion, the pointing game, and smoothness.

* Deletion / insertion (Petsiuk et al. 2018; for video as in Li et al. 2021 and Uchiyama et al.
  2022): voxels (or the cells of a per-frame spatial grid) are ranked by relevance, highest
  first, and removed from the clip in ``steps`` equal portions, being replaced by the baseline
  (deletion), or revealed on top of the baseline (insertion). The target's softmax probability is
  recorded at every step (step 0 = the clip itself / the baseline alone), and the area under that
  curve over the removed fraction in [0, 1] is taken by the trapezoid rule. Lower deletion AUC and
  higher insertion AUC are better. Ties in relevance keep the voxel order (stable sort).
* Pointing game (Zhang et al. 2018): in each annotated frame, is the maximum of the relevance within
  ``tolerance`` pixels of the annotated box (or mask)? hits / (hits + misses) per method.
* Smoothness: mean absolute temporal and spatial differences of the max-normalised map.

Baselines (in the model's preprocessed space): ``"zeros"`` (the dataset mean pixel for
mean-subtracted models, mid grey for [-1, 1] models) and ``"blur"`` (each frame blurred with a
Gaussian of ``blur_sigma`` pixels, colour channels separately).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch
from torch import nn

from videoxai.core.annotations import read_annotations
from videoxai.core.errors import VideoXAIError
from videoxai.evaluation.metrics import TIDY_COLUMNS, empty_metrics
from videoxai.explain.extra_common import blur_frames

BASELINES = ("zeros", "blur")


def random_relevance(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Uniform random relevance float32 of ``shape`` (e.g. ``(N, T, H, W)``): the reference row."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.rand(tuple(shape), generator=generator, dtype=torch.float32)


def centre_relevance(shape: tuple[int, ...]) -> torch.Tensor:
    """The centre-of-frame reference: float32 of ``shape`` ``(N, T, H, W)``, in every frame
    ``1 - d / d_max`` with ``d`` the distance of a pixel centre to the frame's centre.

    Its maximum is the pixel nearest the frame's centre (of four tied ones in an even-sized
    frame, the top-left, the first in row-major order as the pointing game takes it); a map that
    always points at the centre is how far the centre bias of a dataset goes by itself.
    """
    shape = tuple(int(value) for value in shape)
    if len(shape) != 4:
        raise VideoXAIError(f"the centre reference needs a shape (N, T, H, W), got {shape}")
    height, width = shape[2:]
    y = torch.arange(height, dtype=torch.float32) - (height - 1) / 2
    x = torch.arange(width, dtype=torch.float32) - (width - 1) / 2
    distance = torch.hypot(y[:, None], x[None, :])
    plane = 1 - distance / distance.max().clamp_min(1e-12)
    return plane.expand(shape).contiguous()


REFERENCES: tuple[str, ...] = ("random", "centre")


def reference_relevance(name: str, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """A reference map of :data:`REFERENCES` (``random``: :func:`random_relevance` with ``seed``,
    ``centre``: :func:`centre_relevance`), float32 ``(N, T, H, W)``."""
    if name == "random":
        return random_relevance(shape, seed=seed)
    if name == "centre":
        return centre_relevance(shape)
    raise VideoXAIError(f"unknown reference map {name!r}: use one of {list(REFERENCES)}")


def _check_relevance(relevance, inputs: torch.Tensor) -> torch.Tensor:
    relevance = torch.as_tensor(relevance, dtype=torch.float32)
    expected = (inputs.shape[0], *inputs.shape[2:])
    if tuple(relevance.shape) != expected:
        raise VideoXAIError(f"relevance must be (N, T, H, W) = {expected}, got {tuple(relevance.shape)}")
    if not torch.isfinite(relevance).all():
        raise VideoXAIError("relevance contains NaN or infinite values")
    return relevance.to(inputs.device)


def _cell_index(frames: int, height: int, width: int, grid: tuple[int, int] | None, device) -> tuple[torch.Tensor, int]:
    """Cell id of every voxel, int64 ``(T, H, W)``, and the number of cells (voxels if no grid)."""
    if grid is None:
        return torch.arange(frames * height * width, device=device).view(frames, height, width), frames * height * width
    rows, cols = (int(value) for value in grid)
    if rows < 1 or cols < 1 or rows > height or cols > width:
        raise VideoXAIError(f"grid must be (rows, cols) with 1 <= rows <= {height}, 1 <= cols <= {width}, got {grid}")
    row = torch.arange(height, device=device) * rows // height
    col = torch.arange(width, device=device) * cols // width
    time = torch.arange(frames, device=device)
    cells = (time[:, None, None] * rows + row[None, :, None]) * cols + col[None, None, :]
    return cells, frames * rows * cols


def deletion_insertion(
    model: nn.Module,
    inputs: torch.Tensor,
    relevance,
    target,
    steps: int = 16,
    baseline: str = "zeros",
    grid: tuple[int, int] | None = None,
    batch_size: int = 16,
    blur_sigma: float = 10.0,
) -> dict[str, torch.Tensor]:
    """Deletion and insertion curves of relevance maps.

    Args:
        model: the classifier (eval mode), logits ``(B, K)``.
        inputs: float ``(N, C, T, H, W)`` model input.
        relevance: float ``(N, T, H, W)``; higher means more important.
        target: int or int64 ``(N,)``, the class whose softmax probability is tracked.
        steps: K; step k removes / reveals the top ``round(k · V / K)`` units (V voxels or cells).
        baseline: ``"zeros"`` or ``"blur"``.
        grid: ``None`` ranks voxels; ``(rows, cols)`` ranks the cells of that grid in each frame
            by their summed relevance.
        batch_size: perturbed clips per forward pass.
    Returns:
        dict with ``deletion`` and ``insertion`` float64 ``(N, steps + 1)`` curves and
        ``deletion_auc`` and ``insertion_auc`` float64 ``(N,)``.
    """
    if baseline not in BASELINES:
        raise VideoXAIError(f"baseline must be one of {list(BASELINES)}, got {baseline!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise VideoXAIError(f"steps must be a positive integer, got {steps!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise VideoXAIError(f"batch_size must be a positive integer, got {batch_size!r}")
    inputs = inputs.detach().to(torch.float32)
    relevance = _check_relevance(relevance, inputs)
    batch, _, frames, height, width = inputs.shape
    target = torch.as_tensor(target, dtype=torch.int64, device=inputs.device).reshape(-1)
    if target.numel() == 1:
        target = target.expand(batch)
    if target.numel() != batch:
        raise VideoXAIError(f"target: need one class per clip ({batch}), got {target.numel()}")
    reference = torch.zeros_like(inputs) if baseline == "zeros" else blur_frames(inputs, blur_sigma)
    cells, count = _cell_index(frames, height, width, grid, inputs.device)
    # how many of the top-ranked units are removed at each step
    removed_counts = torch.tensor([round(k * count / steps) for k in range(steps + 1)], device=inputs.device)
    curves = {
        "deletion": torch.zeros(batch, steps + 1, dtype=torch.float64),
        "insertion": torch.zeros(batch, steps + 1, dtype=torch.float64),
    }
    with torch.no_grad():
        for clip in range(batch):
            scores = torch.zeros(count, device=inputs.device).index_add_(
                0, cells.reshape(-1), relevance[clip].reshape(-1)
            )
            order = torch.argsort(scores, descending=True, stable=True)
            rank = torch.empty_like(order)
            rank[order] = torch.arange(count, device=inputs.device)
            voxel_rank = rank[cells]  # (T, H, W): 0 = most relevant
            for mode in ("deletion", "insertion"):
                values = []
                for start in range(0, steps + 1, batch_size):
                    chunk = removed_counts[start : start + batch_size]
                    top = (voxel_rank[None] < chunk[:, None, None, None]).unsqueeze(1)  # (B, 1, T, H, W)
                    if mode == "deletion":
                        perturbed = torch.where(top, reference[clip : clip + 1], inputs[clip : clip + 1])
                    else:
                        perturbed = torch.where(top, inputs[clip : clip + 1], reference[clip : clip + 1])
                    logits = model(perturbed).to(torch.float32)
                    values.append(logits.softmax(dim=1)[:, target[clip]])
                curves[mode][clip] = torch.cat(values).to("cpu", torch.float64)
    result = dict(curves)
    for mode in ("deletion", "insertion"):
        result[f"{mode}_auc"] = area_under_curve(curves[mode])
    return result


def area_under_curve(curves: torch.Tensor) -> torch.Tensor:
    """Trapezoid-rule area of ``(N, K + 1)`` curves sampled at 0, 1/K, ..., 1; float64 ``(N,)``."""
    curves = torch.as_tensor(curves, dtype=torch.float64)
    steps = curves.shape[1] - 1
    if steps < 1:
        raise VideoXAIError("a curve needs at least two points")
    return (curves[:, :-1] + curves[:, 1:]).sum(dim=1) / (2 * steps)


# ---------------------------------------------------------------- pointing game


def _distance_to_box(y: float, x: float, box) -> float:
    x1, y1, x2, y2 = box
    dy = max(y1 - y, 0.0, y - y2)
    dx = max(x1 - x, 0.0, x - x2)
    return math.hypot(dx, dy)


def pointing_game(relevance, boxes=None, masks=None, tolerance: float = 15.0) -> tuple[np.ndarray, np.ndarray]:
    """Hits and misses per clip of the pointing game.

    In every annotated frame the position of the relevance maximum (the first one in row-major
    order if there are ties) is a hit if it lies within ``tolerance`` pixels (Euclidean) of an
    annotated box or of a mask pixel. Frames without annotation and frames whose relevance is
    constant (no maximum to point with) are skipped.

    Args:
        relevance: float ``(N, T, H, W)``.
        boxes: float ``(N, T, B, 4)`` boxes (x1, y1, x2, y2) in clip pixels, inclusive, with
            rows of NaN where a frame has fewer boxes (all NaN: not annotated); or ``(N, T, 4)``.
        masks: bool ``(N, T, H, W)``; a frame with no True pixel is not annotated.
        tolerance: pixels (15 as in Zhang et al.).
    Returns:
        (hits, misses), each int64 ``(N,)``.
    """
    relevance = np.asarray(torch.as_tensor(relevance, dtype=torch.float32).cpu())
    if relevance.ndim != 4:
        raise VideoXAIError(f"relevance must be (N, T, H, W), got shape {relevance.shape}")
    if (boxes is None) == (masks is None):
        raise VideoXAIError("pointing game: give either boxes= or masks=")
    batch, frames, height, width = relevance.shape
    hits = np.zeros(batch, np.int64)
    misses = np.zeros(batch, np.int64)
    if boxes is not None:
        boxes = np.asarray(boxes, dtype=np.float64)
        if boxes.ndim == 3:
            boxes = boxes[:, :, None]
        if boxes.shape[:2] != (batch, frames) or boxes.shape[-1] != 4:
            raise VideoXAIError(f"boxes must be (N, T, [B,] 4) = ({batch}, {frames}, ..., 4), got {boxes.shape}")
    else:
        masks = np.asarray(masks, dtype=bool)
        if masks.shape != relevance.shape:
            raise VideoXAIError(f"masks must be (N, T, H, W) = {relevance.shape}, got {masks.shape}")
    for clip in range(batch):
        for t in range(frames):
            frame = relevance[clip, t]
            if boxes is not None:
                frame_boxes = [box for box in boxes[clip, t] if np.all(np.isfinite(box))]
                if not frame_boxes:
                    continue
            elif not masks[clip, t].any():
                continue
            if frame.max() == frame.min():
                continue
            y, x = np.unravel_index(int(np.argmax(frame)), frame.shape)
            if boxes is not None:
                distance = min(_distance_to_box(y, x, box) for box in frame_boxes)
            else:
                mask_y, mask_x = np.nonzero(masks[clip, t])
                distance = float(np.sqrt(((mask_y - y) ** 2 + (mask_x - x) ** 2).min()))
            if distance <= tolerance:
                hits[clip] += 1
            else:
                misses[clip] += 1
    return hits, misses


def clip_boxes(annotation: dict, frame_indices, source_hw: tuple[int, int], spec) -> np.ndarray:
    """Boxes of one video's annotation in the coordinates of its clips.

    Args:
        annotation: one entry of :func:`read_annotations` with ``"boxes"``.
        frame_indices: int ``(N, T)`` source frame of every clip frame.
        source_hw: (height, width) of the source video.
        spec: the model's :class:`~videoxai.models.spec.ModelSpec` (resize, then centre crop).
    Returns:
        float64 ``(N, T, B, 4)`` (x1, y1, x2, y2), NaN rows where a frame has fewer boxes: the
        extent, in clip pixel-centre coordinates, of the source pixels the box covers.

    A box's inclusive source pixels ``x1 .. x2`` cover ``[x1, x2 + 1)`` in edge coordinates
    (pixel ``i`` spans ``[i, i + 1)``), which the resize scales by ``s`` (as ``cv2.resize``
    does: pixel centres ``i + 0.5`` map to ``(i + 0.5) s``) and the centre crop shifts by its
    offset; back in pixel-centre coordinates that is ``[x1 s - 0.5, (x2 + 1) s - 0.5]`` minus
    the offset (``[x1 - 0.5, x2 + 0.5]`` when nothing is resized). A box partly outside the
    crop keeps its outside part (the pointing game measures distances to it all the same).
    """
    frame_indices = np.asarray(frame_indices, dtype=np.int64)
    scale_y, scale_x, top, left = _crop_geometry(source_hw, spec)
    per_frame = annotation.get("boxes", {})
    most = max((len(boxes) for boxes in per_frame.values()), default=1)
    result = np.full((*frame_indices.shape, most, 4), np.nan)
    for index in np.ndindex(frame_indices.shape):
        boxes = per_frame.get(int(frame_indices[index]))
        if boxes is None:
            continue
        mapped = np.empty_like(boxes)
        mapped[:, 0] = boxes[:, 0] * scale_x - 0.5 - left
        mapped[:, 2] = (boxes[:, 2] + 1) * scale_x - 0.5 - left
        mapped[:, 1] = boxes[:, 1] * scale_y - 0.5 - top
        mapped[:, 3] = (boxes[:, 3] + 1) * scale_y - 0.5 - top
        result[index][: len(mapped)] = mapped
    return result


def clip_masks(annotation: dict, frame_indices, spec) -> np.ndarray:
    """Masks of one video's annotation resized and cropped like the clips: bool ``(N, T, size, size)``."""
    import cv2

    masks = annotation["masks"]
    frame_indices = np.asarray(frame_indices, dtype=np.int64)
    source_hw = masks.shape[1:]
    scale_y, scale_x, top, left = _crop_geometry(source_hw, spec)
    resized_hw = (round(source_hw[0] * scale_y), round(source_hw[1] * scale_x))
    result = np.zeros((*frame_indices.shape, spec.size, spec.size), bool)
    for index in np.ndindex(frame_indices.shape):
        frame = int(frame_indices[index])
        if 0 <= frame < len(masks):
            resized = cv2.resize(
                masks[frame].astype(np.uint8), (resized_hw[1], resized_hw[0]), interpolation=cv2.INTER_NEAREST
            )
            result[index] = resized[top : top + spec.size, left : left + spec.size].astype(bool)
    return result


def _crop_geometry(source_hw, spec) -> tuple[float, float, int, int]:
    """(scale_y, scale_x, top, left) of ``videoxai.data.video``'s resize then centre crop."""
    height, width = (int(value) for value in source_hw)
    if spec.resize_hw is not None:
        resized = tuple(spec.resize_hw)
    elif spec.resize_short_side is not None:
        factor = spec.resize_short_side / min(height, width)
        resized = (
            max(spec.resize_short_side, round(height * factor)),
            max(spec.resize_short_side, round(width * factor)),
        )
    else:
        resized = (spec.size, spec.size)
    top = (resized[0] - spec.size) // 2
    left = (resized[1] - spec.size) // 2
    return resized[0] / height, resized[1] / width, top, left


# ---------------------------------------------------------------- smoothness and tidy rows


def spatiotemporal_smoothness(relevance) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute temporal and spatial differences of each max-normalised map.

    Each clip's map is divided by its largest |value| (an all-zero map stays zero); temporal =
    mean |R[t+1] − R[t]|, spatial = mean of all |R[y+1] − R[y]| and |R[x+1] − R[x]| together.
    Lower is smoother; both lie in [0, 2].

    Args:
        relevance: float ``(N, T, H, W)``.
    Returns:
        (temporal, spatial), each float64 ``(N,)``.
    """
    volume = torch.as_tensor(relevance, dtype=torch.float64)
    if volume.ndim != 4:
        raise VideoXAIError(f"relevance must be (N, T, H, W), got shape {tuple(volume.shape)}")
    scale = volume.abs().flatten(1).amax(dim=1).clamp_min(1e-300)
    volume = volume / scale[:, None, None, None]
    temporal = (
        volume.diff(dim=1).abs().flatten(1).mean(dim=1)
        if volume.shape[1] > 1
        else torch.zeros(len(volume), dtype=torch.float64)
    )
    vertical = volume.diff(dim=2).abs().flatten(1)
    horizontal = volume.diff(dim=3).abs().flatten(1)
    spatial = torch.cat([vertical, horizontal], dim=1).mean(dim=1)
    return temporal.numpy(), spatial.numpy()


def faithfulness_rows(
    video: str,
    method: str,
    variant: str = "baseline",
    n: float = float("nan"),
    deletion_insertion_result: dict | None = None,
    pointing: tuple[np.ndarray, np.ndarray] | None = None,
    smoothness: tuple[np.ndarray, np.ndarray] | None = None,
    clips: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Tidy rows (``videoxai.evaluation.metrics.TIDY_COLUMNS``) of one video's faithfulness results.

    Metrics: ``deletion_auc``, ``insertion_auc``, ``pointing_hits``, ``pointing_misses``,
    ``pointing_accuracy`` (NaN where a clip has no annotated frame), ``smoothness_temporal``,
    ``smoothness_spatial``. Use ``method="random"`` / ``"centre"`` for the reference rows.
    """
    blocks: list[tuple[str, np.ndarray]] = []
    if deletion_insertion_result is not None:
        for metric in ("deletion_auc", "insertion_auc"):
            blocks.append((metric, np.asarray(deletion_insertion_result[metric], np.float64)))
    if pointing is not None:
        hits, misses = (np.asarray(value, np.float64) for value in pointing)
        total = hits + misses
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = np.where(total > 0, hits / np.where(total > 0, total, 1), np.nan)
        blocks += [("pointing_hits", hits), ("pointing_misses", misses), ("pointing_accuracy", accuracy)]
    if smoothness is not None:
        blocks += [
            ("smoothness_temporal", np.asarray(smoothness[0], np.float64)),
            ("smoothness_spatial", np.asarray(smoothness[1], np.float64)),
        ]
    if not blocks:
        return empty_metrics()
    count = len(blocks[0][1])
    if any(len(values) != count for _, values in blocks):
        raise VideoXAIError("faithfulness results must all hold one value per clip")
    clip = np.arange(count, dtype=np.int64) if clips is None else np.asarray(list(clips), np.int64)
    rows = {
        "video": np.full(len(blocks) * count, video, dtype=object),
        "clip": np.tile(clip, len(blocks)),
        "method": np.full(len(blocks) * count, method, dtype=object),
        "variant": np.full(len(blocks) * count, variant, dtype=object),
        "n": np.full(len(blocks) * count, float(n)),
        "tau": np.full(len(blocks) * count, np.nan),
        "q": np.full(len(blocks) * count, np.nan),
        "other_method": np.full(len(blocks) * count, "", dtype=object),
        "metric": np.repeat(np.array([metric for metric, _ in blocks], dtype=object), count),
        "value": np.concatenate([values for _, values in blocks]),
    }
    return pd.DataFrame(rows, columns=list(TIDY_COLUMNS))


__all__ = [
    "BASELINES",
    "area_under_curve",
    "REFERENCES",
    "centre_relevance",
    "clip_boxes",
    "clip_masks",
    "deletion_insertion",
    "faithfulness_rows",
    "pointing_game",
    "random_relevance",
    "read_annotations",
    "reference_relevance",
    "spatiotemporal_smoothness",
]
