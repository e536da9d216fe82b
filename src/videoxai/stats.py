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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from videoxai.errors import VideoXAIError

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


def _check(values, videos) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    videos = np.asarray(videos, dtype=object).reshape(-1)
    if values.shape != videos.shape:
        raise VideoXAIError(f"bootstrap: {values.size} values but {videos.size} video ids; give one id per value")
    defined = ~np.isnan(values)
    return values[defined], videos[defined]


def bootstrap_mean(
    values,
    videos,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = SEED,
) -> Interval:
    """Clip-weighted mean of ``values`` with a video-level percentile bootstrap interval.

    Args:
        values: float ``(K,)``, one value per clip (NaN = undefined, dropped).
        videos: ``(K,)`` video id of each value (any hashable); clips of one video are
            resampled together.
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
    values, videos = _check(values, videos)
    if values.size == 0:
        return Interval(np.nan, np.nan, np.nan, 0, 0)
    names, index = np.unique(videos.astype(str), return_inverse=True)
    sums = np.bincount(index, weights=values, minlength=names.size)
    counts = np.bincount(index, minlength=names.size).astype(np.float64)
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


def interval_text(interval: Interval, scale: float = 1.0, digits: int = 3) -> str:
    """``"0.412 [0.371, 0.455]"``; ``"–"`` without a mean, the mean alone without an interval."""
    if np.isnan(interval.mean):
        return "–"
    text = f"{interval.mean * scale:.{digits}f}"
    if np.isnan(interval.low):
        return text
    return f"{text} [{interval.low * scale:.{digits}f}, {interval.high * scale:.{digits}f}]"


__all__ = ["LEVEL", "RESAMPLES", "SEED", "Interval", "bootstrap_mean", "interval_text", "paired_difference"]
