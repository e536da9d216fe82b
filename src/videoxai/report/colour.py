"""One colour scale for relevance, shared by the CLI overlay, the Figure-3 grids and any viewer.

Relevance ``R`` is drawn with a diverging map (red positive, blue negative, white at zero) and
an opacity that grows with ``|R|``. The full-strength value is a high percentile of ``|R|``
over a clip, not its maximum: fine-grained maps (Guided Backprop, Guided Grad-CAM, DTD) put a
few voxels orders of magnitude above the rest, and scaling by the maximum leaves the map as a
few faint specks. Values beyond the scale saturate.
"""

from __future__ import annotations

import numpy as np

SCALE_PERCENTILE = 99.5
DIVERGING_CMAP = "RdBu_r"


def relevance_scale(relevance, percentile: float = SCALE_PERCENTILE) -> float:
    """The ``|R|`` drawn at full strength: the ``percentile``-th percentile of ``|R|``.

    Args:
        relevance: float array of any shape (typically one clip, ``(T, H, W)``); a torch
            tensor is accepted too.
        percentile: in (0, 100].
    Returns:
        A positive float. Falls back to the maximum of ``|R|`` when the percentile is 0
        (a map that is zero almost everywhere), and to 1.0 for an all-zero map, so dividing
        by it is always safe.
    """
    if hasattr(relevance, "detach"):
        relevance = relevance.detach().cpu().numpy()
    magnitude = np.abs(np.asarray(relevance, dtype=np.float64))
    if magnitude.size == 0:
        return 1.0
    finite = magnitude[np.isfinite(magnitude)]
    if finite.size == 0:
        return 1.0
    scale = float(np.percentile(finite, percentile))
    if scale > 0:
        return scale
    peak = float(finite.max())
    return peak if peak > 0 else 1.0


def normalise(relevance, scale: float) -> np.ndarray:
    """float32 ``R / scale`` clipped to [-1, 1]; same shape as ``relevance``."""
    return np.clip(np.asarray(relevance, dtype=np.float32) / np.float32(scale), -1.0, 1.0)


def colour_table(name: str = DIVERGING_CMAP, size: int = 256) -> np.ndarray:
    """float32 ``(size, 3)`` RGB in 0..255 of the matplotlib colour map ``name``, -1 -> row 0, +1 -> last row."""
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0.0, 1.0, size))[:, :3] * 255.0).astype(np.float32)


def colourise(normalised: np.ndarray, table: np.ndarray | None = None) -> np.ndarray:
    """float32 RGB ``(..., 3)`` in 0..255 for values in [-1, 1] of any shape ``(...)``."""
    table = colour_table() if table is None else table
    index = np.rint((np.asarray(normalised, dtype=np.float32) + 1.0) * 0.5 * (len(table) - 1)).astype(np.intp)
    return table[np.clip(index, 0, len(table) - 1)]


__all__ = ["DIVERGING_CMAP", "SCALE_PERCENTILE", "colour_table", "colourise", "normalise", "relevance_scale"]
