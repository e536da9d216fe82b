"""The randomisation test's table and curves: mean similarity per method, variant, n and depth.

Input: the tidy rows of :func:`videoxai.evaluation.randomisation.cascading_randomisation` for all videos.
Every mean comes with a video-level bootstrap interval (:func:`videoxai.evaluation.stats.bootstrap_mean`, with
the study's ``metrics.bootstrap`` settings);
empty maps (similarity undefined) are left out of the means and counted in ``empty``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from videoxai.core.errors import VideoXAIError
from videoxai.core.methods import method_label
from videoxai.evaluation.metrics import ordered_methods
from videoxai.evaluation.randomisation import COLUMNS, SIMILARITIES, SIMILARITY_BOUNDS
from videoxai.evaluation.stats import Interval, bootstrap_mean, bootstrap_settings, describe_settings, interval_text
from videoxai.report.figures import figure_style, no_data_panel, save_figure, variant_label, variant_palette
from videoxai.report.render import write_rendered

TABLE_NAME = "randomisation"
SIMILARITY_LABELS = {"spearman": "Spearman ρ of |R|", "ssim": "SSIM (per frame)", "iou": "Top-{q} IoU"}
KEYS = ["method", "variant", "n", "depth", "layer"]


def _check(rows: pd.DataFrame) -> pd.DataFrame:
    missing = [column for column in COLUMNS if column not in rows.columns]
    if missing:
        raise VideoXAIError(f"randomisation rows lack column(s) {missing}")
    return rows


def summarise(rows: pd.DataFrame, *, bootstrap: Mapping | None = None) -> pd.DataFrame:
    """One row per method, variant, n and depth: each similarity's mean with its interval.

    Args:
        rows: tidy rows with :data:`videoxai.evaluation.randomisation.COLUMNS` (``n`` NaN for baselines).
        bootstrap: the ``metrics.bootstrap`` settings of the intervals (resamples, level, seed).
    Returns:
        Columns ``method, variant, n, depth, layer``, then per similarity ``<name>``,
        ``<name>_low``, ``<name>_high``, and ``empty`` (maps left out as empty), ``clips``,
        ``videos``; ordered by method (paper order), baseline before selective, n, depth.
    """
    rows = _check(rows).copy()
    settings = bootstrap_settings(bootstrap)
    rows["n"] = rows["n"].astype(float)
    rows["empty"] = rows["empty"].astype(bool)
    records = []
    # n is NaN for baselines; groupby would drop those rows, so group on a filled copy.
    rows["n_key"] = rows["n"].fillna(-1.0)
    for (method, variant, n_key, depth), group in rows.groupby(["method", "variant", "n_key", "depth"], sort=False):
        record = {
            "method": method,
            "variant": variant,
            "n": math.nan if n_key < 0 else float(n_key),
            "depth": int(depth),
            "layer": str(group["layer"].iloc[0]) if not pd.isna(group["layer"].iloc[0]) else "",
        }
        for name in SIMILARITIES:
            interval = bootstrap_mean(
                group[name].to_numpy(float), group["video"].to_numpy(), bounds=SIMILARITY_BOUNDS[name], **settings
            )
            record.update({name: interval.mean, f"{name}_low": interval.low, f"{name}_high": interval.high})
        record.update(
            {"empty": int(group["empty"].sum()), "clips": int(len(group)), "videos": int(group["video"].nunique())}
        )
        records.append(record)
    summary = pd.DataFrame.from_records(records)
    if summary.empty:
        return summary
    order = {method: rank for rank, method in enumerate(ordered_methods(summary["method"].unique()))}
    summary["_method"] = summary["method"].map(order)
    summary["_variant"] = (summary["variant"] != "baseline").astype(int)
    summary = summary.sort_values(["_method", "_variant", "n", "depth"], na_position="first")
    return summary.drop(columns=["_method", "_variant"]).reset_index(drop=True)


def _interval(row, name: str) -> str:
    return interval_text(Interval(row[name], row[f"{name}_low"], row[f"{name}_high"], row["clips"], row["videos"]))


def _caption(top_q: float, bootstrap: Mapping | None = None) -> str:
    return (
        "Cascading model-parameter randomisation (Adebayo et al. 2018): similarity between each map and the "
        "map of the trained model after re-initialising the top k levels of the network (depth k; layer = "
        "the lowest level randomised), for the class the trained model explained. Mean over clips "
        f"[{describe_settings(bootstrap)}]; top-{top_q * 100:g} % voxels for the IoU. A method that "
        "depends on the model falls towards 0; empty maps (no relevance) have no similarity and are counted."
    )


def _cells(summary: pd.DataFrame, top_q: float) -> tuple[list[str], list[list[str]]]:
    headers = [
        "Method",
        "Variant",
        "Depth",
        "Layer",
        *(SIMILARITY_LABELS[name].format(q=f"{top_q * 100:g}%") for name in SIMILARITIES),
        "Empty",
        "Clips",
        "Videos",
    ]
    rows = [
        [
            method_label(row["method"]),
            "baseline" if row["variant"] == "baseline" else f"selective n={row['n']:g}",
            str(int(row["depth"])),
            row["layer"] or "none",
            *(_interval(row, name) for name in SIMILARITIES),
            str(int(row["empty"])),
            str(int(row["clips"])),
            str(int(row["videos"])),
        ]
        for _, row in summary.iterrows()
    ]
    return headers, rows


def write_table(summary: pd.DataFrame, out_dir, top_q: float, bootstrap: Mapping | None = None) -> list[Path]:
    """``randomisation.{csv,md,tex,html}`` in ``out_dir``, the caption naming the interval's
    ``metrics.bootstrap`` settings ``bootstrap``; returns the paths."""
    headers, rows = _cells(summary, top_q)
    return write_rendered(
        out_dir,
        TABLE_NAME,
        _caption(top_q, bootstrap),
        headers,
        rows,
        data=summary,
        formats=("csv", "md", "tex", "html"),
        title="Randomisation test",
    )


def figure_name(method: str) -> str:
    return f"randomisation_{method}"


def write_figures(summary: pd.DataFrame, out_dir, methods: Sequence[str], top_q: float) -> list[Path]:
    """One figure per method: each similarity against the number of randomised levels, a line per
    variant (grey baseline, blue-greens for selective n) with its interval as a band.

    Written as ``randomisation_<method>.{png,pdf}`` for every method in ``methods`` (a method
    without rows gets a figure that says so). Returns the paths.
    """
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    written: list[Path] = []
    for method in methods:
        frame = summary[summary["method"] == method] if len(summary) else summary
        with figure_style():
            figure = Figure(figsize=(13, 4.2), layout="constrained")
            if frame.empty:
                no_data_panel(figure, f"no randomisation rows for {method_label(method)}")
                written += save_figure(figure, out_dir, figure_name(method))
                continue
            palette = variant_palette(frame["n"].dropna().unique())
            axes = figure.subplots(1, len(SIMILARITIES), sharex=True)
            ticks = frame.drop_duplicates("depth").sort_values("depth")
            for axis, name in zip(np.atleast_1d(axes), SIMILARITIES):
                for (variant, n), group in frame.groupby(["variant", frame["n"].fillna(-1.0)], sort=False):
                    label = variant_label(variant, float("nan") if n < 0 else n)
                    group = group.sort_values("depth")
                    colour = palette[label]
                    axis.plot(group["depth"], group[name], marker="o", markersize=3, color=colour, label=label)
                    axis.fill_between(
                        group["depth"],
                        group[f"{name}_low"],
                        group[f"{name}_high"],
                        color=colour,
                        alpha=0.18,
                        linewidth=0,
                    )
                axis.axhline(0.0, color="black", linewidth=0.8, linestyle="--")
                axis.set_title(SIMILARITY_LABELS[name].format(q=f"{top_q * 100:g}%"))
                axis.set_xlabel("randomised down to")
                axis.set_xticks(
                    ticks["depth"], [layer or "none" for layer in ticks["layer"]], rotation=60, ha="right", fontsize=8
                )
                axis.set_ylim(-0.3, 1.05)
            np.atleast_1d(axes)[0].set_ylabel("similarity to the trained model's map")
            np.atleast_1d(axes)[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
            figure.suptitle(f"{method_label(method)}: cascading randomisation, top level first")
            written += save_figure(figure, out_dir, figure_name(method))
    return written


__all__ = ["KEYS", "TABLE_NAME", "figure_name", "summarise", "write_figures", "write_table"]
