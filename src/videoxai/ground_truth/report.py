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
from videoxai.evaluation.correlation import binomial_interval, bootstrap_auroc, bootstrap_spearman
from videoxai.evaluation.metrics import ordered_methods
from videoxai.evaluation.stats import Interval, bootstrap_settings, describe_settings, interval_text
from videoxai.ground_truth.benchmark import summary_table
from videoxai.ground_truth.settings import MODELS
from videoxai.report.render import write_rendered

TABLE_NAME = "ground_truth"
CALIBRATION_TABLE = "ground_truth_calibration"
TABLE_METRICS: tuple[str, ...] = (
    "precision",
    "matched_delta",
    "recall",
    "weighted_precision",
    "empty",
    "motion_share",
    "calibrated_flagged",
)
METRIC_LABELS = {
    "precision": "Precision",
    "matched_delta": "Δ vs top-k",
    "recall": "Recall",
    "weighted_precision": "Weighted precision",
    "empty": "Empty maps",
    "motion_share": "Motion share",
    "calibrated_flagged": "Flagged",
    "on_object": "Relevance on the moving object",
}
MODEL_LABELS = {"motion": "motion-trained", "context": "context-trained"}


def n_label(variant: str, n: float) -> str:
    if variant in ("baseline", "calibrated"):
        return variant
    return f"selective n={n:g}"


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


CAPTION_NOTE = (
    " Δ vs top-k: a selective or calibrated map's precision minus that of the baseline's k most relevant "
    "voxels on the same video (k the map's size), the gain beyond thinning out. Calibrated: the calibrated "
    "test's map at the middle frame (docs/calibration.md); its motion share is the share of that frame's "
    "positive relevance it keeps; Flagged: share of videos the test flags [Wilson interval]."
)


def caption(summary: pd.DataFrame, info: Mapping[str, dict], bootstrap: Mapping | None = None) -> str:
    """The table's caption: what was measured, the chance levels and the models' accuracies, and the
    interval's bootstrap settings ``bootstrap``."""
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
        f"mean [{describe_settings(bootstrap)}]; " + "; ".join(parts) + "." + CAPTION_NOTE
    )


def write_table(
    summary: pd.DataFrame, info: Mapping[str, dict], out_dir: str | os.PathLike, bootstrap: Mapping | None = None
) -> list[Path]:
    """``ground_truth.csv`` (the long summary), ``.md`` and ``.tex`` (the readable table) in ``out_dir``."""
    headers, rows = display_table(summary)
    text = caption(summary, info, bootstrap)
    return write_rendered(out_dir, TABLE_NAME, text, headers, rows, data=summary, float_format="%.6g")


def _per_video(rows: pd.DataFrame, metric: str, model: str | None = None) -> pd.DataFrame:
    """One metric's values per video (columns model, video and the metric), of one model or both."""
    rows = rows[rows["metric"] == metric]
    if model is not None:
        rows = rows[rows["model"] == model]
    return rows[["model", "video", "value"]].rename(columns={"value": metric})


def calibration_summary(metrics: pd.DataFrame, bootstrap: Mapping | None = None) -> pd.DataFrame:
    """Per method, what the calibrated test tells about the two models: the share of videos it
    flags for each (Wilson interval; one clip per video), the AUROC of its statistic between the
    motion-trained and the context-trained model, and Spearman's ρ across both models' videos
    between the calibrated share and the freeze drop (both with video-level percentile intervals).

    Args:
        metrics: the benchmark's tidy rows of both models (:func:`benchmark_model`).
    """
    settings = bootstrap_settings(bootstrap)
    plain = {key: settings[key] for key in ("resamples", "level", "seed")}
    frame = metrics.assign(method=metrics["method"].fillna(""), variant=metrics["variant"].fillna(""))
    calibrated = frame[frame["variant"] == "calibrated"]
    if calibrated.empty:
        return pd.DataFrame()
    freeze = frame[(frame["method"] == "") & (frame["metric"] == "freeze_drop")][["model", "video", "value"]]
    freeze = freeze.rename(columns={"value": "freeze_drop"})
    records = []
    for method in ordered_methods(calibrated["method"].unique()):
        mine = calibrated[calibrated["method"] == method]
        record: dict = {"method": method}

        for model in MODELS:
            flags = _per_video(mine, "calibrated_flagged", model)["calibrated_flagged"].dropna()
            record[f"flagged_{model}"] = float(flags.mean()) if len(flags) else math.nan
            record[f"flagged_{model}_low"], record[f"flagged_{model}_high"] = binomial_interval(
                int(flags.sum()), len(flags), settings["level"]
            )
            record[f"videos_{model}"] = int(len(flags))
        motion, context = (
            _per_video(mine, "calibrated_statistic", "motion"),
            _per_video(mine, "calibrated_statistic", "context"),
        )
        record["auroc"], record["auroc_low"], record["auroc_high"] = bootstrap_auroc(
            motion["calibrated_statistic"].to_numpy(),
            context["calibrated_statistic"].to_numpy(),
            motion["video"].to_numpy(),
            context["video"].to_numpy(),
            **plain,
        )
        joined = _per_video(mine, "calibrated_share").merge(freeze, on=["model", "video"])
        # a video is named by its model too: the two models' benchmark videos are different files
        labels = (joined["model"] + "/" + joined["video"]).to_numpy()
        correlation = bootstrap_spearman(
            joined["calibrated_share"].to_numpy(), joined["freeze_drop"].to_numpy(), labels, **plain
        )
        record["rho"], record["rho_low"], record["rho_high"] = correlation.rho, correlation.low, correlation.high
        record["null_maps"] = int(_per_video(mine, "calibrated_null_maps")["calibrated_null_maps"].max())
        records.append(record)
    table = pd.DataFrame(records)
    table.attrs["bootstrap"] = settings
    return table


def calibration_display(table: pd.DataFrame) -> tuple[str, list[str], list[list[str]]]:
    """Caption, headers and rows of :func:`calibration_summary`."""
    settings = table.attrs.get("bootstrap")
    caption_text = (
        "Ground truth, calibrated test: the share of benchmark videos flagged as holding more than their still "
        "copies show, for the model that needs motion and the one that needs none [Wilson interval]; the AUROC "
        "of the test's statistic between the two models; and Spearman's ρ across both models' videos between "
        "the calibrated share and how much the model's probability drops on the still copy (freeze drop); the "
        f"AUROC's and ρ's {settings['level'] * 100:g} % intervals are percentile bootstraps resampling videos "
        f"({settings['resamples']} resamples, seed {settings['seed']}). Null maps: per model, pooled over its videos."
    )
    headers = [
        "Method",
        f"Flagged ({MODEL_LABELS['motion']})",
        f"Flagged ({MODEL_LABELS['context']})",
        "AUROC",
        "ρ (calibrated share, freeze drop)",
        "Null maps",
    ]
    rows = []
    for _, row in table.iterrows():
        rows.append(
            [
                method_label(row["method"]),
                *(
                    interval_text(
                        Interval(
                            row[f"flagged_{model}"], row[f"flagged_{model}_low"], row[f"flagged_{model}_high"], 0, 0
                        )
                    )
                    + f" (n = {int(row[f'videos_{model}'])})"
                    for model in MODELS
                ),
                interval_text(Interval(row["auroc"], row["auroc_low"], row["auroc_high"], 0, 0)),
                interval_text(Interval(row["rho"], row["rho_low"], row["rho_high"], 0, 0), signed=True),
                str(int(row["null_maps"])),
            ]
        )
    return caption_text, headers, rows


def write_calibration(table: pd.DataFrame, out_dir: str | os.PathLike) -> list[Path]:
    """``ground_truth_calibration.{csv,md,tex}`` in ``out_dir`` (nothing without calibrated rows)."""
    if table.empty:
        for suffix in ("csv", "md", "tex"):
            (Path(out_dir) / f"{CALIBRATION_TABLE}.{suffix}").unlink(missing_ok=True)
        return []
    text, headers, rows = calibration_display(table)
    return write_rendered(out_dir, CALIBRATION_TABLE, text, headers, rows, data=table, float_format="%.6g")


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
    bootstrap: Mapping | None = None,
) -> list[Path]:
    """The workflow's ground_truth_table step: every model's tidy metrics -> the table (csv, md,
    tex) with video-level bootstrap intervals, and its figure. The intervals take their level and
    resamples from the study's ``metrics.bootstrap`` (``bootstrap``) and their seed from ``seed``
    (``ground_truth.seed``, which seeds everything of the benchmark)."""
    metrics = pd.concat([pd.read_csv(path) for path in metrics_csvs], ignore_index=True)
    info = {}
    for path in meta_jsons:
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
        info[meta["dataset"]] = meta
    settings = {**bootstrap_settings(bootstrap), "seed": seed}
    summary = summary_table(
        metrics, seed=seed, level=settings["level"], resamples=settings["resamples"], method=settings["method"]
    )
    return [
        *write_table(summary, info, tables_dir, settings),
        *write_calibration(calibration_summary(metrics, settings), tables_dir),
        write_figure(summary, figure_path),
    ]
