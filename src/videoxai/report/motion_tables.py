"""The tables that answer "does this model use motion?": the calibrated test, the model's own
behaviour without motion, and whether the explanations track that behaviour.

* ``calibration``: per method, the share of clips the calibrated test flags as holding more than
  their still copies show, the median p-value, the share of relevance the calibrated map keeps,
  and the null's size (the smallest p-value it can give).
* ``motion_reliance``: per class (and all classes), the explained class's probability on the clip,
  its still copy and its shuffled copies, the drops, and with labels the accuracies and the
  SCUFO-style contrasted accuracy — which classes the model gets right without motion.
* ``explanation_behaviour``: per method, Spearman's ρ across clips between each motion measure of
  the explanation (the paper's motion share at the headline n, the calibrated share, the
  calibrated evidence −log10 p, which saturates at the null's smallest p when most clips are
  flagged, and the test's statistic, which does not) and the freeze and shuffle drops, with
  video-level intervals.

Every function takes the study's normalised tidy metrics (:func:`videoxai.report.tables.normalise_metrics`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from videoxai.core.headline import headline_n
from videoxai.evaluation.behaviour import BEHAVIOUR_METRICS, CLASS_COLUMN, behaviour_bounds
from videoxai.evaluation.correlation import binomial_interval, bootstrap_spearman
from videoxai.evaluation.metrics import metric_bounds, ordered_methods
from videoxai.evaluation.stats import bootstrap_mean

ALL_CLASSES = "All classes"
RELIANCE_METRICS: tuple[str, ...] = BEHAVIOUR_METRICS
# Explanation measures and the behaviour they are checked against, in the table's order.
MEASURES: dict[str, str] = {
    "motion_share": "Motion share (paper, headline n)",
    "calibrated_share": "Calibrated share",
    "calibrated_evidence": "Calibrated evidence (−log10 p)",
    "calibrated_statistic": "Calibrated statistic (largest residual)",
}
BEHAVIOURS: dict[str, str] = {"freeze_drop": "freeze drop", "shuffle_drop": "shuffle drop"}


def _per_clip(frame: pd.DataFrame, metric: str, **keys) -> pd.DataFrame:
    rows = frame[frame["metric"] == metric]
    for key, value in keys.items():
        rows = rows[rows[key] == value] if not isinstance(value, float) else rows[np.isclose(rows[key], value)]
    return rows[["video", "clip", "value"]].rename(columns={"value": metric})


def calibration_table(frame: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """One row per method with the calibrated test: flagged clips (share, with a Wilson interval
    over videos — conservative where a video has several clips), median p, kept share, null size."""
    rows = frame[(frame["variant"] == "calibrated") & frame["metric"].str.startswith("calibrated_")]
    if rows.empty:
        return pd.DataFrame()
    records = []
    for method in ordered_methods(rows["method"].unique()):
        mine = rows[rows["method"] == method]
        flags = _per_clip(mine, "calibrated_flagged")
        p_values = _per_clip(mine, "calibrated_p")
        share = _per_clip(mine, "calibrated_share")
        null = _per_clip(mine, "calibrated_null_maps")
        alpha = _per_clip(mine, "calibrated_alpha")
        videos = flags["video"].nunique()
        flagged_share = float(flags["calibrated_flagged"].mean()) if len(flags) else math.nan
        low, high = binomial_interval(round(flagged_share * videos), videos, settings["level"])
        kept = bootstrap_mean(
            share["calibrated_share"].to_numpy(),
            share["video"].to_numpy(),
            bounds=metric_bounds("calibrated_share"),
            **_mean_settings(settings),
        )
        null_maps = int(null["calibrated_null_maps"].max()) if len(null) else 0
        records.append(
            {
                "method": method,
                "flagged_mean": flagged_share,
                "flagged_low": low,
                "flagged_high": high,
                "flagged_clips": int(flags["calibrated_flagged"].sum()),
                "p_median": float(p_values["calibrated_p"].median()) if len(p_values) else math.nan,
                "share_mean": kept.mean,
                "share_low": kept.low,
                "share_high": kept.high,
                "alpha": float(alpha["calibrated_alpha"].max()) if len(alpha) else math.nan,
                "null_maps": null_maps,
                "smallest_p": 1.0 / (1 + null_maps) if null_maps else math.nan,
                "clips": int(len(flags)),
                "videos": int(videos),
            }
        )
    return pd.DataFrame(records)


def _plain(settings: dict) -> dict:
    """The resampling settings of the rank correlations (always a percentile bootstrap over videos)."""
    return {key: settings[key] for key in ("resamples", "level", "seed") if key in settings}


def _mean_settings(settings: dict) -> dict:
    """The keyword arguments :func:`bootstrap_mean` takes from the study's interval settings."""
    return {key: settings[key] for key in ("resamples", "level", "seed", "method") if key in settings}


def motion_reliance_table(frame: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """One row per class (and one for all classes) with every behaviour metric's mean and its
    video-level interval, and the clips and videos behind it."""
    rows = frame[frame["metric"].isin(RELIANCE_METRICS) & (frame["method"] == "")]
    if rows.empty:
        return pd.DataFrame()
    if CLASS_COLUMN not in rows.columns:
        rows = rows.assign(**{CLASS_COLUMN: ""})
    classes = sorted(rows[CLASS_COLUMN].fillna("").unique())
    records = []
    for name in [ALL_CLASSES, *classes] if len(classes) > 1 else [ALL_CLASSES]:
        mine = rows if name == ALL_CLASSES else rows[rows[CLASS_COLUMN] == name]
        record = {"class_name": name}
        for metric in RELIANCE_METRICS:
            values = mine[mine["metric"] == metric]
            interval = bootstrap_mean(
                values["value"].to_numpy(),
                values["video"].to_numpy(),
                bounds=behaviour_bounds(metric),
                **_mean_settings(settings),
            )
            record[f"{metric}_mean"], record[f"{metric}_low"], record[f"{metric}_high"] = (
                interval.mean,
                interval.low,
                interval.high,
            )
        clips = mine[mine["metric"] == "p_clip"]
        record["clips"] = int(len(clips))
        record["videos"] = int(clips["video"].nunique())
        records.append(record)
    return pd.DataFrame(records)


def explanation_measures(frame: pd.DataFrame, method: str, n: float) -> pd.DataFrame:
    """Per clip of ``method``: the paper's motion share at ``n``, the calibrated share and the
    calibrated evidence, beside the freeze and shuffle drops (columns named as
    :data:`MEASURES` and :data:`BEHAVIOURS`)."""
    parts = [
        _per_clip(
            frame[(frame["method"] == method) & (frame["variant"] == "selective")], "selectivity_relevance", n=n
        ).rename(columns={"selectivity_relevance": "motion_share"}),
        _per_clip(frame[(frame["method"] == method) & (frame["variant"] == "calibrated")], "calibrated_share"),
        _per_clip(frame[(frame["method"] == method) & (frame["variant"] == "calibrated")], "calibrated_p"),
        _per_clip(frame[(frame["method"] == method) & (frame["variant"] == "calibrated")], "calibrated_statistic"),
        _per_clip(frame[frame["method"] == ""], "freeze_drop"),
        _per_clip(frame[frame["method"] == ""], "shuffle_drop"),
    ]
    merged = None
    for part in parts:
        if part.empty:
            continue
        merged = part if merged is None else merged.merge(part, on=["video", "clip"], how="outer")
    if merged is None:
        return pd.DataFrame(columns=["video", "clip"])
    if "calibrated_p" in merged:
        merged["calibrated_evidence"] = -np.log10(merged["calibrated_p"])
    return merged


def explanation_behaviour_table(frame: pd.DataFrame, settings: dict, n: float | None = None) -> pd.DataFrame:
    """Spearman's ρ with its video-level interval for every method, explanation measure and
    behaviour measure present (rows ordered by method, measure, behaviour)."""
    if n is None:
        n = headline_n(frame.loc[frame["variant"] == "selective", "n"])
    records = []
    for method in ordered_methods(frame.loc[frame["method"] != "", "method"].unique()):
        measures = explanation_measures(frame, method, n)
        for measure in MEASURES:
            for behaviour in BEHAVIOURS:
                if measure not in measures or behaviour not in measures:
                    continue
                result = bootstrap_spearman(
                    measures[measure].to_numpy(),
                    measures[behaviour].to_numpy(),
                    measures["video"].to_numpy(),
                    **_plain(settings),
                )
                records.append(
                    {
                        "method": method,
                        "measure": measure,
                        "behaviour": behaviour,
                        "n": float(n) if measure == "motion_share" else math.nan,
                        "rho": result.rho,
                        "rho_low": result.low,
                        "rho_high": result.high,
                        "clips": result.clips,
                        "videos": result.videos,
                    }
                )
    return pd.DataFrame(records)


__all__ = [
    "ALL_CLASSES",
    "BEHAVIOURS",
    "MEASURES",
    "RELIANCE_METRICS",
    "calibration_table",
    "explanation_behaviour_table",
    "explanation_measures",
    "motion_reliance_table",
]
