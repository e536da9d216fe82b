"""Confidence intervals that respect how the data were sampled: videos, not clips, are the draws.

Clips cut from one video share its scene, camera and actors, so they are not independent
draws; an interval over clips would be too narrow. Every interval here treats the *video* as
the unit (a cluster): each video contributes the sum of its clips' values and its number of
clips, and the statistic is the clip-weighted mean (the same mean the tables report). Three
methods (``metrics.bootstrap.method``):

* ``t`` (default): the clip-weighted mean ± t(1 − α/2, videos − 1) × its standard error
  between videos, ``se² = G/(G − 1) · Σ_g (s_g − mean · c_g)² / (Σ_g c_g)²`` over the G videos
  (``s_g`` the sum and ``c_g`` the number of clips of video g). With the same number of clips
  in every video this is exactly the one-sample t interval on the video means. No draws.
* ``percentile``: a cluster bootstrap: the videos are drawn with replacement (as many as
  there are), each drawn video brings all its clips, and the interval is the (α/2, 1 − α/2)
  percentiles of the resampled means over ``resamples`` draws.
* ``bca``: the same draws, with Efron's bias correction (from the share of resampled means
  below the mean) and acceleration (from the jackknife that leaves out one video at a time).

Why ``t``: a bootstrap interval lies within the range of the video means, so with G videos
whose means are symmetric about the truth it misses with probability at least 2 · 2^−G
(12.5 % at 4 videos); and its spread is that of the video means' variance with divisor G
instead of G − 1, read with normal instead of t(G − 1) quantiles. Both make it too short with
few videos. ``benchmarks/interval_coverage.py`` measures
the three (docs/metrics.md quotes its table).

Everything is deterministic: the bootstrap methods are seeded, so the same data and seed give
the same interval twice. Missing values (NaN) are dropped, and a video with no defined value
does not take part. A pooled ratio (e.g. hits / frames summed over clips) is the same
estimator with per-clip ``weights``: the weighted mean of the per-clip ratios, with
``s_g`` and ``c_g`` the weighted sums.

A study's ``metrics.bootstrap`` section (``method``, ``resamples``, ``level``, ``seed``) is
read by :func:`bootstrap_settings`; :func:`group_intervals` applies :func:`bootstrap_mean` to
every group of a long table, the way the study's tables and figures summarise their rows;
:func:`verdict` says what a difference's interval lets the report claim.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from videoxai.core.errors import VideoXAIError

# Defaults of every table: 2,000 resamples keep the bootstrap endpoints' Monte-Carlo error
# well below the third decimal the tables print for the group sizes of a study.
RESAMPLES = 2000
LEVEL = 0.95
SEED = 0
# The t interval holds its level with few videos where the bootstrap methods do not
# (benchmarks/results/cpu-interval-coverage.md).
METHODS = ("t", "bca", "percentile")
METHOD = "t"
# Below this many videos the report does not say whether the data support a difference.
MIN_VIDEOS = 10

_NORMAL = NormalDist()


@dataclass(frozen=True)
class Interval:
    """A mean with its interval.

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
    """``{"resamples", "level", "seed", "method"}`` from a ``metrics.bootstrap`` mapping, defaults filled.

    Raises:
        VideoXAIError: for an unknown key or a value out of range, naming ``metrics.bootstrap.<key>``.
    """
    settings = dict(settings or {})
    unknown = sorted(set(settings) - {"resamples", "level", "seed", "method"})
    if unknown:
        raise VideoXAIError(
            f"unknown key {unknown[0]!r}: the intervals take method, resamples, level and seed",
            f"metrics.bootstrap.{unknown[0]}",
        )
    checked = {"resamples": RESAMPLES, "level": LEVEL, "seed": SEED, "method": METHOD, **settings}
    if isinstance(checked["resamples"], bool) or not isinstance(checked["resamples"], int) or checked["resamples"] < 1:
        raise VideoXAIError(
            f"must be an integer of at least 1, got {checked['resamples']!r}", "metrics.bootstrap.resamples"
        )
    if not isinstance(checked["level"], (int, float)) or not 0.0 < float(checked["level"]) < 1.0:
        raise VideoXAIError(f"must lie in (0, 1), got {checked['level']!r}", "metrics.bootstrap.level")
    if isinstance(checked["seed"], bool) or not isinstance(checked["seed"], int):
        raise VideoXAIError(f"must be an integer, got {checked['seed']!r}", "metrics.bootstrap.seed")
    if checked["method"] not in METHODS:
        raise VideoXAIError(
            f"must be one of {', '.join(METHODS)}, got {checked['method']!r}", "metrics.bootstrap.method"
        )
    checked["level"] = float(checked["level"])
    return checked


def describe_settings(settings: Mapping | None = None) -> str:
    """One clause for a caption, naming the method, e.g.
    ``"95% interval: t over videos (df = videos − 1)"`` or
    ``"95% interval: percentile bootstrap resampling videos (2000 resamples, seed 0)"``."""
    settings = bootstrap_settings(settings)
    level = f"{settings['level'] * 100:g}% interval"
    if settings["method"] == "t":
        return f"{level}: t over videos (df = videos − 1)"
    name = {"percentile": "percentile", "bca": "BCa"}[settings["method"]]
    return f"{level}: {name} bootstrap resampling videos ({settings['resamples']} resamples, seed {settings['seed']})"


@functools.lru_cache(maxsize=256)
def t_quantile(probability: float, df: int) -> float:
    """The ``probability`` quantile of Student's t with ``df`` (a positive integer) degrees of freedom.

    The distribution function is the exact finite series for integer ``df`` (Abramowitz & Stegun
    26.7.3–4), inverted by bisection to machine precision; numpy has no t distribution and scipy
    is not a dependency.
    """
    if isinstance(df, bool) or int(df) != df or df < 1:
        raise VideoXAIError(f"t quantile: degrees of freedom must be a positive integer, got {df}")
    if not 0.0 < probability < 1.0:
        raise VideoXAIError(f"t quantile: probability must lie in (0, 1), got {probability}")
    df = int(df)
    if probability < 0.5:
        return -t_quantile(1.0 - probability, df)
    if probability == 0.5:
        return 0.0

    def distribution(x: float) -> float:  # P(T <= x) for x >= 0
        angle = math.atan(x / math.sqrt(df))
        cos2 = math.cos(angle) ** 2
        if df % 2 == 0:
            # A(x) = sin θ (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + ... up to cos^(df−2)θ)
            k = np.arange(1, df // 2)
            series = 1.0 + np.cumprod((2 * k - 1) / (2 * k) * cos2).sum()
            inside = math.sin(angle) * series
        elif df == 1:
            inside = 2.0 * angle / math.pi
        else:
            # A(x) = 2/π (θ + sin θ cos θ (1 + 2/3 cos²θ + 2·4/(3·5) cos⁴θ + ... up to cos^(df−3)θ))
            k = np.arange(1, (df - 1) // 2)
            series = 1.0 + np.cumprod((2 * k) / (2 * k + 1) * cos2).sum()
            inside = 2.0 / math.pi * (angle + math.sin(angle) * math.cos(angle) * series)
        return 0.5 + 0.5 * inside

    low, high = 0.0, 1.0
    while distribution(high) < probability:
        low, high = high, 2.0 * high
    for _ in range(200):
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        low, high = (middle, high) if distribution(middle) < probability else (low, middle)
    return 0.5 * (low + high)


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


def t_interval(sums: np.ndarray, counts: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The t interval of the clip-weighted mean ``sums.sum() / counts.sum()`` over G ≥ 2 videos.

    Args:
        sums: float ``(G,)``, each video's (weighted) sum of values.
        counts: float ``(G,)`` > 0, each video's (weighted) number of clips.
    Returns:
        ``(low, high)``: mean ∓ t(1 − α/2, G − 1) · se, with the between-video standard error
        ``se² = G/(G − 1) · Σ (sums − mean · counts)² / counts.sum()²`` (the sample variance of
        the video means / G when every video has the same count).
    """
    videos = sums.size
    mean = sums.sum() / counts.sum()
    residuals = sums - mean * counts
    error = math.sqrt(videos / (videos - 1) * float((residuals**2).sum())) / counts.sum()
    half = t_quantile(0.5 + level / 2.0, videos - 1) * error
    return float(mean - half), float(mean + half)


def jackknife_acceleration(sums: np.ndarray, counts: np.ndarray) -> float:
    """BCa's acceleration from the jackknife that leaves out one video at a time.

    ``a = Σ d³ / (6 (Σ d²)^1.5)`` with ``d_g`` = mean of the leave-one-out means − the mean without
    video g; 0 when the leave-one-out means are all equal (and for symmetric video means).

    Args:
        sums, counts: float ``(G,)``, G ≥ 2, as in :func:`t_interval`.
    """
    left_out = (sums.sum() - sums) / (counts.sum() - counts)
    deviations = left_out.mean() - left_out
    spread = float((deviations**2).sum())
    if spread == 0.0:
        return 0.0
    return float((deviations**3).sum() / (6.0 * spread**1.5))


def bca_levels(bias: float, acceleration: float, level: float = LEVEL) -> tuple[float, float]:
    """The percentiles BCa reads off the bootstrap distribution: ``Φ(z0 + (z0 + z)/(1 − a (z0 + z)))``
    for ``z = Φ⁻¹(α/2)`` and ``Φ⁻¹(1 − α/2)``; with ``bias`` z0 = 0 and ``acceleration`` a = 0 they are
    the percentile method's ``(α/2, 1 − α/2)``."""
    alpha = (1.0 - level) / 2.0
    result = []
    for z in (_NORMAL.inv_cdf(alpha), _NORMAL.inv_cdf(1.0 - alpha)):
        shifted = bias + z
        denominator = 1.0 - acceleration * shifted
        # Past the pole the adjusted level runs off the end of the distribution.
        result.append(_NORMAL.cdf(bias + shifted / denominator) if denominator > 0 else float(shifted > 0))
    return result[0], result[1]


def _bootstrap_interval(
    sums: np.ndarray, counts: np.ndarray, mean: float, method: str, resamples: int, level: float, seed: int
) -> tuple[float, float]:
    """Percentile or BCa endpoints from ``resamples`` seeded draws of the G videos."""
    generator = np.random.default_rng(seed)
    draws = generator.integers(0, sums.size, size=(resamples, sums.size))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    alpha = (1.0 - level) / 2.0
    levels = (alpha, 1.0 - alpha)
    if method == "bca":
        # Ties count half: with few videos many resamples land exactly on the mean.
        below = (np.count_nonzero(means < mean) + 0.5 * np.count_nonzero(means == mean)) / resamples
        below = min(max(below, 0.5 / resamples), 1.0 - 0.5 / resamples)
        levels = bca_levels(_NORMAL.inv_cdf(below), jackknife_acceleration(sums, counts), level)
    low, high = np.quantile(means, levels)
    return float(low), float(high)


def bootstrap_mean(
    values,
    videos,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = SEED,
    weights=None,
    method: str = METHOD,
    bounds: tuple[float, float] | None = None,
) -> Interval:
    """Clip-weighted mean of ``values`` with a video-level interval (the name is historical: the
    default method, ``t``, draws nothing).

    Args:
        values: float ``(K,)``, one value per clip (NaN = undefined, dropped).
        videos: ``(K,)`` video id of each value (any hashable); the video, not the clip, is the
            independent unit.
        weights: optional float ``(K,)`` ≥ 0, the weight of each clip in the mean (default 1
            each); a clip of weight 0 is dropped like an undefined one, and ``clips`` counts
            the clips of positive weight.
        resamples: number of bootstrap draws (≥ 1; unused by ``t``).
        level: coverage of the interval, in (0, 1).
        seed: seed of the draws (unused by ``t``); the same inputs and seed give the same interval.
        method: ``t``, ``bca`` or ``percentile`` (see the module's docstring).
        bounds: ``(lowest, highest)`` the mean can take (``(0, 1)`` for a share, ``(-1, 1)``
            for a difference of two shares), or None. The t interval is symmetric and, with few
            videos and a mean near a bound, reaches past it (a precision of 0.97 [0.93, 1.02]);
            the interval is cut at the bounds, which keeps its coverage and drops only values
            the quantity cannot take.
    Returns:
        :class:`Interval`. A constant column gives a zero-width interval at the constant; a
        single video gives the mean without an interval.
    """
    if resamples < 1:
        raise VideoXAIError(f"bootstrap: resamples must be at least 1, got {resamples}")
    if not 0.0 < level < 1.0:
        raise VideoXAIError(f"bootstrap: level must lie in (0, 1), got {level}")
    if method not in METHODS:
        raise VideoXAIError(f"bootstrap: method must be one of {', '.join(METHODS)}, got {method!r}")
    values, videos, weights = _check(values, videos, weights)
    if values.size == 0:
        return Interval(np.nan, np.nan, np.nan, 0, 0)
    names, index = np.unique(videos.astype(str), return_inverse=True)
    sums = np.bincount(index, weights=values * weights, minlength=names.size)
    counts = np.bincount(index, weights=weights, minlength=names.size)
    mean = float(sums.sum() / counts.sum())
    if names.size < 2:
        return Interval(mean, np.nan, np.nan, int(values.size), int(names.size))
    if values.min() == values.max():
        # A constant column must give exactly the constant, not a rounding neighbour of it.
        constant = float(values[0])
        return Interval(constant, constant, constant, int(values.size), int(names.size))
    if method == "t":
        low, high = t_interval(sums, counts, level)
    else:
        low, high = _bootstrap_interval(sums, counts, mean, method, resamples, level, seed)
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    # Rounding (or a lopsided bootstrap distribution) must not leave the mean outside its interval.
    low, high = min(low, mean), max(high, mean)
    return Interval(mean, low, high, int(values.size), int(names.size))


def paired_difference(
    first,
    second,
    videos,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = SEED,
    method: str = METHOD,
    bounds: tuple[float, float] | None = None,
) -> Interval:
    """Mean of ``first - second`` over clips where both are defined, with its video-level interval.

    Pairing (the same clip under, say, baseline and selective relevance) removes the variation
    between videos that both share, so the difference's interval is narrower than the two
    separate intervals suggest; an interval that excludes 0 is a difference the data support
    (given enough videos: :func:`verdict`).

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
    return bootstrap_mean(
        first - second, videos, resamples=resamples, level=level, seed=seed, method=method, bounds=bounds
    )


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
    bounds: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """:func:`bootstrap_mean` of ``column`` in every group of ``frame``.

    Args:
        frame: a long table with the columns ``by``, ``column``, ``video`` (and ``weights``).
        by: grouping columns (NaN keys are kept as a group of their own).
        settings: ``metrics.bootstrap`` mapping (see :func:`bootstrap_settings`).
        bounds: what the values can take, as in :func:`bootstrap_mean`.
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
            bounds=bounds,
            **settings,
        )
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, interval.mean, interval.low, interval.high, interval.clips, interval.videos))
    return pd.DataFrame(rows, columns=[*by, "mean", "low", "high", "clips", "videos"])


def excludes_zero(interval: Interval) -> bool:
    """Whether the interval lies wholly on one side of 0 (a difference the data support, given
    enough videos: :func:`verdict`)."""
    return bool(interval.low > 0 or interval.high < 0)


VERDICTS = ("supported", "not supported", "no interval", "too few videos")


def verdict(interval: Interval, videos: int, min_videos: int = MIN_VIDEOS) -> str:
    """What a difference's interval lets a report say, one of :data:`VERDICTS`:

    * ``"too few videos"``: ``videos < min_videos`` (``report.min_videos``); too few for any
      interval method to hold its level, so the report does not claim either way;
    * ``"no interval"``: enough videos by the threshold, but no interval (one video, or no mean);
    * ``"supported"``: the interval excludes 0 (the sign of ``interval.mean`` says which way);
    * ``"not supported"``: the interval contains 0.

    Args:
        interval: the difference with its interval (e.g. a table's ``<metric>_delta_*``).
        videos: how many videos the difference was computed over.
        min_videos: the smallest number of videos for a verdict (≥ 1).
    """
    if isinstance(min_videos, bool) or not isinstance(min_videos, (int, np.integer)) or min_videos < 1:
        raise VideoXAIError(f"must be an integer of at least 1, got {min_videos!r}", "report.min_videos")
    if videos < min_videos:
        return "too few videos"
    if math.isnan(interval.mean) or math.isnan(interval.low) or math.isnan(interval.high):
        return "no interval"
    return "supported" if excludes_zero(interval) else "not supported"


__all__ = [
    "LEVEL",
    "METHOD",
    "METHODS",
    "MIN_VIDEOS",
    "RESAMPLES",
    "SEED",
    "VERDICTS",
    "Interval",
    "bca_levels",
    "bootstrap_mean",
    "bootstrap_settings",
    "describe_settings",
    "excludes_zero",
    "group_intervals",
    "interval_text",
    "jackknife_acceleration",
    "paired_difference",
    "t_interval",
    "t_quantile",
    "verdict",
]
