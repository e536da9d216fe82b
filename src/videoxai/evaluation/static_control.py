"""Static control: selective relevance on a frozen copy of every clip, where it must keep nothing.

A frozen copy repeats a clip's middle frame for the clip's length, so nothing in it moves and
its relevance has no reason to change over time. Every voxel that selective relevance keeps on
it is an artifact of the method or the network (for I3D: its temporal and spatial zero padding
and its stride-2 layers; docs/static_control.md). The study explains the frozen copy of every
clip with the same methods (in the explain stage, so the model is loaded once), applies the same
selective step, and reports per method and n:

* ``kept_relevance``: share of the frozen copy's positive relevance that selective relevance keeps
  (undefined, NaN, for a clip without positive relevance: left out of the mean and counted);
* ``kept_voxels``: share of its voxels that selective relevance keeps;
* ``edge_frames``: share of the kept voxels in the first and last ``edge`` frames (compare with
  ``edge_frames_area`` = 2·edge / T, their share of the clip);
* ``border``: share of the kept voxels in the ``border``-pixel band along the frame edge (compare
  with ``border_area``, the band's share of the frame).

This module is torch-free apart from what its callers pass in; the rows are tidy
(``video, clip, method, n, definition, metric, value``) and the table gives each mean with a
video-level bootstrap interval (:func:`videoxai.evaluation.stats.bootstrap_mean`, settings from the
study's ``metrics.bootstrap``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from videoxai.core.errors import VideoXAIError
from videoxai.evaluation.stats import bootstrap_mean, bootstrap_settings

ROW_COLUMNS = ("video", "clip", "method", "n", "definition", "metric", "value")
METRICS = ("kept_relevance", "kept_voxels", "edge_frames", "border")  # all shares, in [0, 1]
TABLE_NAME = "static_control"


def band_mask(shape: tuple[int, int, int], edge: int, border: int) -> tuple[np.ndarray, np.ndarray]:
    """bool ``(T, H, W)`` masks of the first/last ``edge`` frames and of the ``border``-pixel band."""
    length, height, width = shape
    edges = np.zeros(shape, dtype=bool)
    if edge > 0:
        edges[:edge] = True
        edges[length - edge :] = True
    band = np.ones(shape, dtype=bool)
    band[:, border : height - border, border : width - border] = False
    return edges, band


def artifact_rows(
    video: str,
    method: str,
    relevance: np.ndarray,
    masks: Mapping[float, np.ndarray],
    *,
    definition: str,
    edge: int = 1,
    border: int = 16,
) -> pd.DataFrame:
    """Tidy rows of one method's frozen-copy maps of one video.

    Args:
        relevance: float ``(N, T, H, W)``, the frozen copies' relevance.
        masks: n -> bool ``(N, T, H, W)``, selective masks of that relevance.
        definition: name of the selective definition the masks come from (``paper``, ``margin``).
        edge: frames counted at either end for ``edge_frames``.
        border: width in pixels of the band counted for ``border``.
    Returns:
        Rows with :data:`ROW_COLUMNS`; ``kept_relevance`` is NaN for a clip with no positive
        relevance (a share of nothing), ``edge_frames``/``border`` for a clip with no kept voxel.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    if relevance.ndim != 4:
        raise VideoXAIError(f"static control: relevance must be (N, T, H, W), got shape {relevance.shape}")
    clips = relevance.shape[0]
    edges, band = band_mask(relevance.shape[1:], edge, border)
    positive = np.clip(relevance, 0.0, None).reshape(clips, -1)
    total = positive.sum(axis=1)
    frames = []
    for n, mask in masks.items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != relevance.shape:
            raise VideoXAIError(f"static control: mask {mask.shape} does not match relevance {relevance.shape}")
        flat = mask.reshape(clips, -1)
        kept = flat.sum(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = {
                "kept_relevance": np.where(
                    total > 0, (positive * flat).sum(axis=1) / np.where(total > 0, total, 1), np.nan
                ),
                "kept_voxels": kept / flat.shape[1],
                "edge_frames": np.where(kept > 0, (flat & edges.reshape(-1)).sum(axis=1) / kept, np.nan),
                "border": np.where(kept > 0, (flat & band.reshape(-1)).sum(axis=1) / kept, np.nan),
            }
        for metric in METRICS:
            frames.append(
                pd.DataFrame(
                    {
                        "video": video,
                        "clip": np.arange(clips),
                        "method": method,
                        "n": float(n),
                        "definition": definition,
                        "metric": metric,
                        "value": values[metric],
                    },
                    columns=list(ROW_COLUMNS),
                )
            )
    return pd.concat(frames, ignore_index=True)


def area_shares(shape: tuple[int, int, int], edge: int, border: int) -> dict[str, float]:
    """The share of the clip the first/last ``edge`` frames and the border band take."""
    edges, band = band_mask(shape, edge, border)
    return {"edge_frames_area": float(edges.mean()), "border_area": float(band.mean())}


def static_control_table(
    rows: pd.DataFrame, order: Sequence[str] | None = None, bootstrap: Mapping | None = None
) -> pd.DataFrame:
    """One row per definition, method and n: every metric's clip-weighted mean with its
    video-level bootstrap interval (columns ``{metric}``, ``{metric}_low``, ``{metric}_high``; the
    ``metrics.bootstrap`` settings ``bootstrap``, defaults: 95 %, 2,000 resamples, seed 0),
    the number of clips and videos, and ``no_positive``: the clips whose frozen copy has no positive
    relevance, left out of ``kept_relevance`` (a share of nothing is undefined, not 0)."""
    if rows.empty:
        return pd.DataFrame()
    settings = bootstrap_settings(bootstrap)
    methods = list(order) if order else list(dict.fromkeys(rows["method"]))
    records = []
    for (definition, method, n), group in rows.groupby(["definition", "method", "n"], sort=False):
        record = {"definition": definition, "method": method, "n": float(n)}
        for metric in METRICS:
            values = group[group["metric"] == metric]
            interval = bootstrap_mean(
                values["value"].to_numpy(), values["video"].to_numpy(), bounds=(0.0, 1.0), **settings
            )
            record[metric], record[f"{metric}_low"], record[f"{metric}_high"] = (
                interval.mean,
                interval.low,
                interval.high,
            )
            if metric == "kept_voxels":
                record["clips"], record["videos"] = interval.clips, interval.videos
            if metric == "kept_relevance":
                record["no_positive"] = int(values["value"].isna().sum())
        records.append(record)
    table = pd.DataFrame(records)
    rank = {method: index for index, method in enumerate(methods)}
    definitions = {"paper": 0}
    table["_method"] = table["method"].map(lambda method: rank.get(method, len(rank)))
    table["_definition"] = table["definition"].map(lambda name: definitions.get(name, 1))
    table = table.sort_values(["_definition", "definition", "_method", "n"]).drop(columns=["_method", "_definition"])
    return table.reset_index(drop=True)


def frame_profile(rows_masks: Sequence[np.ndarray]) -> np.ndarray:
    """float ``(T,)``: share of all kept voxels in each frame, over a list of bool ``(N, T, H, W)`` masks
    (NaN everywhere when nothing is kept)."""
    counts = sum(np.asarray(mask, dtype=bool).sum(axis=(0, 2, 3)) for mask in rows_masks)
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total > 0 else np.full(counts.shape, math.nan)


__all__ = [
    "METRICS",
    "ROW_COLUMNS",
    "area_shares",
    "artifact_rows",
    "band_mask",
    "frame_profile",
    "static_control_table",
]
