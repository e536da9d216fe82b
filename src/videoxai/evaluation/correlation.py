"""Rank correlation across clips, with a video-level bootstrap interval and a one-sided p-value.

Does an explanation's motion measure track what the model does? Per method, the Spearman rank
correlation across clips between a measure of the explanation (the paper's motion share, the
calibrated share, the calibrated test's evidence) and a measure of the model's behaviour (how
much its probability drops on a still or shuffled copy). Clips of one video are not independent,
so the interval resamples videos (each drawn video brings all its clips) and takes percentiles
of the resampled ρ; it is seeded like every interval of the study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from videoxai.core.errors import VideoXAIError


@dataclass(frozen=True)
class Correlation:
    """Spearman's ρ of two per-clip measures with its video-level interval.

    Attributes:
        rho: ρ over the clips with both values (NaN with fewer than three, or a constant one).
        low, high: the interval's endpoints (NaN with fewer than two videos).
        clips, videos: how many clips and videos entered.
    """

    rho: float
    low: float
    high: float
    clips: int
    videos: int


def ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their ranks), 1-based, float64."""
    return pd.Series(np.asarray(values, np.float64)).rank(method="average").to_numpy()


def spearman(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's ρ: Pearson's correlation of the average ranks; NaN when either is constant or
    there are fewer than three pairs."""
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    if len(first) < 3:
        return float("nan")
    a, b = ranks(first), ranks(second)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def bootstrap_spearman(
    first: np.ndarray, second: np.ndarray, videos: np.ndarray, resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> Correlation:
    """ρ of ``first`` and ``second`` (one value per clip) with a percentile interval over
    video-level resamples; pairs with a NaN are left out."""
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    videos = np.asarray(videos)
    if not len(first) == len(second) == len(videos):
        raise VideoXAIError(f"need one value per clip in each, got {len(first)}, {len(second)}, {len(videos)}")
    keep = ~(np.isnan(first) | np.isnan(second))
    first, second, videos = first[keep], second[keep], videos[keep]
    names, codes = np.unique(videos, return_inverse=True)
    rho = spearman(first, second)
    if len(names) < 2 or np.isnan(rho):
        return Correlation(rho, float("nan"), float("nan"), int(len(first)), int(len(names)))
    members = [np.flatnonzero(codes == index) for index in range(len(names))]
    generator = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for draw in range(resamples):
        chosen = np.concatenate([members[index] for index in generator.integers(0, len(names), len(names))])
        draws[draw] = spearman(first[chosen], second[chosen])
    draws = draws[~np.isnan(draws)]
    if not len(draws):
        return Correlation(rho, float("nan"), float("nan"), int(len(first)), int(len(names)))
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return Correlation(rho, float(low), float(high), int(len(first)), int(len(names)))


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """The area under the ROC curve of a score that should be larger for ``positive``: the share
    of (positive, negative) pairs ranked the right way, ties counting half; NaN if either is empty."""
    positive = np.asarray(positive, np.float64)
    negative = np.asarray(negative, np.float64)
    positive, negative = positive[~np.isnan(positive)], negative[~np.isnan(negative)]
    if not len(positive) or not len(negative):
        return float("nan")
    greater = (positive[:, None] > negative[None, :]).mean()
    ties = (positive[:, None] == negative[None, :]).mean()
    return float(greater + 0.5 * ties)


def bootstrap_auroc(
    positive: np.ndarray,
    negative: np.ndarray,
    positive_videos: np.ndarray,
    negative_videos: np.ndarray,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """AUROC with a percentile interval that resamples the videos of each group separately."""
    positive, negative = np.asarray(positive, np.float64), np.asarray(negative, np.float64)
    value = auroc(positive, negative)
    groups = []
    for scores, videos in ((positive, np.asarray(positive_videos)), (negative, np.asarray(negative_videos))):
        names, codes = np.unique(videos, return_inverse=True)
        groups.append((scores, [np.flatnonzero(codes == index) for index in range(len(names))]))
    if any(len(members) < 2 for _, members in groups) or np.isnan(value):
        return value, float("nan"), float("nan")
    generator = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for draw in range(resamples):
        resampled = []
        for scores, members in groups:
            chosen = np.concatenate([members[index] for index in generator.integers(0, len(members), len(members))])
            resampled.append(scores[chosen])
        draws[draw] = auroc(*resampled)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return value, float(low), float(high)


def binomial_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a proportion (used for flag rates of independent clips)."""
    if trials <= 0:
        return float("nan"), float("nan")
    # The normal quantile of the two-sided level: numpy has no inverse error function, so solve
    # Φ(z) = 1 - α/2 by bisection.
    target = 1.0 - (1.0 - level) / 2.0
    low, high = 0.0, 10.0
    for _ in range(80):
        middle = (low + high) / 2.0
        if 0.5 * (1.0 + math.erf(middle / math.sqrt(2.0))) < target:
            low = middle
        else:
            high = middle
    z = (low + high) / 2.0
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    spread = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return float(max(0.0, centre - spread)), float(min(1.0, centre + spread))


__all__ = [
    "Correlation",
    "auroc",
    "binomial_interval",
    "bootstrap_auroc",
    "bootstrap_spearman",
    "ranks",
    "spearman",
]
