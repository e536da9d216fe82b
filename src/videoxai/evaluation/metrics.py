"""How much of an explanation is motion: per-clip evaluation metrics as tidy rows.

Definitions (exact, with edge cases) are in ``docs/metrics.md``; in short, for one clip:

* moving voxels ``I_O``: optical-flow magnitude ``> tau`` (pixels per frame);
* relevant voxels ``I_R``: relevance ``> 0``;
* motion precision ``sum(I_R & I_O) / sum(I_R)``; relevance-weighted precision
  ``sum(R+ * I_O) / sum(R+)``; top-q precision: the same count over the top-q set;
* chance ``sum(I_O) / #voxels``, the precision of a map that picks voxels at random;
* agreement of two methods: intersection over union of their ``R > 0`` sets (and of their
  top-q sets);
* selectivity of a selective map S against its baseline R: ``#(S > 0) / #(R > 0)`` and
  ``sum(S+) / sum(R+)``.

Every array argument may be a numpy array or a torch tensor (any device; it is moved to CPU).
Undefined ratios are NaN, never an exception: a clip with no moving voxel at ``tau`` has NaN
precision (and chance) at that ``tau``, an all-zero map has NaN precision, an empty union NaN IoU.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from videoxai.core.errors import VideoXAIError
from videoxai.core.methods import EXTRA_METHODS, METHODS

# The paper's four in its order, then the other published methods (docs/methods_extra.md), as
# declared in videoxai.core.methods; the random reference row of the faithfulness metrics comes last.
METHOD_ORDER: tuple[str, ...] = METHODS
EXTRA_METHOD_ORDER: tuple[str, ...] = EXTRA_METHODS
REFERENCE_METHOD = "random"
# The centre-of-frame reference of the pointing game (videoxai.evaluation.faithfulness.centre_relevance).
CENTRE_METHOD = "centre"
VARIANTS: tuple[str, ...] = ("baseline", "selective", "calibrated")
# Size-matched controls of a selective (or calibrated) map of k voxels: the baseline's k most
# relevant voxels, and k random voxels of the baseline's positive set (seeded per video, method, n).
MATCHED_METRICS: tuple[str, ...] = ("matched_top_precision", "matched_random_precision")

# Farnebäck magnitude quantiles on the UCF-101 sample at 112x112 (docs/metrics.md): static
# shots stay below ~0.9 px/frame at their 99th percentile, actors move 2-8 px/frame.
DEFAULT_TAUS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
DEFAULT_TOP_Q: tuple[float, ...] = (0.05,)

TIDY_COLUMNS: tuple[str, ...] = (
    "video",
    "clip",
    "method",
    "variant",
    "n",
    "tau",
    "q",
    "other_method",
    "metric",
    "value",
)

PRECISION_METRICS: tuple[str, ...] = ("precision", "weighted_precision", "topq_precision")

# Metrics that are shares, in [0, 1]: their intervals are cut there, and the paired differences
# of two of them at [-1, 1] (videoxai.evaluation.stats.bootstrap_mean, bounds).
SHARE_METRICS: frozenset[str] = frozenset(
    {
        *PRECISION_METRICS,
        *MATCHED_METRICS,
        "chance",
        "recall",
        "iou",
        "topq_iou",
        "relevant_fraction",
        "selectivity_relevance",
        "selectivity_voxels",
        "calibrated_flagged",
        "calibrated_share",
        "calibrated_p",
        "pointing_rate",
    }
)
DIFFERENCE_SUFFIXES: tuple[str, ...] = ("_delta", "_matched_delta")


def metric_bounds(metric: str) -> tuple[float, float] | None:
    """What the clip mean of ``metric`` can take: ``(0, 1)`` for a share, ``(-1, 1)`` for the
    paired difference of two (``<share>_delta``, ``<share>_matched_delta``), else None."""
    if metric in SHARE_METRICS:
        return (0.0, 1.0)
    for suffix in DIFFERENCE_SUFFIXES:
        if metric.endswith(suffix) and metric[: -len(suffix)] in SHARE_METRICS:
            return (-1.0, 1.0)
    return None


# Which flow the motion metrics use: Farnebäck's as it is, or the object motion left after the
# camera's (global) motion is removed (videoxai.motion.flow.compensate_camera).
MOTIONS: tuple[str, ...] = ("raw", "compensated")


def ordered_methods(methods) -> list[str]:
    """Distinct method names: the paper's four in its order, the other known methods, unknown
    names alphabetically, and the references last (``centre``, then ``random``)."""
    present = {str(method) for method in methods if str(method)}
    known = [method for method in (*METHOD_ORDER, *EXTRA_METHOD_ORDER) if method in present]
    references = [method for method in (CENTRE_METHOD, REFERENCE_METHOD) if method in present]
    unknown = sorted(present - set(known) - set(references))
    return known + unknown + references


def _to_numpy(array, name: str) -> np.ndarray:
    # numpy, not torch, does the counting: on these CPUs its bool reductions are ~10x faster.
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    try:
        return np.asarray(array)
    except (TypeError, ValueError) as error:
        raise VideoXAIError(f"cannot be read as a numeric array ({error})", name) from None


def _moving(flow: np.ndarray, tau: float) -> np.ndarray:
    if tau is None or not math.isfinite(float(tau)) or float(tau) < 0:
        raise VideoXAIError(f"must be a finite number >= 0 (pixels per frame), got {tau!r}", "tau")
    flow = flow.astype(np.float32, copy=False)
    # Comparing squared magnitudes avoids a square root per voxel; NaN compares False.
    return np.square(flow[..., 0]) + np.square(flow[..., 1]) > np.float32(tau) ** 2


def _flow_array(flow) -> np.ndarray:
    array = _to_numpy(flow, "flow")
    if array.ndim != 5 or array.shape[-1] != 2:
        raise VideoXAIError(f"expected shape (N, T, H, W, 2), got {tuple(array.shape)}", "flow")
    return array


def moving_mask(flow, tau: float):
    """Voxels whose optical-flow magnitude exceeds ``tau`` pixels per frame.

    Args:
        flow: float ``(N, T, H, W, 2)`` (any float dtype; float16 is fine), displacement
            (dx, dy) in pixels between consecutive frames. NaN flow counts as not moving.
        tau: threshold in pixels per frame, ``>= 0``; strictly greater counts as moving.
    Returns:
        bool ``(N, T, H, W)``: a numpy array for numpy input, a CPU tensor for tensor input.
    """
    mask = _moving(_flow_array(flow), tau)
    return torch.from_numpy(mask) if isinstance(flow, torch.Tensor) else mask


def top_fraction_mask(relevance, q: float):
    """The top-``q`` fraction of voxels of each clip by relevance, restricted to ``R > 0``.

    ``k = ceil(q * T*H*W)`` per clip; the set is ``R >= (k-th largest R) and R > 0``, so ties
    at the threshold are all kept (no arbitrary tie-breaking) and a map with fewer than ``k``
    positive voxels gives just its positive voxels.

    Args:
        relevance: float ``(N, T, H, W)``.
        q: fraction in ``(0, 1]``.
    Returns:
        bool ``(N, T, H, W)``, numpy for numpy input, tensor for tensor input.
    """
    array = _to_numpy(relevance, "relevance")
    if array.ndim != 4:
        raise VideoXAIError(f"expected shape (N, T, H, W), got {tuple(array.shape)}", "relevance")
    mask = _top_mask(array.reshape(array.shape[0], -1).astype(np.float32, copy=False), q).reshape(array.shape)
    return torch.from_numpy(mask) if isinstance(relevance, torch.Tensor) else mask


def _check_fraction(q: float) -> None:
    if q is None or not math.isfinite(float(q)) or not 0 < float(q) <= 1:
        raise VideoXAIError(f"must be a fraction in (0, 1], got {q!r}", "top_q")


def _top_mask(flat: np.ndarray, q: float) -> np.ndarray:
    """Top-q mask of float ``(N, V)`` relevance, bool ``(N, V)``."""
    _check_fraction(q)
    voxels = flat.shape[1]
    # The epsilon keeps 0.07 * 100 = 7.000000000000001 from becoming 8 voxels.
    count = max(1, min(voxels, math.ceil(q * voxels - 1e-9)))
    positive = flat > 0
    thresholds = np.zeros((flat.shape[0], 1), dtype=flat.dtype)
    for clip in range(flat.shape[0]):
        # Selecting among the positive values only: sparse maps are mostly tied zeros,
        # which make a partition of the whole row slow.
        values = flat[clip][positive[clip]]
        if values.size > count:
            thresholds[clip, 0] = np.partition(values, values.size - count)[values.size - count]
    return positive & (flat >= thresholds)


def _ratio(numerator, denominator) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, np.nan)


def intersection_over_union(first, second) -> np.ndarray:
    """IoU per clip of two bool ``(N, ...)`` masks, float64 ``(N,)``; NaN where the union is empty."""
    first = _to_numpy(first, "first").astype(bool, copy=False)
    second = _to_numpy(second, "second").astype(bool, copy=False)
    if first.shape != second.shape:
        raise VideoXAIError(f"masks differ in shape: {first.shape} vs {second.shape}", "agreement")
    first = first.reshape(len(first), -1)
    second = second.reshape(len(second), -1)
    intersection = np.count_nonzero(first & second, axis=1)
    union = np.count_nonzero(first | second, axis=1)
    return _ratio(intersection, union)


class _Rows:
    """Collects tidy rows block by block (one value per clip) and builds one DataFrame."""

    def __init__(self, video: str, clips: int):
        self.video = video
        self.clips = clips
        self.blocks: list[tuple[dict, np.ndarray]] = []

    def add(self, metric, values, *, method="", variant="", n=np.nan, tau=np.nan, q=np.nan, other_method=""):
        values = np.asarray(values, dtype=np.float64).reshape(self.clips)
        keys = dict(
            method=method,
            variant=variant,
            n=float(n),
            tau=float(tau),
            q=float(q),
            other_method=other_method,
            metric=metric,
        )
        self.blocks.append((keys, values))

    def frame(self) -> pd.DataFrame:
        count = len(self.blocks)
        if count == 0:
            return empty_metrics()
        clip = np.arange(self.clips, dtype=np.int64)
        columns = {
            "video": np.full(count * self.clips, self.video, dtype=object),
            "clip": np.tile(clip, count),
        }
        for key in ("method", "variant", "other_method", "metric"):
            columns[key] = np.repeat(np.array([keys[key] for keys, _ in self.blocks], dtype=object), self.clips)
        for key in ("n", "tau", "q"):
            columns[key] = np.repeat(np.array([keys[key] for keys, _ in self.blocks], dtype=np.float64), self.clips)
        columns["value"] = np.concatenate([values for _, values in self.blocks])
        return pd.DataFrame(columns, columns=list(TIDY_COLUMNS))


def empty_metrics() -> pd.DataFrame:
    """A tidy metrics frame with no rows and the right columns and dtypes."""
    return pd.DataFrame(
        {
            "video": pd.Series(dtype=object),
            "clip": pd.Series(dtype=np.int64),
            "method": pd.Series(dtype=object),
            "variant": pd.Series(dtype=object),
            "n": pd.Series(dtype=np.float64),
            "tau": pd.Series(dtype=np.float64),
            "q": pd.Series(dtype=np.float64),
            "other_method": pd.Series(dtype=object),
            "metric": pd.Series(dtype=object),
            "value": pd.Series(dtype=np.float64),
        }
    )


def _relevance_array(array, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Validated float32 ``(N, V)`` view of a ``(N, T, H, W)`` relevance map."""
    relevance = _to_numpy(array, name)
    if relevance.ndim != 4:
        raise VideoXAIError(f"expected relevance of shape (N, T, H, W), got {relevance.shape}", name)
    if relevance.shape != shape:
        raise VideoXAIError(f"shape {relevance.shape} differs from the flow's (N, T, H, W) = {shape}", name)
    relevance = relevance.astype(np.float32, copy=False).reshape(shape[0], -1)
    if not np.isfinite(relevance).all():
        raise VideoXAIError("relevance contains NaN or infinity", name)
    return relevance


def _per_clip(array, name: str, clips: int) -> np.ndarray:
    values = _to_numpy(array, name).astype(np.float64).reshape(-1)
    if values.shape[0] != clips:
        raise VideoXAIError(f"expected one value per clip ({clips}), got {values.shape[0]}", name)
    return values


def _same_n(first: float, second: float) -> bool:
    return (math.isnan(first) and math.isnan(second)) or first == second


def _lookup(sets: dict, method: str, n: float):
    # NaN keys never compare equal, so the baseline entry is found by scanning.
    return next(value for (key_method, key_n), value in sets.items() if key_method == method and _same_n(key_n, n))


class MotionScorer:
    """The motion metrics of maps of one video's clips: which voxels move (at every τ, on the
    frame's interior when a border margin is set), and each map's precision rows against them.

    Args:
        flow: float32 ``(N, T, H, W, 2)``.
        taus, top_q, border_margin: as :func:`compute_clip_metrics` takes them.
        rows: where the rows go.
    """

    def __init__(self, flow: np.ndarray, taus, top_q, border_margin: int, rows: _Rows):
        self.shape = tuple(flow.shape[:4])
        self.clips = self.shape[0]
        if isinstance(border_margin, bool) or not isinstance(border_margin, (int, np.integer)) or border_margin < 0:
            raise VideoXAIError(f"must be an integer >= 0 (pixels), got {border_margin!r}", "border_margin")
        self.margin = int(border_margin)
        height, width = self.shape[2], self.shape[3]
        if 2 * self.margin >= min(height, width):
            raise VideoXAIError(
                f"{self.margin} px at each edge leaves nothing of {height}x{width} frames", "border_margin"
            )
        self.interior = (
            slice(None),
            slice(None),
            slice(self.margin, height - self.margin),
            slice(self.margin, width - self.margin),
        )
        # The motion metrics see only the interior; everything else the whole map.
        flow = flow[self.interior]
        self.voxels = int(np.prod(flow.shape[1:4]))
        self.taus = [float(tau) for tau in taus]
        self.top_q = [float(q) for q in top_q]
        for q in self.top_q:
            _check_fraction(q)
        self.rows = rows
        # All taus at once as (N, K, V) 0/1 matrices, so each map needs one batched product.
        self.moving = (
            np.stack([_moving(flow, tau).reshape(self.clips, -1) for tau in self.taus], axis=1).astype(np.float32)
            if self.taus
            else np.zeros((self.clips, 0, self.voxels), np.float32)
        )
        self.moving_count = self.moving.sum(axis=2, dtype=np.float64)  # (N, K)
        self.has_motion = self.moving_count > 0

    def chance_rows(self) -> None:
        """``chance`` per τ: the share of (interior) voxels that move."""
        for index, tau in enumerate(self.taus):
            chance = np.where(self.has_motion[:, index], self.moving_count[:, index] / self.voxels, np.nan)
            self.rows.add("chance", chance, tau=tau)

    def precision_rows(self, whole: np.ndarray, **keys) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """Precision rows of one map ``(N, V)``; returns its R > 0 mask, top-q masks and
        (#R>0, sum R+) over the whole map (float ``(N, 2)``)."""
        clips = self.clips
        whole_positive = whole > 0
        whole_tops = [_top_mask(whole, q) for q in self.top_q]
        if self.margin:
            flat = np.ascontiguousarray(whole.reshape(self.shape)[self.interior]).reshape(clips, -1)
            positive, tops = flat > 0, [_top_mask(flat, q) for q in self.top_q]
        else:
            flat, positive, tops = whole, whole_positive, whole_tops
        # One batched product of the (N, K, V) moving masks against all the voxel weightings
        # (R > 0, R+, each top-q set) reads the moving masks once. float32 sums of 0/1 are
        # exact; the R+ sum against motion is float32 (relative error ~1e-6), its total float64.
        weightings = np.stack([positive, np.maximum(flat, 0), *tops], axis=1).astype(np.float32)
        # einsum's own loop: multithreaded BLAS is slower here on a busy 2-core machine.
        against_motion = np.einsum("nkv,nmv->nkm", self.moving, weightings)  # (N, K, 2 + len(top_q))
        totals = weightings.sum(axis=2, dtype=np.float64)  # (N, 2 + len(top_q))
        ratios = np.minimum(_ratio(against_motion, totals[:, None, :]), 1.0)
        ratios[~self.has_motion] = np.nan
        whole_totals = (
            np.stack([whole_positive.sum(axis=1), np.maximum(whole, 0).sum(axis=1, dtype=np.float64)], axis=1)
            if self.margin
            else totals[:, :2]
        )
        self.rows.add("relevant_fraction", whole_totals[:, 0] / whole.shape[1], **keys)
        recall = _ratio(against_motion[:, :, 0], self.moving_count)  # (N, K): moving voxels the map covers
        for index, tau in enumerate(self.taus):
            self.rows.add("precision", ratios[:, index, 0], tau=tau, **keys)
            self.rows.add("weighted_precision", ratios[:, index, 1], tau=tau, **keys)
            self.rows.add("recall", np.where(self.has_motion[:, index], recall[:, index], np.nan), tau=tau, **keys)
        for q_index, q in enumerate(self.top_q):
            for index, tau in enumerate(self.taus):
                self.rows.add("topq_precision", ratios[:, index, 2 + q_index], tau=tau, q=q, **keys)
        return whole_positive, whole_tops, whole_totals

    def interior_flat(self, whole: np.ndarray) -> np.ndarray:
        """A map ``(N, V)`` over the whole clip as ``(N, V_interior)`` (itself without a margin)."""
        if not self.margin:
            return whole
        return np.ascontiguousarray(whole.reshape(self.shape)[self.interior]).reshape(self.clips, -1)

    def matched_rows(self, baseline: np.ndarray, selected: np.ndarray, seed: int, **keys) -> None:
        """Size-matched controls of the map ``selected`` (``(N, V)``, k positive voxels per clip):
        the precision of the baseline's k most relevant voxels (``matched_top_precision``) and of k
        random voxels of the baseline's positive set (``matched_random_precision``), per τ. Any
        thinning out of a dense map raises precision; these say how much the temporal selection
        adds beyond the size. NaN where the selected map is empty."""
        base, chosen = self.interior_flat(baseline), self.interior_flat(selected)
        counts = (chosen > 0).sum(axis=1)
        top, random = size_matched_masks(base, counts, seed)
        masks = np.stack([top, random], axis=1).astype(np.float32)
        against = np.einsum("nkv,nmv->nkm", self.moving, masks)  # (N, K, 2)
        sizes = masks.sum(axis=2, dtype=np.float64)  # (N, 2)
        ratios = _ratio(against, sizes[:, None, :])
        ratios[~self.has_motion] = np.nan
        ratios[counts == 0] = np.nan
        for index, tau in enumerate(self.taus):
            self.rows.add("matched_top_precision", ratios[:, index, 0], tau=tau, **keys)
            self.rows.add("matched_random_precision", ratios[:, index, 1], tau=tau, **keys)


def size_matched_masks(baseline: np.ndarray, counts: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """bool ``(N, V)`` twice: per clip the ``counts[clip]`` voxels of ``baseline`` ``(N, V)`` with
    the largest positive relevance (ties in voxel order), and as many random voxels of its positive
    set (seeded); fewer when the baseline has fewer positive voxels."""
    top = np.zeros(baseline.shape, bool)
    random = np.zeros(baseline.shape, bool)
    generator = np.random.default_rng(seed)
    for clip in range(len(baseline)):
        positive = np.flatnonzero(baseline[clip] > 0)
        k = int(min(counts[clip], len(positive)))
        if k == 0:
            continue
        order = positive[np.argsort(-baseline[clip, positive], kind="stable")]
        top[clip, order[:k]] = True
        random[clip, generator.choice(positive, size=k, replace=False)] = True
    return top, random


def top_k_map(baseline: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """The baseline ``(N, T, H, W)`` kept only on its k most relevant voxels per clip, k the number
    of positive voxels of ``selected`` (same shape): a selective map's size-matched control."""
    flat = np.asarray(baseline, np.float32).reshape(len(baseline), -1)
    counts = (np.asarray(selected) > 0).reshape(len(selected), -1).sum(axis=1)
    top, _ = size_matched_masks(flat, counts, seed=0)
    return np.where(top, flat, 0).reshape(np.shape(baseline)).astype(np.float32)


def matched_seed(video: str, method: str, variant: str, n: float) -> int:
    """The seed of a map's random size-matched control: the same for the same video, method,
    variant and n on every run and machine."""
    return zlib.crc32(f"{video}|{method}|{variant}|{float(n)!r}".encode())


def _checked_maps(
    relevance: Mapping[str, object], selective: Mapping[tuple[str, float], object], shape: tuple[int, ...]
) -> tuple[dict[str, np.ndarray], dict[tuple[str, float], np.ndarray]]:
    """The baseline and selective maps as float32 ``(N, V)``, in the paper's method order (selective
    ones by n); a selective map without its baseline is refused."""
    baselines = {
        method: _relevance_array(relevance[method], f"relevance[{method}]", shape)
        for method in ordered_methods(relevance)
    }
    order = {
        method: index for index, method in enumerate(ordered_methods([*relevance, *(key[0] for key in selective)]))
    }
    selective_maps: dict[tuple[str, float], np.ndarray] = {}
    for key in sorted(selective, key=lambda key: (order[str(key[0])], float(key[1]))):
        method, n = str(key[0]), float(key[1])
        if method not in baselines:
            raise VideoXAIError("selective map given without its baseline relevance", f"selective[{method}, {n:g}]")
        selective_maps[(method, n)] = _relevance_array(selective[key], f"selective[{method}, {n:g}]", shape)
    return baselines, selective_maps


def _checked_calibrated(calibrated, baselines: Mapping[str, np.ndarray], shape) -> dict[str, np.ndarray]:
    """The calibrated maps as float32 ``(N, V)`` in the paper's method order; each needs its baseline."""
    maps = {}
    for method in ordered_methods(calibrated or {}):
        if method not in baselines:
            raise VideoXAIError("calibrated map given without its baseline relevance", f"calibrated[{method}]")
        maps[method] = _relevance_array(calibrated[method], f"calibrated[{method}]", shape)
    return maps


def _selectivity_rows(
    rows: _Rows, variant: str, method: str, n: float, selective_totals: np.ndarray, baseline_totals: np.ndarray
):
    """Selective (or calibrated) / baseline: positive voxels and positive relevance, per clip."""
    keys = dict(method=method, variant=variant, n=n)
    rows.add("selectivity_voxels", _ratio(selective_totals[:, 0], baseline_totals[:, 0]), **keys)
    rows.add("selectivity_relevance", _ratio(selective_totals[:, 1], baseline_totals[:, 1]), **keys)


def _agreement_rows(rows: _Rows, baselines, selective_maps, positive_sets, top_q: list[float]) -> None:
    """IoU of every unordered pair of methods' R > 0 and top-q sets, per variant (selective: same n);
    each pair once, method before other_method in paper order."""
    variants = [("baseline", math.nan)] + sorted({("selective", n) for _, n in selective_maps}, key=lambda v: v[1])
    for variant, n in variants:
        present = [
            method for method in baselines if any(key[0] == method and _same_n(key[1], n) for key in positive_sets)
        ]
        for first_index, first in enumerate(present):
            for second in present[first_index + 1 :]:
                first_positive, first_tops, _ = _lookup(positive_sets, first, n)
                second_positive, second_tops, _ = _lookup(positive_sets, second, n)
                keys = dict(method=first, other_method=second, variant=variant, n=n)
                rows.add("iou", intersection_over_union(first_positive, second_positive), **keys)
                for q, first_top, second_top in zip(top_q, first_tops, second_tops):
                    rows.add("topq_iou", intersection_over_union(first_top, second_top), q=q, **keys)


def _timing_rows(rows: _Rows, seconds, selective_seconds, clips: int, variant: str = "selective") -> None:
    """Seconds of each method alone (once, with ``variant`` selective) and with the selection
    step of ``variant``, and that step's overhead."""
    seconds = dict(seconds or {})
    if variant == "selective":
        for method in ordered_methods(seconds):
            base = _per_clip(seconds[method], f"seconds[{method}]", clips)
            rows.add("seconds", base, method=method, variant="baseline")
    for key, extra in (selective_seconds or {}).items():
        method, n = (str(key[0]), float(key[1])) if isinstance(key, tuple) else (str(key), math.nan)
        if method not in seconds:
            raise VideoXAIError(
                "selective_seconds given without the baseline seconds of the method", f"selective_seconds[{method}]"
            )
        base = _per_clip(seconds[method], f"seconds[{method}]", clips)
        extra = _per_clip(extra, f"{variant}_seconds[{method}]", clips)
        rows.add("seconds", base + extra, method=method, variant=variant, n=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            overhead = np.where(base > 0, extra / np.where(base > 0, base, 1.0), np.nan)
        rows.add("overhead", overhead, method=method, variant=variant, n=n)


def compute_clip_metrics(
    *,
    video: str,
    relevance: Mapping[str, object],
    selective: Mapping[tuple[str, float], object],
    flow,
    taus: Sequence[float],
    top_q: Sequence[float],
    seconds: Mapping[str, object] | None = None,
    selective_seconds: Mapping[object, object] | None = None,
    labels=None,
    predicted=None,
    border_margin: int = 0,
    motion: str = "raw",
    calibrated: Mapping[str, object] | None = None,
    calibrated_seconds: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """All metrics of one video's clips, as tidy long-format rows.

    Args:
        video: identifier written to the ``video`` column (e.g. the file stem).
        relevance: method name -> float ``(N, T, H, W)`` baseline relevance.
        selective: ``(method, n)`` -> float ``(N, T, H, W)`` selective relevance (zero outside
            the selected voxels); every method here must also be in ``relevance``.
        flow: float ``(N, T, H, W, 2)`` Farnebäck flow in pixels per frame, same clips.
        taus: motion thresholds in pixels per frame (a sweep; see ``DEFAULT_TAUS``).
        top_q: fractions for the top-q precision and IoU (see ``DEFAULT_TOP_Q``).
        seconds: method -> float ``(N,)`` wall-clock seconds of the baseline explanation.
        selective_seconds: method (or ``(method, n)``) -> float ``(N,)`` seconds of the
            selection step alone, on top of ``seconds``; the selective explanation then costs
            ``seconds + selective_seconds``.
        labels, predicted: int ``(N,)`` true and predicted class per clip; a negative label
            means unknown and that clip gets no ``correct`` row.
        border_margin: pixels at each edge of every frame left out of the motion metrics
            (``precision``, ``weighted_precision``, ``topq_precision``, ``chance``): they are
            computed on the ``(T, H - 2m, W - 2m)`` interior, as if the clip were cropped to it
            (the top-q set too). Agreement, selectivity and ``relevant_fraction`` use whole maps.
        motion: ``"raw"`` or ``"compensated"``: which flow ``flow`` is (the raw Farnebäck flow or
            the object motion left after removing the camera's); recorded, with the margin, in
            the per-clip rows ``motion_compensated`` (1 or 0) and ``border_margin`` (pixels).
        calibrated: method -> float ``(N, T, H, W)`` the calibrated test's map (variant
            ``calibrated``, n NaN), scored like a selective map.
        calibrated_seconds: method -> float ``(N,)`` seconds of the calibrated test on top of
            ``seconds`` (its still copies' explanations and the test).
    Returns:
        DataFrame with columns ``TIDY_COLUMNS`` (schema in ``docs/metrics.md``): ``clip`` is
        0..N-1, ``n`` is NaN for baseline rows, ``tau``/``q`` NaN where they do not apply,
        ``method``/``variant`` are ``""`` on per-clip rows (``chance``, ``correct``).
    """
    flow = _flow_array(flow)
    shape = tuple(flow.shape[:4])
    clips = shape[0]
    if motion not in MOTIONS:
        raise VideoXAIError(f"must be one of {list(MOTIONS)}, got {motion!r}", "motion")
    rows = _Rows(str(video), clips)
    scorer = MotionScorer(flow, taus, top_q, border_margin, rows)
    rows.add("motion_compensated", np.full(clips, float(motion == "compensated")))
    rows.add("border_margin", np.full(clips, float(scorer.margin)))
    scorer.chance_rows()

    baselines, selective_maps = _checked_maps(relevance, selective, shape)
    positive_sets: dict[tuple[str, float], tuple[np.ndarray, list[np.ndarray], np.ndarray]] = {}
    for method, flat in baselines.items():
        positive_sets[(method, math.nan)] = scorer.precision_rows(flat, method=method, variant="baseline")
    for (method, n), flat in selective_maps.items():
        positive_sets[(method, n)] = scorer.precision_rows(flat, method=method, variant="selective", n=n)
        baseline_totals = _lookup(positive_sets, method, math.nan)[2]
        _selectivity_rows(rows, "selective", method, n, positive_sets[(method, n)][2], baseline_totals)
        seed = matched_seed(video, method, "selective", n)
        scorer.matched_rows(baselines[method], flat, seed, method=method, variant="selective", n=n)
    for method, whole in _checked_calibrated(calibrated, baselines, shape).items():
        keys = dict(method=method, variant="calibrated")
        totals = scorer.precision_rows(whole, **keys)[2]
        _selectivity_rows(rows, "calibrated", method, math.nan, totals, _lookup(positive_sets, method, math.nan)[2])
        scorer.matched_rows(baselines[method], whole, matched_seed(video, method, "calibrated", math.nan), **keys)
    _agreement_rows(rows, baselines, selective_maps, positive_sets, [float(q) for q in top_q])
    _timing_rows(rows, seconds, selective_seconds, clips)
    _timing_rows(rows, seconds, calibrated_seconds, clips, variant="calibrated")
    if labels is not None and predicted is not None:
        truth = _per_clip(labels, "labels", clips)
        guess = _per_clip(predicted, "predicted", clips)
        rows.add("correct", np.where(truth >= 0, (truth == guess).astype(np.float64), np.nan))

    frame = rows.frame()
    # A clip with an unknown label has no accuracy to report: drop the row rather than keep NaN.
    return frame[~((frame["metric"] == "correct") & frame["value"].isna())].reset_index(drop=True)
