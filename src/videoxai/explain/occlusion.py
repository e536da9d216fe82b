"""Occlusion sensitivity for video: fixed cuboids, and 3D masks that follow the motion.

``occlusion`` (the baseline, Zeiler & Fergus 2014 in 3D): a ``size`` x ``size`` square,
``temporal_size`` frames long, slides over the clip with strides (``temporal_stride``,
``stride``, ``stride``).

``flow_occlusion`` (Uchiyama et al. 2022, adaptive occlusion sensitivity analysis): the same
squares, but each one's centre is carried from its first frame along the Farnebäck flow, so
the mask follows what moves instead of staying put::

    (y, x)_{t+1} = round((y, x)_t + flow_t(y_t, x_t))      clipped to the frame

and masks whose trajectories have similar flow are merged ``merge`` at a time (union), which
divides the number of forward passes by ``merge``. Grouping is greedy in seed order: each
not yet merged mask takes the ``merge - 1`` others whose per-frame displacements (dx, dy over
the whole clip, 0 where the mask is absent) are nearest in Euclidean distance, ties broken by
seed order (so static masks merge with their raster-order neighbours).

Both score masks the same way, on softmax probabilities of the target class p::

    R = (1 / M) Σ_i (p(x) − p(x_i)) · m_i / mean(m_i),    x_i = x ⊙ (1 − m_i) + b · m_i

with ``b`` = ``baseline`` in *preprocessed* space, default 0: the dataset mean pixel for
mean-subtracted models (C3D) and mid grey for models scaled to [-1, 1] (I3D). The occluded
clips are batched, ``batch_size`` forward passes at a time.

``flow_occlusion_approx`` is the first-order approximation of ``flow_occlusion``:
p(x) − p(x_i) ≈ ∇p(x) · (x − x_i) = Σ (∇p ⊙ (x − b)) ⊙ m_i, so one gradient replaces the M
forward passes.

Seeds: square centres at ``stride / 2 + k · stride`` in each axis, first frames at
``0, temporal_stride, 2 · temporal_stride, ...``; a square covers
``[centre − size // 2, centre − size // 2 + size)`` clipped to the frame and frames
``[t0, min(T, t0 + temporal_size))``.

Flow: ``attribute(inputs, target, flow=None)`` takes float ``(N, T, H, W, 2)`` (dx, dy; frame t
holds t -> t+1, as ``videoxai.motion.flow``); without it, the flow is computed with Farnebäck from the
frames recovered by inverting ``spec``'s preprocessing (so the explainer needs ``spec=``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.explain.base import Explainer, resolve_target
from videoxai.explain.extra_common import check_positive_int, resolve_flow, softmax_scores


@dataclass
class MaskSet:
    """Occlusion masks of one clip as boxes: int64 ``(M, G, T, 4)`` (top, bottom, left, right),
    an empty box (top == bottom) where member g of mask i is absent from frame t. Mask i is the
    union of its G members' boxes in every frame.

    Sums over masks and weighted sums of masks use summed-area tables and inclusion–exclusion
    over the members (the intersection of boxes is a box), so they cost O(M · T · 2^G) instead
    of O(M · T · H · W); only the occluded clips themselves need :meth:`dense`.
    """

    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    def dense(self, start: int, stop: int, height: int, width: int, device="cpu") -> torch.Tensor:
        """Masks ``start:stop`` as float32 ``(B, T, H, W)``, 1 where occluded."""
        boxes = torch.as_tensor(self.boxes[start:stop], device=device)
        rows = torch.arange(height, device=device)
        cols = torch.arange(width, device=device)
        in_rows = (rows >= boxes[..., 0, None]) & (rows < boxes[..., 1, None])  # (B, G, T, H)
        in_cols = (cols >= boxes[..., 2, None]) & (cols < boxes[..., 3, None])  # (B, G, T, W)
        return (in_rows[..., :, None] & in_cols[..., None, :]).any(dim=1).to(torch.float32)

    def _terms(self, device):
        """Inclusion–exclusion terms: (sign, int64 boxes (M, T, 4)) for every non-empty member subset."""
        boxes = torch.as_tensor(self.boxes, device=device)
        members = boxes.shape[1]
        for size in range(1, members + 1):
            for subset in itertools.combinations(range(members), size):
                box = boxes[:, subset[0]]
                for member in subset[1:]:
                    other = boxes[:, member]
                    box = torch.stack(
                        [
                            torch.maximum(box[..., 0], other[..., 0]),
                            torch.minimum(box[..., 1], other[..., 1]),
                            torch.maximum(box[..., 2], other[..., 2]),
                            torch.minimum(box[..., 3], other[..., 3]),
                        ],
                        -1,
                    )
                # an empty intersection becomes a zero-area box
                box[..., 1] = torch.maximum(box[..., 1], box[..., 0])
                box[..., 3] = torch.maximum(box[..., 3], box[..., 2])
                yield (1.0 if size % 2 else -1.0), box

    def sums(self, volume: torch.Tensor) -> torch.Tensor:
        """Σ of ``volume`` ``(T, H, W)`` over each mask, float ``(M,)``."""
        frames = volume.shape[0]
        table = F.pad(volume.cumsum(dim=1).cumsum(dim=2), (1, 0, 1, 0))  # (T, H + 1, W + 1)
        time = torch.arange(frames, device=volume.device)[None, :]
        total = torch.zeros(len(self), dtype=volume.dtype, device=volume.device)
        for sign, box in self._terms(volume.device):
            top, bottom, left, right = box.unbind(-1)
            inside = (
                table[time, bottom, right]
                - table[time, top, right]
                - table[time, bottom, left]
                + table[time, top, left]
            )
            total += sign * inside.sum(dim=1)
        return total

    def paint(self, weights: torch.Tensor, frames: int, height: int, width: int) -> torch.Tensor:
        """Σ_i weights_i · m_i as float ``(T, H, W)``, for ``weights`` ``(M,)``."""
        corners = torch.zeros((frames, height + 1, width + 1), dtype=weights.dtype, device=weights.device)
        time = torch.arange(frames, device=weights.device)[None, :].expand(len(self), frames)
        value = weights[:, None].expand(len(self), frames)
        for sign, box in self._terms(weights.device):
            top, bottom, left, right = box.unbind(-1)
            for rows, cols, corner_sign in (
                (top, left, 1.0),
                (top, right, -1.0),
                (bottom, left, -1.0),
                (bottom, right, 1.0),
            ):
                corners.index_put_((time, rows, cols), sign * corner_sign * value, accumulate=True)
        return corners.cumsum(dim=1).cumsum(dim=2)[:, :height, :width]

    def areas(self, frames: int, height: int, width: int) -> torch.Tensor:
        """Voxels in each mask, float64 ``(M,)``."""
        return self.sums(torch.ones((frames, height, width), dtype=torch.float64))


def seed_grid(frames: int, height: int, width: int, stride: int, temporal_stride: int):
    """Seeds as int64 arrays (t0, y, x), each ``(P,)``, in (t0, y, x) raster order."""
    starts = np.arange(0, frames, temporal_stride)
    ys = np.arange(stride // 2, height, stride)
    xs = np.arange(stride // 2, width, stride)
    t0, y, x = np.meshgrid(starts, ys, xs, indexing="ij")
    return t0.ravel(), y.ravel(), x.ravel()


def track(flow: np.ndarray, t0: np.ndarray, y: np.ndarray, x: np.ndarray, temporal_size: int):
    """Centres of the seeds' squares per frame, int64 ``(P, T, 2)`` (y, x), and bool ``(P, T)``
    presence; flow float ``(T, H, W, 2)`` (dx, dy) carries each centre from its first frame on."""
    frames = flow.shape[0]
    count = len(t0)
    centres = np.zeros((count, frames, 2), np.int64)
    present = np.zeros((count, frames), bool)
    current_y, current_x = y.astype(np.int64).copy(), x.astype(np.int64).copy()
    for t in range(frames):
        active = (t >= t0) & (t < t0 + temporal_size)
        centres[:, t, 0], centres[:, t, 1] = current_y, current_x
        present[:, t] = active
        if t < frames - 1:
            height, width = flow.shape[1:3]
            moved = active & (t + 1 < t0 + temporal_size)
            step = flow[t, current_y, current_x]  # (P, 2) dx, dy
            new_y = np.clip(np.round(current_y + step[:, 1]), 0, height - 1).astype(np.int64)
            new_x = np.clip(np.round(current_x + step[:, 0]), 0, width - 1).astype(np.int64)
            current_y = np.where(moved, new_y, current_y)
            current_x = np.where(moved, new_x, current_x)
    return centres, present


def merge_groups(displacements: np.ndarray, merge: int) -> list[list[int]]:
    """Greedy groups of ``merge`` masks with the nearest displacement vectors ``(P, D)``, in seed order."""
    count = len(displacements)
    if merge == 1:
        return [[index] for index in range(count)]
    features = torch.as_tensor(displacements, dtype=torch.float32)
    free = torch.ones(count, dtype=torch.bool)
    groups = []
    for index in range(count):
        if not free[index]:
            continue
        free[index] = False
        distances = (features - features[index]).square().sum(dim=1)
        distances[~free] = float("inf")
        order = torch.argsort(distances, stable=True)[: merge - 1]
        partners = [int(i) for i in order if torch.isfinite(distances[i])]
        free[partners] = False
        groups.append([index, *partners])
    return groups


def build_masks(
    frames: int,
    height: int,
    width: int,
    size: int,
    stride: int,
    temporal_size: int,
    temporal_stride: int,
    flow: np.ndarray | None = None,
    merge: int = 1,
) -> MaskSet:
    """Fixed cuboids (``flow=None``) or flow-following masks merged ``merge`` at a time."""
    t0, y, x = seed_grid(frames, height, width, stride, temporal_stride)
    if flow is None:
        times = np.arange(frames)
        present = (times[None] >= t0[:, None]) & (times[None] < t0[:, None] + temporal_size)
        centres = np.repeat(np.stack([y, x], axis=1)[:, None], frames, axis=1)
    else:
        centres, present = track(flow, t0, y, x, temporal_size)
    half = size // 2
    top = np.clip(centres[..., 0] - half, 0, height)
    left = np.clip(centres[..., 1] - half, 0, width)
    bottom = np.clip(centres[..., 0] - half + size, 0, height)
    right = np.clip(centres[..., 1] - half + size, 0, width)
    boxes = np.stack([top, bottom, left, right], axis=-1)  # (P, T, 4)
    boxes[~present] = 0
    if merge > 1 and flow is not None:
        steps = np.diff(centres, axis=1, append=centres[:, -1:]).astype(np.float32)
        steps[~present] = 0
        groups = merge_groups(steps.reshape(len(steps), -1), merge)
    else:
        groups = [[index] for index in range(len(boxes))]
    width_of_group = max(len(group) for group in groups)
    merged = np.zeros((len(groups), width_of_group, frames, 4), np.int64)
    for row, group in enumerate(groups):
        merged[row, : len(group)] = boxes[group]
    return MaskSet(merged)


class Occlusion(Explainer):
    """Occlusion sensitivity with fixed cuboids (see the module docstring)."""

    name = "occlusion"
    uses_flow = False
    merge = 1

    def __init__(
        self,
        model: nn.Module,
        spec=None,
        size: int = 16,
        stride: int = 8,
        temporal_size: int = 16,
        temporal_stride: int = 2,
        baseline: float = 0.0,
        batch_size: int = 32,
    ):
        super().__init__(model, spec)
        self.size = check_positive_int(size, "size", self.name)
        self.stride = check_positive_int(stride, "stride", self.name)
        self.temporal_size = check_positive_int(temporal_size, "temporal_size", self.name)
        self.temporal_stride = check_positive_int(temporal_stride, "temporal_stride", self.name)
        self.batch_size = check_positive_int(batch_size, "batch_size", self.name)
        try:
            self.baseline = float(baseline)
        except (TypeError, ValueError):
            raise VideoXAIError(
                f"{self.name}: baseline must be a number (preprocessed value), got {baseline!r}"
            ) from None
        self._flow = None

    def attribute(self, inputs: torch.Tensor, target=None, flow=None):
        """As :meth:`Explainer.attribute`; ``flow`` float ``(N, T, H, W, 2)`` for the flow methods."""
        self._flow = flow
        try:
            return super().attribute(inputs, target)
        finally:
            self._flow = None

    __call__ = attribute

    def masks_for(self, inputs: torch.Tensor) -> list[MaskSet]:
        """One :class:`MaskSet` per clip of ``inputs`` ``(N, C, T, H, W)``."""
        _, _, frames, height, width = inputs.shape
        options = (frames, height, width, self.size, self.stride, self.temporal_size, self.temporal_stride)
        if not self.uses_flow:
            masks = build_masks(*options)
            return [masks] * inputs.shape[0]
        flow = resolve_flow(self._flow, inputs, self.spec, self.name)
        return [build_masks(*options, flow=clip_flow, merge=self.merge) for clip_flow in flow]

    def _attribute(self, inputs, target):
        with torch.no_grad():
            logits = self.model(inputs)
        resolved = resolve_target(target, logits)
        reference = logits.to(torch.float32).softmax(dim=1).gather(1, resolved[:, None])[:, 0]
        relevance = torch.zeros((inputs.shape[0], *inputs.shape[2:]), dtype=torch.float32, device=inputs.device)
        frames, height, width = inputs.shape[2:]
        for clip, masks in enumerate(self.masks_for(inputs)):
            drops = torch.cat(
                [
                    self._drops(
                        inputs[clip],
                        masks.dense(start, start + self.batch_size, height, width, inputs.device),
                        resolved[clip],
                        reference[clip],
                        clip,
                    )
                    for start in range(0, len(masks), self.batch_size)
                ]
            )
            relevance[clip] = self._accumulate(masks, drops, frames, height, width)
        return relevance, logits, resolved

    @staticmethod
    def _accumulate(masks: MaskSet, drops: torch.Tensor, frames: int, height: int, width: int) -> torch.Tensor:
        """(1 / M) Σ_i drops_i · m_i / mean(m_i), float32 ``(T, H, W)``."""
        coverage = (masks.areas(frames, height, width) / (frames * height * width)).to(drops.device)
        weights = drops.to(torch.float64) / coverage.clamp_min(1e-12) / max(len(masks), 1)
        return masks.paint(weights, frames, height, width).to(torch.float32)

    def _drops(self, clip, dense, target, reference, index):
        """p(x) − p(x_i) for a batch of masks ``(B, T, H, W)``, float32 ``(B,)``."""
        keep = 1.0 - dense[:, None]
        occluded = clip[None] * keep + self.baseline * dense[:, None]
        targets = target.expand(len(dense))
        return reference - softmax_scores(self.model, occluded, targets, self.batch_size)


class FlowOcclusion(Occlusion):
    """Occlusion with masks that follow the Farnebäck flow, merged ``merge`` at a time."""

    name = "flow_occlusion"
    uses_flow = True

    def __init__(self, model: nn.Module, spec=None, merge: int = 3, **options):
        super().__init__(model, spec, **options)
        self.merge = check_positive_int(merge, "merge", self.name)


class FlowOcclusionApprox(FlowOcclusion):
    """First-order approximation of :class:`FlowOcclusion`: one gradient instead of M forward passes."""

    name = "flow_occlusion_approx"

    def _attribute(self, inputs, target):
        leaf = inputs.detach().requires_grad_(True)
        logits = self.model(leaf)
        resolved = resolve_target(target, logits)
        probability = logits.to(torch.float32).softmax(dim=1).gather(1, resolved[:, None]).sum()
        (gradient,) = torch.autograd.grad(probability, leaf)
        # ∇p · (x − x_i) = Σ over the mask of ∇p ⊙ (x − b), summed over colour channels
        first_order = (gradient * (inputs - self.baseline)).sum(dim=1)  # (N, T, H, W)
        relevance = torch.zeros_like(first_order)
        frames, height, width = inputs.shape[2:]
        for clip, masks in enumerate(self.masks_for(inputs)):
            drops = masks.sums(first_order[clip].detach().to(torch.float64))
            relevance[clip] = self._accumulate(masks, drops, frames, height, width)
        return relevance, logits.detach(), resolved
