"""Which n and τ a study headlines: one choice, used by the rules, the tables, the figures, the
front page and the examples, so they all speak of the same variant.

* n (the σ multiplier of selective relevance): the configured value nearest the paper's n = 4,
  the smaller one on a tie.
* τ (the motion threshold in px/frame): the configured value nearest the threshold calibrated
  for the clips' size (:func:`tau_for_resolution`: 1 px/frame at 112 px, 2 at 224), the smaller
  one on a tie.

Torch-free, so the workflow can choose while it builds its DAG.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from videoxai.core.errors import VideoXAIError

# The paper's σ multiplier (Hiley et al. 2020, §3).
PAPER_N = 4.0
# The motion threshold in px/frame at C3D's 112 px, where ~1 px/frame is visible motion.
DEFAULT_TAU = 1.0
REFERENCE_SIZE = 112


def _values(values: Iterable[float]) -> list[float]:
    return sorted({float(value) for value in values if value is not None and not math.isnan(float(value))})


def nearest(values: Iterable[float], target: float) -> float:
    """The value nearest ``target`` (the smaller on a tie); NaN when there is none."""
    candidates = _values(values)
    if not candidates:
        return math.nan
    return min(candidates, key=lambda value: (abs(value - target), value))


def headline_n(ns: Iterable[float]) -> float:
    """The σ multiplier a study headlines: the one nearest the paper's 4 (NaN without any)."""
    return nearest(ns, PAPER_N)


def tau_for_resolution(size: int) -> float:
    """The motion threshold for clips ``size`` pixels high: :data:`DEFAULT_TAU` scaled from 112 px.

    Flow magnitudes grow with resolution, so the same visible motion is ~1 px/frame at 112
    (C3D) and ~2 px/frame at 224 (I3D).

    Raises:
        VideoXAIError: ``size`` is not a positive number of pixels.
    """
    if size is None or int(size) <= 0:
        raise VideoXAIError(f"must be a positive number of pixels, got {size!r}", "size")
    return DEFAULT_TAU * int(size) / REFERENCE_SIZE


def headline_tau(taus: Iterable[float], size: int | None = None) -> float:
    """The τ a study headlines: the one nearest :func:`tau_for_resolution` of ``size`` (nearest
    :data:`DEFAULT_TAU` when the size is not known); NaN without any."""
    return nearest(taus, DEFAULT_TAU if size is None else tau_for_resolution(size))


__all__ = ["DEFAULT_TAU", "PAPER_N", "headline_n", "headline_tau", "nearest", "tau_for_resolution"]
