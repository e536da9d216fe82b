"""The ground-truth benchmark's table and figure, in the renderer every table of the study uses."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from videoxai.core.headline import headline_n
from videoxai.core.methods import method_label
from videoxai.evaluation.stats import Interval, interval_text
from videoxai.ground_truth.benchmark import summary_table
from videoxai.ground_truth.settings import MODELS
from videoxai.report.render import write_rendered

TABLE_NAME = "ground_truth"
TABLE_METRICS: tuple[str, ...] = ("precision", "recall", "weighted_precision", "empty", "motion_share")
METRIC_LABELS = {
    "precision": "Precision",
    "recall": "Recall",
    "weighted_precision": "Weighted precision",
    "empty": "Empty maps",
    "motion_share": "Motion share",
    "on_object": "Relevance on the moving object",
}
MODEL_LABELS = {"motion": "motion-trained", "context": "context-trained"}


def n_label(variant: str, n: float) -> str:
    return "baseline" if variant == "baseline" else f"selective n={n:g}"


def interval_cell(row) -> str:
    return interval_text(Interval(row["mean"], row["low"], row["high"], 0, int(row["videos"])))


def display_table(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the readable table: per method and variant, each metric of the
    motion-trained model next to the context-trained one."""
    headers = ["Method", "Map"] + [
        f"{METRIC_LABELS[metric]} ({MODEL_LABELS[model]})" for metric in TABLE_METRICS for model in MODELS
    ]
    body = summary[summary["method"] != ""]
    rows = []
    for (method, variant, n), group in body.groupby(["method", "variant", body["n"].fillna(-1.0)], sort=False):
        cells = {(row["model"], row["metric"]): interval_cell(row) for _, row in group.iterrows()}
        rows.append(
            [method_label(method), n_label(variant, n)]
            + [cells.get((model, metric), "–") for metric in TABLE_METRICS for model in MODELS]
        )
    return headers, rows


def caption(summary: pd.DataFrame, info: Mapping[str, dict]) -> str:
    """The table's caption: what was measured, the chance levels and the models' accuracies."""
    parts = []
    for model in MODELS:
        chance = summary[(summary["model"] == model) & (summary["metric"] == "chance")]
        accuracy_value = info.get(model, {}).get("accuracy", math.nan)
        chance_text = f"{chance['mean'].iloc[0]:.3f}" if len(chance) else "–"
        parts.append(
            f"{MODEL_LABELS[model]} model: held-out accuracy {accuracy_value:.1%}, "
            f"evidence = {'the moving object' if model == 'motion' else 'the static patch'}, chance precision {chance_text}"
        )
    return (
        "Ground truth: explanations scored against the known evidence of synthetic videos, "
        "mean [95 % video-level t interval]; " + "; ".join(parts) + "."
    )


def write_table(summary: pd.DataFrame, info: Mapping[str, dict], out_dir: str | os.PathLike) -> list[Path]:
    """``ground_truth.csv`` (the long summary), ``.md`` and ``.tex`` (the readable table) in ``out_dir``."""
    headers, rows = display_table(summary)
    return write_rendered(out_dir, TABLE_NAME, caption(summary, info), headers, rows, data=summary, float_format="%.6g")


def write_figure(summary: pd.DataFrame, path: str | os.PathLike, n: float | None = None) -> Path:
    """Precision, recall, weighted precision and motion share with their intervals: per method,
    baseline and selective (at ``n``, default the headline n), the two models side by side."""
    body = summary[summary["method"] != ""]
    if n is None:
        n = headline_n(body["n"])
    methods = list(dict.fromkeys(body["method"]))
    panels = ("precision", "recall", "weighted_precision", "motion_share")
    figure = Figure(figsize=(4.2 * len(panels), 0.42 * len(methods) * len(MODELS) + 2.2))
    axes = figure.subplots(len(MODELS), len(panels), squeeze=False, sharey=True)
    colours = {"baseline": "#7f7f7f", "selective": "#d62728"}
    for row_index, model in enumerate(MODELS):
        for column, metric in enumerate(panels):
            ax = axes[row_index][column]
            for offset, variant in ((-0.15, "baseline"), (0.15, "selective")):
                if metric == "motion_share" and variant == "baseline":
                    continue
                chosen = body[(body["model"] == model) & (body["metric"] == metric) & (body["variant"] == variant)]
                if variant == "selective":
                    chosen = chosen[np.isclose(chosen["n"], n)]
                positions, means, errors = [], [], []
                for index, method in enumerate(methods):
                    match = chosen[chosen["method"] == method]
                    if match.empty or np.isnan(match["mean"].iloc[0]):
                        continue
                    mean, low, high = match[["mean", "low", "high"]].iloc[0]
                    positions.append(index + offset)
                    means.append(mean)
                    errors.append([mean - low if not np.isnan(low) else 0, high - mean if not np.isnan(high) else 0])
                label = "baseline" if variant == "baseline" else f"selective n={n:g}"
                if positions:
                    ax.errorbar(
                        means,
                        positions,
                        xerr=np.array(errors).T,
                        fmt="o",
                        color=colours[variant],
                        label=label,
                        capsize=2,
                        markersize=4,
                    )
            if metric in ("precision", "weighted_precision"):
                chance = summary[(summary["model"] == model) & (summary["metric"] == "chance")]
                if len(chance):
                    ax.axvline(chance["mean"].iloc[0], color="black", linestyle=":", linewidth=1, label="chance")
            ax.set_xlim(-0.02, 1.02)
            ax.set_title(f"{METRIC_LABELS[metric]}\n{MODEL_LABELS[model]} model", fontsize=9)
            ax.set_yticks(range(len(methods)))
            ax.set_yticklabels([method_label(method) for method in methods], fontsize=8)
            if column == 0 and row_index == 0:  # the y axis is shared: invert it once, first method on top
                ax.invert_yaxis()
            ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def read_benchmark(table_csv: str | os.PathLike, meta_jsons: Sequence[str | os.PathLike]) -> tuple[pd.DataFrame, dict]:
    """The summary table written by :func:`write_table` and every model's metadata by model name."""
    summary = pd.read_csv(table_csv, keep_default_na=False, na_values=[""])
    summary["method"] = summary["method"].fillna("")
    info = {}
    for path in meta_jsons:
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
        info[meta["dataset"]] = meta
    return summary, info


def ground_truth_display(
    table_csv: str | os.PathLike, meta_jsons: Sequence[str | os.PathLike]
) -> tuple[pd.DataFrame, str, list[str], list[list[str]]]:
    """The written benchmark as the front page shows it: summary, caption, headers and rows."""
    summary, info = read_benchmark(table_csv, meta_jsons)
    headers, rows = display_table(summary)
    return summary, caption(summary, info), headers, rows


def ground_truth_report(
    metrics_csvs: Sequence[str | os.PathLike],
    meta_jsons: Sequence[str | os.PathLike],
    tables_dir: str | os.PathLike,
    figure_path: str | os.PathLike,
    seed: int = 0,
) -> list[Path]:
    """The workflow's ground_truth_table step: every model's tidy metrics -> the table (csv, md,
    tex) with video-level intervals, and its figure."""
    metrics = pd.concat([pd.read_csv(path) for path in metrics_csvs], ignore_index=True)
    info = {}
    for path in meta_jsons:
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
        info[meta["dataset"]] = meta
    summary = summary_table(metrics, seed=seed)
    return [*write_table(summary, info, tables_dir), write_figure(summary, figure_path)]
