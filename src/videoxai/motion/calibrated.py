"""Calibrated selective relevance: a motion test that can say "no", with a stated error rate.

The paper's selective relevance keeps voxels whose temporal gradient exceeds n·σ of the clip's
own spread, so something always passes, even for a model that uses no motion. This test asks
instead whether the explanation of a clip holds more than what a *still copy* of it shows, and
calibrates the answer against a null distribution, as neuroimaging thresholds a voxel map.

For one clip, method and reference frame f (the middle frame):

* the clip's explanation R and the explanation S of its still copy (frame f repeated; same
  class) are put on one scale, the clip's mean |R| over the whole volume. A still copy gets
  other logits; on the clip's scale the relevance that disappears with the motion counts as
  relevance that rested on it (measured: normalising every map on its own scale hides that and
  leaves the motion-trained benchmark model mostly unflagged, docs/calibration.md);
* the *residual* ``D = (R[f] - S[f]) / scale``, spatially smoothed (Gaussian, ``smooth`` × the
  frame size), is what the clip's explanation at frame f shows beyond the still frame's. Both
  maps are read at the same frame index, so a network's temporal padding, which shapes both
  alike, cancels instead of being cut away. A network without a temporal receptive field
  (per-frame 2D convolutions) explains frame f of the clip exactly as frame f alone: D = 0;
* the *null* maps are ``(S[f] - S_shift[f]) / scale``, smoothed the same way, for still copies
  shifted by one pixel (right, down, diagonal, ...): how much the explanation of the still frame
  changes under a displacement of the size of one frame's motion, without any motion. They are
  pooled over the study's clips (one method, one model), because a clip's own three give no
  usable null (the smallest p-value of three samples is 1/4).

Error rates:

* ``fwe`` (family-wise, Nichols & Holmes 2002): the clip's statistic is max |D| over the frame;
  the null distribution is the max |null map| over the pooled null maps. The p-value is
  ``(1 + #{null maxima >= statistic}) / (1 + M)`` and a voxel is kept when its |D| would be
  significant on its own against the same maxima (its FWE-adjusted p <= α), so the map is
  empty exactly when the clip is not flagged.
* ``fdr`` (Benjamini–Hochberg): every voxel gets a p-value against the pooled null voxels; BH at
  α keeps voxels; the clip's p-value is Simes' (the smallest ``p_(i) m / i``).

With M null maps the smallest attainable p-value is ``1 / (1 + M)``: below ``1 / α - 1`` null
maps no clip can be flagged at α, and :attr:`Null.testable` says so.

Arrays: relevance ``(N, T, H, W)`` float; still and shifted maps at the reference frame
``(N, H, W)`` and ``(N, S, H, W)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from videoxai.core.errors import VideoXAIError

ERRORS: tuple[str, ...] = ("fwe", "fdr")
# At most this many pooled null voxels are kept for the FDR's voxel p-values (a seeded sample).
MAX_NULL_VOXELS = 2_000_000


@dataclass(frozen=True)
class CalibrationSettings:
    """The ``selective.calibration`` section.

    Attributes:
        alpha: the error rate (family-wise or false discovery rate).
        error: ``fwe`` (max statistic) or ``fdr`` (Benjamini–Hochberg).
        shifts: one-pixel-shifted still copies per clip in the null (1–5).
        smooth: Gaussian σ of the spatial smoothing, as a share of the frame's size.
    """

    alpha: float = 0.05
    error: str = "fwe"
    shifts: int = 3
    smooth: float = 0.05

    @classmethod
    def from_config(cls, section: dict | None) -> CalibrationSettings:
        section = dict(section or {})
        keys = {"alpha", "error", "shifts", "smooth"}
        settings = cls(**{key: section[key] for key in keys if section.get(key) is not None})
        settings.check()
        return settings

    def check(self) -> None:
        if not 0 < self.alpha < 1:
            raise VideoXAIError(f"selective.calibration.alpha must lie in (0, 1), got {self.alpha}")
        if self.error not in ERRORS:
            raise VideoXAIError(f"selective.calibration.error must be one of {list(ERRORS)}, got {self.error!r}")
        if not 1 <= int(self.shifts) <= 5:
            raise VideoXAIError(f"selective.calibration.shifts must be 1..5, got {self.shifts}")
        if not 0 <= self.smooth < 0.5:
            raise VideoXAIError(f"selective.calibration.smooth must lie in [0, 0.5), got {self.smooth}")

    def sigma_pixels(self, size: int) -> float:
        """The smoothing's σ in pixels for frames ``size`` pixels high."""
        return float(self.smooth) * int(size)


def clip_scale(relevance: np.ndarray) -> np.ndarray:
    """float64 ``(N,)``: each clip's mean |R| over its (T, H, W); 1 where a map is all zero."""
    relevance = np.asarray(relevance)
    if relevance.ndim != 4:
        raise VideoXAIError(f"relevance must be (N, T, H, W), got shape {relevance.shape}")
    scale = np.abs(relevance).reshape(len(relevance), -1).mean(axis=1, dtype=np.float64)
    return np.where(scale > 0, scale, 1.0)


def smooth(maps: np.ndarray, sigma: float) -> np.ndarray:
    """Each ``(H, W)`` map of ``(..., H, W)`` blurred with a Gaussian of ``sigma`` pixels (edges
    replicated); ``sigma`` 0 returns the maps unchanged (as float32)."""
    maps = np.asarray(maps, np.float32)
    if sigma <= 0:
        return maps
    flat = maps.reshape(-1, *maps.shape[-2:])
    blurred = np.stack([cv2.GaussianBlur(plane, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE) for plane in flat])
    return blurred.reshape(maps.shape)


def residual_maps(relevance: np.ndarray, still: np.ndarray, frame: int, sigma: float) -> np.ndarray:
    """``D`` float32 ``(N, H, W)``: the clip's relevance at ``frame`` minus the still copy's, on the
    clip's scale, smoothed.

    Args:
        relevance: float ``(N, T, H, W)``, the clips' explanations.
        still: float ``(N, H, W)``, the still copies' explanations at ``frame``.
    """
    relevance, still = np.asarray(relevance), np.asarray(still)
    if still.shape != (relevance.shape[0], *relevance.shape[2:]):
        raise VideoXAIError(f"still maps {still.shape} do not fit relevance {relevance.shape}")
    scale = clip_scale(relevance)[:, None, None]
    return smooth((relevance[:, frame].astype(np.float64) - still) / scale, sigma)


def null_maps(relevance: np.ndarray, still: np.ndarray, shifted_maps: np.ndarray, sigma: float) -> np.ndarray:
    """float32 ``(N, S, H, W)``: the still copy's map minus each shifted still copy's, on the clip's
    scale, smoothed (``shifted_maps`` ``(N, S, H, W)`` at the reference frame)."""
    still, shifted_maps = np.asarray(still), np.asarray(shifted_maps)
    if shifted_maps.ndim != 4 or shifted_maps.shape[0] != still.shape[0] or shifted_maps.shape[2:] != still.shape[1:]:
        raise VideoXAIError(f"shifted maps {shifted_maps.shape} do not fit still maps {still.shape}")
    scale = clip_scale(relevance)[:, None, None, None]
    return smooth((still[:, None].astype(np.float64) - shifted_maps) / scale, sigma)


@dataclass
class Null:
    """A null distribution pooled over a study's clips, for one method and model.

    Attributes:
        maxima: float64 ``(M,)``, max |null map| of every null map.
        voxels: float64, sorted |null| voxel values (all, or a seeded sample of
            :data:`MAX_NULL_VOXELS`), for the FDR's voxel p-values.
        voxel_count: how many null voxels the sample stands for.
    """

    maxima: np.ndarray
    voxels: np.ndarray
    voxel_count: int

    @property
    def size(self) -> int:
        return int(len(self.maxima))

    @property
    def smallest_p(self) -> float:
        """The smallest p-value the null can give: ``1 / (1 + M)``."""
        return 1.0 / (1 + self.size)

    def testable(self, alpha: float) -> bool:
        """Whether any clip can be flagged at ``alpha`` (``1 / (1 + M) <= alpha``)."""
        return self.size > 0 and self.smallest_p <= alpha

    def fwe_p(self, values: np.ndarray) -> np.ndarray:
        """Family-wise p-values of statistics ``values`` (any shape) against the null maxima."""
        values = np.asarray(values, np.float64)
        if self.size == 0:
            return np.ones_like(values)
        at_least = self.size - np.searchsorted(np.sort(self.maxima), values, side="left")
        return (1.0 + at_least) / (1.0 + self.size)

    def voxel_p(self, values: np.ndarray) -> np.ndarray:
        """Uncorrected p-values of |values| against the pooled null voxels."""
        values = np.asarray(values, np.float64)
        if len(self.voxels) == 0:
            return np.ones_like(values)
        at_least = len(self.voxels) - np.searchsorted(self.voxels, np.abs(values), side="left")
        return (1.0 + at_least) / (1.0 + len(self.voxels))


def build_null(maps: Sequence[np.ndarray], seed: int = 0) -> Null:
    """The pooled null of a study from every clip's :func:`null_maps` (each ``(N, S, H, W)``)."""
    parts = [
        np.abs(np.asarray(block, np.float64)).reshape(-1, *np.shape(block)[-2:]) for block in maps if np.size(block)
    ]
    if not parts:
        return Null(np.zeros(0), np.zeros(0), 0)
    planes = np.concatenate(parts)
    maxima = planes.reshape(len(planes), -1).max(axis=1)
    voxels = planes.reshape(-1)
    count = len(voxels)
    if count > MAX_NULL_VOXELS:
        voxels = np.random.default_rng(seed).choice(voxels, MAX_NULL_VOXELS, replace=False)
    return Null(maxima=maxima, voxels=np.sort(voxels), voxel_count=count)


@dataclass
class CalibratedResult:
    """The calibrated test of a batch of clips for one method.

    Attributes:
        statistic: float64 ``(N,)``, max |D| of each clip (the FWE statistic).
        p_value: float64 ``(N,)``, the clip's p-value (FWE, or Simes' with FDR).
        flagged: bool ``(N,)``, ``p_value <= alpha`` (never when the null cannot reach α).
        mask: bool ``(N, H, W)``, the voxels of the reference frame that pass.
        share: float64 ``(N,)``, the share of the clip's positive relevance at the reference
            frame that the mask keeps (NaN when that frame has none).
    """

    statistic: np.ndarray
    p_value: np.ndarray
    flagged: np.ndarray
    mask: np.ndarray
    share: np.ndarray


def benjamini_hochberg(p_values: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """BH at ``alpha`` over one family of p-values (any shape): the rejected ones (bool, same
    shape) and Simes' combined p-value ``min_i p_(i) m / i``."""
    flat = np.asarray(p_values, np.float64).reshape(-1)
    m = len(flat)
    if m == 0:
        return np.zeros(np.shape(p_values), bool), 1.0
    order = np.argsort(flat, kind="stable")
    ranked = flat[order]
    below = ranked <= alpha * np.arange(1, m + 1) / m
    rejected = np.zeros(m, bool)
    if below.any():
        last = int(np.nonzero(below)[0].max())
        rejected[order[: last + 1]] = True
    simes = float(np.min(ranked * m / np.arange(1, m + 1)))
    return rejected.reshape(np.shape(p_values)), min(1.0, simes)


def calibrated_test(
    residuals: np.ndarray, relevance_at_frame: np.ndarray, null: Null, settings: CalibrationSettings
) -> CalibratedResult:
    """Test clips against a study's pooled null.

    Args:
        residuals: float ``(N, H, W)``, :func:`residual_maps` of the clips.
        relevance_at_frame: float ``(N, H, W)``, the clips' relevance at the reference frame (for
            the kept share).
        null: :func:`build_null` of the study (same method, model and settings).
    """
    residuals = np.asarray(residuals, np.float64)
    magnitude = np.abs(residuals)
    statistic = magnitude.reshape(len(residuals), -1).max(axis=1) if residuals.size else np.zeros(0)
    testable = null.testable(settings.alpha)
    if settings.error == "fwe":
        voxel_p = null.fwe_p(magnitude)
        p_value = null.fwe_p(statistic)
        mask = voxel_p <= settings.alpha
    else:
        voxel_p = null.voxel_p(magnitude)
        mask = np.zeros(residuals.shape, bool)
        p_value = np.ones(len(residuals))
        for clip in range(len(residuals)):
            mask[clip], p_value[clip] = benjamini_hochberg(voxel_p[clip], settings.alpha)
    if not testable:
        mask[:] = False
    flagged = mask.reshape(len(mask), -1).any(axis=1)
    positive = np.maximum(np.asarray(relevance_at_frame, np.float64), 0).reshape(len(residuals), -1)
    total = positive.sum(axis=1)
    kept = (positive * mask.reshape(len(mask), -1)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, kept / np.where(total > 0, total, 1), math.nan)
    return CalibratedResult(statistic=statistic, p_value=p_value, flagged=flagged, mask=mask, share=share)


__all__ = [
    "ERRORS",
    "CalibratedResult",
    "CalibrationSettings",
    "Null",
    "benjamini_hochberg",
    "build_null",
    "calibrated_test",
    "clip_scale",
    "null_maps",
    "residual_maps",
    "smooth",
]
