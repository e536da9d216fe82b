"""Confidence intervals that respect how the data were sampled: resample videos, not clips.

Clips cut from one video share its scene, camera and actors, so they are not independent
draws; a bootstrap over clips would give intervals that are too narrow. Every interval here
is a *cluster* (video-level) percentile bootstrap:

1. the unique videos are drawn with replacement, as many as there are;
2. each drawn video contributes all of its clips, so the statistic is the clip-weighted mean
   of the resample (the same mean the tables report when nothing is resampled);
3. the interval is the (α/2, 1 − α/2) percentiles of that mean over ``resamples`` draws.

Everything is seeded, so the same data and seed give the same interval twice. Missing values
(NaN) are dropped before resampling, and a video with no defined value does not take part.
A pooled ratio (e.g. hits / frames summed over clips) is the same estimator with per-clip
``weights``: the weighted mean of the per-clip ratios, resampled by video in the same way.

A study's ``metrics.bootstrap`` section (``resamples``, ``level``, ``seed``) is read by
:func:`bootstrap_settings`; :func:`group_intervals` applies the bootstrap to every group of a
long table, the way the study's tables and figures summarise their rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from videoxai.core.errors import VideoXAIError

# Defaults of every table: 2,000 resamples keep the percentile endpoints' Monte-Carlo error
# well below the third decimal the tables print for the group sizes of a study.
RESAMPLES = 2000
LEVEL = 0.95
SEED = 0


@dataclass(frozen=True)
class Interval:
    """A mean with its bootstrap interval.

    Attributes:
        mean: clip-weighted mean of the defined values (NaN when there are none).
        low, high: the interval's endpoints (NaN with fewer than two videos: one video
            cannot say how videos vary).
        clips: how many defined values entered.
        videos: how many videos they came from.
    """

    mean: float
    low: float
    high: float
    clips: int
    videos: int


def bootstrap_settings(settings: Mapping | None = None) -> dict:
    """``{"resamples", "level", "seed"}`` from a ``metrics.bootstrap`` mapping, defaults filled.

    Raises:
        VideoXAIError: for an unknown key or a value out of range, naming ``metrics.bootstrap.<key>``.
    """
    settings = dict(settings or {})
    unknown = sorted(set(settings) - {"resamples", "level", "seed"})
    if unknown:
        raise VideoXAIError(
            f"unknown key {unknown[0]!r}: the bootstrap takes resamples, level and seed",
            f"metrics.bootstrap.{unknown[0]}",
        )
    checked = {"resamples": RESAMPLES, "level": LEVEL, "seed": SEED, **settings}
    if isinstance(checked["resamples"], bool) or not isinstance(checked["resamples"], int) or checked["resamples"] < 1:
        raise VideoXAIError(
            f"must be an integer of at least 1, got {checked['resamples']!r}", "metrics.bootstrap.resamples"
        )
    if not isinstance(checked["level"], (int, float)) or not 0.0 < float(checked["level"]) < 1.0:
        raise VideoXAIError(f"must lie in (0, 1), got {checked['level']!r}", "metrics.bootstrap.level")
    if isinstance(checked["seed"], bool) or not isinstance(checked["seed"], int):
        raise VideoXAIError(f"must be an integer, got {checked['seed']!r}", "metrics.bootstrap.seed")
    checked["level"] = float(checked["level"])
    return checked


def describe_settings(settings: Mapping | None = None) -> str:
    """One clause for a caption: ``"95% interval: percentile bootstrap resampling videos (2000 resamples, seed 0)"``."""
    settings = bootstrap_settings(settings)
    return (
        f"{settings['level'] * 100:g}% interval: percentile bootstrap resampling videos "
        f"({settings['resamples']} resamples, seed {settings['seed']})"
    )


def _check(values, videos, weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    videos = np.asarray(videos, dtype=object).reshape(-1)
    if values.shape != videos.shape:
        raise VideoXAIError(f"bootstrap: {values.size} values but {videos.size} video ids; give one id per value")
    if weights is None:
        weights = np.ones_like(values)
    else:
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        if weights.shape != values.shape:
            raise VideoXAIError(
                f"bootstrap: {values.size} values but {weights.size} weights; give one weight per value"
            )
        if (weights < 0).any():
            raise VideoXAIError("bootstrap: weights must not be negative")
    # A clip of weight 0 (e.g. no annotated frame) carries no information, like an undefined one.
    defined = ~np.isnan(values) & ~np.isnan(weights) & (weights > 0)
    return values[defined], videos[defined], weights[defined]


def bootstrap_mean(
    values,
    videos,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = SEED,
    weights=None,
) -> Interval:
    """Clip-weighted mean of ``values`` with a video-level percentile bootstrap interval.

    Args:
        values: float ``(K,)``, one value per clip (NaN = undefined, dropped).
        videos: ``(K,)`` video id of each value (any hashable); clips of one video are
            resampled together.
        weights: optional float ``(K,)`` ≥ 0, the weight of each clip in the mean (default 1
            each); a clip of weight 0 is dropped like an undefined one, and ``clips`` counts
            the clips of positive weight.
        resamples: number of bootstrap draws (≥ 1).
        level: coverage of the interval, in (0, 1).
        seed: seed of the draws; the same inputs and seed give the same interval.
    Returns:
        :class:`Interval`. A constant column gives a zero-width interval at the constant.
    """
    if resamples < 1:
        raise VideoXAIError(f"bootstrap: resamples must be at least 1, got {resamples}")
    if not 0.0 < level < 1.0:
        raise VideoXAIError(f"bootstrap: level must lie in (0, 1), got {level}")
    values, videos, weights = _check(values, videos, weights)
    if values.size == 0:
        return Interval(np.nan, np.nan, np.nan, 0, 0)
    names, index = np.unique(videos.astype(str), return_inverse=True)
    sums = np.bincount(index, weights=values * weights, minlength=names.size)
    counts = np.bincount(index, weights=weights, minlength=names.size)
    mean = float(sums.sum() / counts.sum())
    if names.size < 2:
        return Interval(mean, np.nan, np.nan, int(values.size), int(names.size))
    generator = np.random.default_rng(seed)
    draws = generator.integers(0, names.size, size=(resamples, names.size))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    # A constant column must give exactly the constant, not a rounding neighbour of it.
    low, high = min(float(low), mean), max(float(high), mean)
    return Interval(mean, low, high, int(values.size), int(names.size))


def paired_difference(
    first,
    second,
    videos,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = SEED,
) -> Interval:
    """Mean of ``first - second`` over clips where both are defined, with its video-level interval.

    Pairing (the same clip under, say, baseline and selective relevance) removes the variation
    between videos that both share, so the difference's interval is narrower than the two
    separate intervals suggest; an interval that excludes 0 is a difference the data support.

    Args:
        first, second: float ``(K,)``, aligned per clip.
        videos: ``(K,)`` video id of each clip.
    """
    first = np.asarray(first, dtype=np.float64).reshape(-1)
    second = np.asarray(second, dtype=np.float64).reshape(-1)
    if first.shape != second.shape:
        raise VideoXAIError(
            f"paired difference: {first.size} and {second.size} values; the two must be aligned per clip"
        )
    return bootstrap_mean(first - second, videos, resamples=resamples, level=level, seed=seed)


def interval_text(interval: Interval, scale: float = 1.0, digits: int = 3, *, signed: bool = False) -> str:
    """``"0.412 [0.371, 0.455]"``; ``"–"`` without a mean, the mean alone without an interval.

    ``signed`` writes a sign on every number (``"+0.041 [-0.012, +0.090]"``), for differences.
    """
    if np.isnan(interval.mean):
        return "–"
    sign = "+" if signed else ""

    def number(value: float) -> str:
        value = value * scale
        # -0.000 would read as a direction the data do not have.
        return f"{0.0 if round(value, digits) == 0 else value:{sign}.{digits}f}"

    text = number(interval.mean)
    if np.isnan(interval.low):
        return text
    return f"{text} [{number(interval.low)}, {number(interval.high)}]"


def group_intervals(
    frame: pd.DataFrame,
    by: Sequence[str],
    column: str = "value",
    *,
    video: str = "video",
    weights: str | None = None,
    settings: Mapping | None = None,
) -> pd.DataFrame:
    """:func:`bootstrap_mean` of ``column`` in every group of ``frame``.

    Args:
        frame: a long table with the columns ``by``, ``column``, ``video`` (and ``weights``).
        by: grouping columns (NaN keys are kept as a group of their own).
        settings: ``metrics.bootstrap`` mapping (see :func:`bootstrap_settings`).
    Returns:
        One row per group in order of first appearance: the ``by`` columns, then ``mean``,
        ``low``, ``high`` (float64), ``clips``, ``videos`` (int).
    """
    settings = bootstrap_settings(settings)
    rows = []
    for key, group in frame.groupby(list(by), sort=False, dropna=False):
        interval = bootstrap_mean(
            group[column].to_numpy(),
            group[video].to_numpy(),
            weights=None if weights is None else group[weights].to_numpy(),
            **settings,
        )
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, interval.mean, interval.low, interval.high, interval.clips, interval.videos))
    return pd.DataFrame(rows, columns=[*by, "mean", "low", "high", "clips", "videos"])


def excludes_zero(interval: Interval) -> bool:
    """Whether the interval lies wholly on one side of 0: a difference the data support."""
    return bool(interval.low > 0 or interval.high < 0)


__all__ = [
    "LEVEL",
    "RESAMPLES",
    "SEED",
    "Interval",
    "bootstrap_mean",
    "bootstrap_settings",
    "describe_settings",
    "excludes_zero",
    "group_intervals",
    "interval_text",
    "paired_difference",
]
