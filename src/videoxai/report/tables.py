"""Paper-style tables (Hiley et al. 2020, Tables 1-4) from the tidy per-clip metrics.

``build_tables`` turns the long-format rows of :func:`videoxai.evaluation.metrics.compute_clip_metrics`
(all videos concatenated) into one numeric DataFrame per table: the mean over clips (each clip
weighing the same) with its confidence interval over videos (``metrics.bootstrap.method``: t by default,
:mod:`videoxai.evaluation.stats`; clips of one video are not independent), the sample standard deviation
(ddof = 1), and the number of clips and videos that had a defined value. Where a table has
baseline and selective rows, each selective row also carries the paired difference to the
baseline of the same method on the same clips, with its interval. ``write_tables`` writes each
as ``.csv`` (numbers, code names), ``.md``, ``.tex`` and ``.html`` (``mean [low, high]``, the
paper's method names and order) plus the tidy ``metrics.csv``. A table without rows is not
written; ``status.json`` says why it is absent. Layouts are described in ``docs/metrics.md``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from videoxai.core import headline
from videoxai.core.errors import VideoXAIError
from videoxai.core.files import atomic_write
from videoxai.core.methods import method_label
from videoxai.core.outputs import ABSENT_REASONS, TABLE_NAMES, TABLE_TITLES
from videoxai.evaluation.behaviour import CLASS_COLUMN
from videoxai.evaluation.metrics import (
    DEFAULT_TOP_Q,
    MATCHED_METRICS,
    PRECISION_METRICS,
    TIDY_COLUMNS,
    VARIANTS,
    metric_bounds,
    ordered_methods,
)
from videoxai.evaluation.stats import Interval, bootstrap_mean, bootstrap_settings, describe_settings, interval_text
from videoxai.report.motion_tables import (
    BEHAVIOURS,
    MEASURES,
    calibration_table,
    explanation_behaviour_table,
    motion_reliance_table,
)
from videoxai.report.render import html_table, latex_table, markdown_table

FAITHFULNESS_METRICS: tuple[str, ...] = ("deletion_auc", "insertion_auc", "smoothness_temporal", "smoothness_spatial")

# Metrics whose selective rows carry the paired difference to their baseline (``<metric>_delta_*``).
DELTA_METRICS: dict[str, tuple[str, ...]] = {
    "table1": PRECISION_METRICS,
    "table2": ("iou", "topq_iou"),
    "faithfulness": ("deletion_auc", "insertion_auc"),
}

# Baseline rows have n = NaN; groupby and merges handle a sentinel more predictably than NaN keys.
_NO_N = -1.0


def normalise_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of tidy metrics with canonical dtypes.

    Text columns read back from CSV come as NaN where they were ``""``; they are restored.
    Raises :class:`VideoXAIError` for a missing column or duplicated rows.
    """
    if not isinstance(metrics, pd.DataFrame):
        raise VideoXAIError(f"expected a pandas DataFrame, got {type(metrics).__name__}", "metrics")
    missing = [column for column in TIDY_COLUMNS if column not in metrics.columns]
    if missing:
        raise VideoXAIError(f"missing column(s) {', '.join(missing)}; expected {', '.join(TIDY_COLUMNS)}", "metrics")
    frame = metrics.loc[:, list(TIDY_COLUMNS)].copy()
    # Optional per-row columns travel along into metrics.csv when present: whether the explained
    # class was right (videoxai.evaluation.correctness) and the clip's class (behaviour rows).
    for column in ("correct", "predicted_correct"):
        if column in metrics.columns:
            frame[column] = pd.to_numeric(metrics[column], errors="coerce").astype(np.float64)
    if CLASS_COLUMN in metrics.columns:
        frame[CLASS_COLUMN] = metrics[CLASS_COLUMN].fillna("").astype(str)
    for column in ("video", "method", "variant", "other_method", "metric"):
        frame[column] = frame[column].fillna("").astype(str)
    for column in ("n", "tau", "q", "value"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
    frame["clip"] = pd.to_numeric(frame["clip"], errors="coerce").astype(np.int64)
    keys = [column for column in TIDY_COLUMNS if column != "value"]
    duplicated = frame.fillna({"n": _NO_N, "tau": _NO_N, "q": _NO_N}).duplicated(subset=keys)
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise VideoXAIError(
            f"{int(duplicated.sum())} duplicated row(s), e.g. video {first['video']!r} clip {first['clip']} "
            f"metric {first['metric']!r}; was a video's metrics concatenated twice?",
            "metrics",
        )
    return frame


def headline_tau(metrics: pd.DataFrame) -> float:
    """The tau the tables report when the study names none: of the taus in the data, the one
    :func:`videoxai.core.headline.headline_tau` chooses (nearest ``DEFAULT_TAU``)."""
    return headline.headline_tau(metrics.loc[metrics["metric"].isin(PRECISION_METRICS), "tau"].dropna())


def headline_q(metrics: pd.DataFrame) -> float:
    """The top-q fraction the tables report: ``DEFAULT_TOP_Q[0]`` if present, else the smallest."""
    qs = sorted(set(metrics.loc[metrics["metric"].isin(["topq_precision", "topq_iou"]), "q"].dropna()))
    if not qs:
        return math.nan
    return DEFAULT_TOP_Q[0] if any(np.isclose(qs, DEFAULT_TOP_Q[0])) else qs[0]


def _select(frame: pd.DataFrame, metrics, tau: float | None = None, q: float | None = None) -> pd.DataFrame:
    selected = frame[frame["metric"].isin(list(metrics))]
    if tau is not None:
        selected = selected[np.isclose(selected["tau"], tau) | selected["tau"].isna()]
    if q is not None:
        selected = selected[np.isclose(selected["q"], q) | selected["q"].isna()]
    return selected.assign(n=selected["n"].fillna(_NO_N))


def _wide(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per (video, clip, *keys), one column per metric."""
    index = ["video", "clip", *keys]
    if frame.empty:
        return pd.DataFrame(columns=index)
    # Keys are unique here (normalise_metrics refuses duplicates; one tau and q are selected).
    return frame.set_index([*index, "metric"])["value"].unstack("metric").reset_index().rename_axis(columns=None)


def _interval_columns(metric: str) -> list[str]:
    return [f"{metric}_mean", f"{metric}_low", f"{metric}_high"]


def _intervals(wide: pd.DataFrame, keys: list[str], metrics, settings: dict) -> pd.DataFrame:
    """``<metric>_mean/_low/_high`` of every metric per group (index = the group keys)."""
    rows = []
    for key, group in wide.groupby(keys, sort=False):
        videos = group["video"].to_numpy()
        row = list(key)
        for metric in metrics:
            interval = bootstrap_mean(group[metric].to_numpy(), videos, bounds=metric_bounds(metric), **settings)
            row += [interval.mean, interval.low, interval.high]
        rows.append(row)
    columns = [column for metric in metrics for column in _interval_columns(metric)]
    result = pd.DataFrame(rows, columns=[*keys, *columns]).set_index(keys)
    return result.astype(np.float64)


def _summarise(wide: pd.DataFrame, keys: list[str], metrics: list[str], primary: str, settings: dict) -> pd.DataFrame:
    """Mean with its interval, and std, of each metric per group; clips/videos counted on ``primary``."""
    for metric in metrics:
        if metric not in wide.columns:
            wide[metric] = np.nan
    columns = [*keys]
    for metric in metrics:
        columns += [*_interval_columns(metric), f"{metric}_std"]
    columns += ["clips", "videos"]
    if wide.empty:
        return pd.DataFrame(columns=columns)
    grouped = wide.groupby(keys, sort=False)
    result = _intervals(wide, keys, metrics, settings)
    spread = grouped[metrics].std()
    for metric in metrics:
        result[f"{metric}_std"] = spread[metric]
    defined = wide[wide[primary].notna()]
    result["clips"] = defined.groupby(keys, sort=False)[primary].count().reindex(result.index).fillna(0).astype(int)
    result["videos"] = defined.groupby(keys, sort=False)["video"].nunique().reindex(result.index).fillna(0).astype(int)
    return result.reset_index()[columns]


def _paired(table: pd.DataFrame, wide: pd.DataFrame, keys: list[str], metrics, settings: dict) -> pd.DataFrame:
    """``table`` with ``<metric>_delta_mean/_low/_high``: on each selective (and calibrated) row
    the paired difference to the baseline of the same other keys (method, ...) on the same
    clips; NaN on baseline rows and where no clip has both values."""
    columns = [column for metric in metrics for column in _interval_columns(f"{metric}_delta")]
    if table.empty or wide.empty:
        return table.reindex(columns=[*table.columns, *columns])
    wide = wide.assign(**{metric: np.nan for metric in metrics if metric not in wide.columns})
    same = [key for key in keys if key not in ("variant", "n")]
    baseline = wide.loc[wide["variant"] == "baseline", ["video", "clip", *same, *metrics]]
    selective = wide[wide["variant"] != "baseline"]
    pairs = selective.merge(baseline, on=["video", "clip", *same], how="inner", suffixes=("", "_baseline"))
    if pairs.empty:
        return table.reindex(columns=[*table.columns, *columns])
    for metric in metrics:
        pairs[f"{metric}_delta"] = pairs[metric] - pairs[f"{metric}_baseline"]
    deltas = _intervals(pairs, keys, [f"{metric}_delta" for metric in metrics], settings).reset_index()
    return table.merge(deltas, on=keys, how="left")[[*table.columns, *columns]]


def _order(table: pd.DataFrame, method_columns: list[str]) -> pd.DataFrame:
    """Paper method order, baseline before selective, n ascending; n sentinel back to NaN."""
    if table.empty:
        return table.reset_index(drop=True)
    sort_columns = []
    table = table.copy()
    for column in method_columns:
        order = {method: index for index, method in enumerate(ordered_methods(table[column]))}
        table[f"_{column}_order"] = table[column].map(order).fillna(-1)
        sort_columns.append(f"_{column}_order")
    if "variant" in table.columns:
        table["_variant_order"] = table["variant"].map({v: i for i, v in enumerate(VARIANTS)}).fillna(len(VARIANTS))
        sort_columns.append("_variant_order")
    if "n" in table.columns:
        sort_columns.append("n")
    table = table.sort_values(sort_columns, kind="stable").drop(columns=[c for c in sort_columns if c.startswith("_")])
    if "n" in table.columns:
        table["n"] = table["n"].replace(_NO_N, np.nan)
    return table.reset_index(drop=True)


# Table 1's size-matched comparison: selective (or calibrated) precision minus the precision of the
# baseline's k most relevant voxels on the same clip, k the selective map's size.
MATCHED_DELTA = "matched_delta"


def _table1(frame: pd.DataFrame, tau: float, q: float, settings: dict) -> pd.DataFrame:
    keys = ["method", "variant", "n"]
    wide = _wide(_select(frame, [*PRECISION_METRICS, "recall", *MATCHED_METRICS], tau=tau, q=q), keys)
    for metric in ("recall", *MATCHED_METRICS):
        if not wide.empty and metric not in wide.columns:
            wide[metric] = np.nan
    if not wide.empty and "precision" in wide.columns:
        wide[MATCHED_DELTA] = wide["precision"] - wide["matched_top_precision"]
    chance = _select(frame, ["chance"], tau=tau)[["video", "clip", "value"]].rename(columns={"value": "chance"})
    if not wide.empty:
        if "precision" not in wide.columns:
            wide["precision"] = np.nan
        wide = wide.merge(chance, on=["video", "clip"], how="left")
        # Chance of a row averages over the clips where that row's precision is defined.
        wide.loc[wide["precision"].isna(), "chance"] = np.nan
    metrics = [*PRECISION_METRICS, "chance", "recall", *MATCHED_METRICS, MATCHED_DELTA]
    table = _summarise(wide, keys, metrics, primary="precision", settings=settings)
    table = _paired(table, wide, keys, DELTA_METRICS["table1"], settings)
    table.insert(3, "tau", tau)
    table.insert(4, "q", q)
    table["motion"] = motion_text(frame)
    return _order(table, ["method"])


def motion_text(frame: pd.DataFrame) -> str:
    """Which flow the motion metrics of ``frame`` used, from its per-clip ``motion_compensated``
    and ``border_margin`` rows: e.g. ``"raw flow"``, ``"camera-compensated flow, 16 px border
    left out"``; ``"mixed: ..."`` when videos differ (metrics of two settings concatenated)."""
    settings = frame[frame["metric"].isin(["motion_compensated", "border_margin"])]
    if settings.empty:
        return "raw flow"  # metrics written before the setting was recorded
    per_clip = settings.pivot_table(index=["video", "clip"], columns="metric", values="value", aggfunc="first")
    texts = []
    for compensated, margin in (
        per_clip.reindex(columns=["motion_compensated", "border_margin"]).fillna(0).itertuples(index=False)
    ):
        text = "camera-compensated flow" if compensated else "raw flow"
        texts.append(text + (f", {margin:g} px border left out" if margin else ""))
    distinct = sorted(set(texts))
    return distinct[0] if len(distinct) == 1 else "mixed: " + "; ".join(distinct)


def _table2(frame: pd.DataFrame, q: float, settings: dict) -> pd.DataFrame:
    keys = ["method", "other_method", "variant", "n"]
    wide = _wide(_select(frame, ["iou", "topq_iou"], q=q), keys)
    table = _summarise(wide, keys, ["iou", "topq_iou"], primary="iou", settings=settings)
    table = _paired(table, wide, keys, DELTA_METRICS["table2"], settings)
    table.insert(4, "q", q)
    return _order(table, ["method", "other_method"])


def _table3(frame: pd.DataFrame, settings: dict) -> pd.DataFrame:
    keys = ["method", "variant", "n"]
    wide = _wide(_select(frame, ["selectivity_voxels", "selectivity_relevance"]), keys)
    table = _summarise(
        wide, keys, ["selectivity_voxels", "selectivity_relevance"], primary="selectivity_voxels", settings=settings
    )
    return _order(table, ["method"])


def _table4(frame: pd.DataFrame, settings: dict) -> pd.DataFrame:
    timing = _select(frame, ["seconds", "overhead"])
    baseline = timing[(timing["variant"] == "baseline") & (timing["metric"] == "seconds")]
    baseline = baseline[["video", "clip", "method", "value"]].rename(columns={"value": "baseline_seconds"})
    selective = _wide(timing[timing["variant"] != "baseline"], ["method", "variant", "n"])
    selective = selective.rename(columns={"seconds": "selective_seconds"})
    if selective.empty:
        wide = baseline.assign(variant="selective", n=_NO_N, selective_seconds=np.nan, overhead=np.nan)
    else:
        # Each n of a method (and its calibrated test) is listed with the same baseline timing beside it.
        wide = baseline.merge(selective, on=["video", "clip", "method"], how="outer")
        wide["n"] = wide["n"].fillna(_NO_N)
        wide["variant"] = wide["variant"].fillna("selective")
    table = _summarise(
        wide,
        ["method", "variant", "n"],
        ["baseline_seconds", "selective_seconds", "overhead"],
        primary="baseline_seconds",
        settings=settings,
    )
    return _order(table, ["method"])


def _accuracy(frame: pd.DataFrame, settings: dict) -> pd.DataFrame:
    correct = frame[(frame["metric"] == "correct") & frame["value"].notna()]
    if correct.empty:
        return pd.DataFrame(columns=["accuracy", "accuracy_low", "accuracy_high", "clips", "videos"])
    interval = bootstrap_mean(correct["value"].to_numpy(), correct["video"].to_numpy(), bounds=(0.0, 1.0), **settings)
    return pd.DataFrame(
        {
            "accuracy": [interval.mean],
            "accuracy_low": [interval.low],
            "accuracy_high": [interval.high],
            "clips": [interval.clips],
            "videos": [interval.videos],
        }
    )


def _paired_matched(
    table: pd.DataFrame, wide: pd.DataFrame, matched: pd.DataFrame, keys: list[str], metrics, settings: dict
) -> pd.DataFrame:
    """``table`` with ``<metric>_matched_delta_mean/_low/_high`` on selective rows: the paired
    difference to the size-matched control (variant ``matched``, same method and n) on the same clips."""
    columns = [column for metric in metrics for column in _interval_columns(f"{metric}_matched_delta")]
    if table.empty or matched.empty:
        return table.reindex(columns=[*table.columns, *columns])
    same = ["video", "clip", *[key for key in keys if key != "variant"]]
    selective = wide[wide["variant"] == "selective"]
    pairs = selective.merge(matched[[*same, *metrics]], on=same, how="inner", suffixes=("", "_matched"))
    if pairs.empty:
        return table.reindex(columns=[*table.columns, *columns])
    for metric in metrics:
        pairs[f"{metric}_matched_delta"] = pairs[metric] - pairs[f"{metric}_matched"]
    deltas = _intervals(pairs, keys, [f"{metric}_matched_delta" for metric in metrics], settings).reset_index()
    return table.merge(deltas, on=keys, how="left")[[*table.columns, *columns]]


def _faithfulness(frame: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """Per method, variant and n: mean over clips (with interval and std) of the AUCs and
    smoothness, the paired difference of the AUCs to the baseline on selective rows, and the
    pointing-game accuracy pooled over annotated frames (sum of hits / sum of hits + misses),
    its interval resampling videos with each clip weighted by its annotated frames."""
    keys = ["method", "variant", "n"]
    wide = _wide(_select(frame, [*FAITHFULNESS_METRICS, "pointing_hits", "pointing_misses"]), keys)
    matched = wide[wide["variant"] == "matched"] if "variant" in wide else wide.iloc[0:0]
    wide = wide[wide["variant"] != "matched"] if "variant" in wide else wide
    table = _summarise(wide.copy(), keys, list(FAITHFULNESS_METRICS), primary="smoothness_temporal", settings=settings)
    table = _paired(table, wide, keys, DELTA_METRICS["faithfulness"], settings)
    table = _paired_matched(table, wide, matched, keys, DELTA_METRICS["faithfulness"], settings)
    deltas = [column for column in table.columns if "_delta_" in column]
    measured = [column for column in table.columns if column not in deltas and column not in ("clips", "videos")]
    pointing = ["pointing_accuracy", "pointing_accuracy_low", "pointing_accuracy_high", "pointing_frames"]
    columns = [*measured, *pointing, "clips", "videos", *deltas]
    if table.empty:
        return pd.DataFrame(columns=columns)
    for column in ("pointing_hits", "pointing_misses"):
        if column not in wide.columns:
            wide[column] = np.nan
    wide["pointing_frames"] = wide["pointing_hits"] + wide["pointing_misses"]
    wide["pointing_rate"] = wide["pointing_hits"] / wide["pointing_frames"].where(wide["pointing_frames"] > 0)
    records = {}
    for key, group in wide.groupby(keys, sort=False):
        # Pooled hits / frames is the frame-weighted mean of the per-clip rates.
        interval = bootstrap_mean(
            group["pointing_rate"].to_numpy(),
            group["video"].to_numpy(),
            weights=group["pointing_frames"].fillna(0).to_numpy(),
            bounds=metric_bounds("pointing_rate"),
            **settings,
        )
        frames = int(group["pointing_frames"].fillna(0).sum())
        records[key] = (interval.mean, interval.low, interval.high, frames)
    pooled = pd.DataFrame([(*key, *values) for key, values in records.items()], columns=[*keys, *pointing])
    table = table.merge(pooled, on=keys, how="left")
    return _order(table[columns], ["method"])


def build_tables(
    metrics: pd.DataFrame,
    *,
    tau: float | None = None,
    q: float | None = None,
    bootstrap: Mapping | None = None,
) -> dict[str, pd.DataFrame]:
    """Numeric tables from tidy metrics of any number of videos.

    Args:
        metrics: tidy rows (columns ``TIDY_COLUMNS``), e.g. all per-video frames concatenated.
        tau: motion threshold (pixels per frame) reported in Table 1; default ``headline_tau``.
        q: top-q fraction reported in Tables 1 and 2; default ``headline_q``.
        bootstrap: the study's ``metrics.bootstrap`` (``method``, ``resamples``, ``level``, ``seed``)
            for every interval; default t, 95 % (bootstrap methods: 2000 resamples, seed 0).
    Returns:
        ``{"table1": motion precision, "table2": agreement, "table3": selectivity,
        "table4": overhead, "accuracy": clip accuracy, "faithfulness": deletion/insertion AUC,
        pointing game, smoothness per method and variant}``; columns in ``docs/metrics.md``.
        Each table's ``attrs["bootstrap"]`` holds the settings, which the captions quote.
    """
    settings = bootstrap_settings(bootstrap)
    frame = normalise_metrics(metrics)
    tau = headline_tau(frame) if tau is None else float(tau)
    q = headline_q(frame) if q is None else float(q)
    for name, wanted, metric_names in (("tau", tau, PRECISION_METRICS), ("q", q, ("topq_precision", "topq_iou"))):
        available = frame.loc[frame["metric"].isin(metric_names), name].dropna().unique()
        if not math.isnan(wanted) and len(available) and not np.isclose(available, wanted).any():
            raise VideoXAIError(
                f"{wanted:g} is not in the metrics (available: "
                f"{', '.join(f'{value:g}' for value in sorted(available))})",
                name,
            )
    tables = {
        "table1": _table1(frame, tau, q, settings),
        "table2": _table2(frame, q, settings),
        "table3": _table3(frame, settings),
        "table4": _table4(frame, settings),
        "accuracy": _accuracy(frame, settings),
        "faithfulness": _faithfulness(frame, settings),
        "calibration": calibration_table(frame, settings),
        "motion_reliance": motion_reliance_table(frame, settings),
        "explanation_behaviour": explanation_behaviour_table(frame, settings),
    }
    for table in tables.values():
        table.attrs["bootstrap"] = dict(settings)
    return tables


# ----------------------------------------------------------------------------- rendering


def _interval(row, metric: str, scale: float = 1.0, digits: int = 3, *, signed: bool = False) -> str:
    """``mean [low, high]`` from ``<metric>_mean/_low/_high`` (or ``<metric>`` itself as the mean)."""
    mean = row[f"{metric}_mean"] if f"{metric}_mean" in row.index else row[metric]
    interval = Interval(float(mean), float(row[f"{metric}_low"]), float(row[f"{metric}_high"]), 0, 0)
    return interval_text(interval, scale, digits, signed=signed)


def _delta(row, metric: str, scale: float = 1.0, digits: int = 3) -> str:
    """The signed paired difference on a selective or calibrated row; empty on a baseline row."""
    return _interval(row, f"{metric}_delta", scale, digits, signed=True) if row["variant"] != "baseline" else ""


def _matched(row, metric: str, signed: bool = False) -> str:
    """A size-matched control's cell: empty on a baseline row (its size is its own)."""
    if row["variant"] == "baseline":
        return ""
    return _interval(row, metric, signed=signed)


def _n_text(value) -> str:
    return "" if pd.isna(value) else f"{value:g}"


def _variant_text(row) -> str:
    return {"baseline": "Baseline", "calibrated": "Calibrated"}.get(row["variant"], "Selective")


def _clips(row) -> str:
    return str(int(row["clips"]))


def _videos(row) -> str:
    return str(int(row["videos"]))


def _percent(q: float) -> str:
    return "–" if pd.isna(q) else f"{q * 100:g}%"


@dataclass(frozen=True)
class Layout:
    """What every table's caption shares: the interval's description, the paired-difference note,
    the headline τ and top-q fraction."""

    statistics: str
    paired: str
    tau: str
    q: float
    statistics_text: str = ""
    resampling: str = ""

    def paired_for(self, what: str) -> str:
        return self.paired.format(what=what)


# A column of a rendered table: its header and how to format one row's cell.
Column = tuple[str, Callable]


def _method_columns(with_variant: bool = True) -> list[Column]:
    columns = [("Method", lambda r: method_label(r["method"]))]
    if with_variant:
        columns.append(("Variant", _variant_text))
    return columns + [("n", lambda r: _n_text(r["n"]))]


def _counts() -> list[Column]:
    return [("Clips", _clips), ("Videos", _videos)]


def _with_delta(header: str, metric: str, **format_options) -> list[Column]:
    return [
        (header, lambda r: _interval(r, metric, **format_options)),
        (f"Δ {header}", lambda r: _delta(r, metric, **format_options)),
    ]


def _table1_layout(table: pd.DataFrame, layout: Layout) -> tuple[str, list[Column]]:
    top = _percent(layout.q)
    motion = table["motion"].iloc[0] if len(table) and "motion" in table else "raw flow"
    caption = (
        f"Table 1: Motion precision at τ = {layout.tau} px/frame. P (R>0): share of positive-relevance voxels that "
        f"move; weighted: share of positive relevance on moving voxels; top {top}: share of the top "
        f"{top} voxels by relevance that move; chance: share of all voxels that move; recall: share of the "
        "moving voxels the map's R>0 set covers. Size-matched controls of a selective or calibrated map of k "
        "voxels: P (top-k), the precision of the baseline's k most relevant voxels, and P (random-k), of k "
        "random voxels of the baseline's R>0 set (seeded); Δ vs top-k is the paired difference selective − top-k "
        "on the same clips, what the temporal selection finds beyond its size. Calibrated: the calibrated test's "
        "map (docs/calibration.md), at the clip's middle frame. "
        f"Motion: {motion}. {layout.statistics} " + layout.paired_for("method")
    )
    columns = [
        *_method_columns(),
        *_with_delta("P (R>0)", "precision"),
        *_with_delta("P (weighted)", "weighted_precision"),
        *_with_delta(f"P (top {top})", "topq_precision"),
        ("Chance", lambda r: _interval(r, "chance")),
        ("Recall", lambda r: _interval(r, "recall")),
        ("P (top-k)", lambda r: _matched(r, "matched_top_precision")),
        ("Δ vs top-k", lambda r: _matched(r, MATCHED_DELTA, signed=True)),
        ("P (random-k)", lambda r: _matched(r, "matched_random_precision")),
        *_counts(),
    ]
    return caption, columns


def _table2_layout(table: pd.DataFrame, layout: Layout) -> tuple[str, list[Column]]:
    top = _percent(layout.q)
    caption = (
        f"Table 2: Agreement between methods on the same clip: intersection over union of their R>0 voxel "
        f"sets and of their top-{top} sets (selective: both at the same n). {layout.statistics} "
        + layout.paired_for("pair of methods")
    )
    columns = [
        ("Methods", lambda r: f"{method_label(r['method'])} / {method_label(r['other_method'])}"),
        ("Variant", _variant_text),
        ("n", lambda r: _n_text(r["n"])),
        *_with_delta("IoU (R>0)", "iou"),
        *_with_delta(f"IoU (top {top})", "topq_iou"),
        *_counts(),
    ]
    return caption, columns


def _table3_layout(table: pd.DataFrame, layout: Layout) -> tuple[str, list[Column]]:
    caption = (
        f"Table 3: Selectivity: positive voxels of the selective map / of the baseline, and positive relevance "
        f"of the selective map / of the baseline (each already a paired comparison of the same clip's two maps; "
        f"1 would mean selective relevance keeps everything). {layout.statistics}"
    )
    columns = [
        *_method_columns(),
        ("Voxels kept", lambda r: _interval(r, "selectivity_voxels")),
        ("Relevance kept", lambda r: _interval(r, "selectivity_relevance")),
        *_counts(),
    ]
    return caption, columns


def _table4_layout(table: pd.DataFrame, layout: Layout) -> tuple[str, list[Column]]:
    caption = (
        f"Table 4: Time per explanation (one clip) of each method alone and with selective relevance; "
        f"overhead: extra time of the selection step relative to the method alone (calibrated: the still "
        f"copies' explanations and the test). {layout.statistics}"
    )
    columns = [
        *_method_columns(),
        ("Method alone (s)", lambda r: _interval(r, "baseline_seconds")),
        ("With selective (s)", lambda r: _interval(r, "selective_seconds")),
        ("Overhead (%)", lambda r: _interval(r, "overhead", scale=100.0, digits=1)),
        *_counts(),
    ]
    return caption, columns


def _faithfulness_layout(table: pd.DataFrame, layout: Layout) -> tuple[str, list[Column]]:
    caption = (
        "Faithfulness: deletion AUC (lower is better) and insertion AUC (higher is better) of the target's "
        "softmax probability as the most relevant voxels (or grid cells) are removed / revealed; pointing "
        "game: hits / (hits + misses) over annotated frames (– without annotations; its interval weighs each "
        "clip by its annotated frames); smoothness: mean absolute difference of the max-normalised map "
        "between neighbouring frames (temporal) and pixels (spatial), lower is smoother. Random: a uniformly "
        "random map, the reference. Δ vs top-k: selective minus the size-matched control (the baseline kept on "
        f"its k most relevant voxels, k the selective map's size) on the same clips. {layout.statistics} "
        + layout.paired_for("method")
    )
    columns = [
        *_method_columns(),
        ("Deletion AUC", lambda r: _interval(r, "deletion_auc")),
        ("Δ deletion", lambda r: _delta(r, "deletion_auc")),
        ("Insertion AUC", lambda r: _interval(r, "insertion_auc")),
        ("Δ insertion", lambda r: _delta(r, "insertion_auc")),
        ("Δ deletion vs top-k", lambda r: _matched(r, "deletion_auc_matched_delta", signed=True)),
        ("Δ insertion vs top-k", lambda r: _matched(r, "insertion_auc_matched_delta", signed=True)),
        ("Pointing game", lambda r: _interval(r, "pointing_accuracy") if r["pointing_frames"] else "–"),
        ("Smoothness (temporal)", lambda r: _interval(r, "smoothness_temporal", digits=4)),
        ("Smoothness (spatial)", lambda r: _interval(r, "smoothness_spatial", digits=4)),
        *_counts(),
    ]
    return caption, columns


def _calibration_layout(table: pd.DataFrame, layout: Layout) -> tuple[str, list[Column]]:
    alpha = ", ".join(sorted({f"{value:g}" for value in table.get("alpha", pd.Series(dtype=float)).dropna()})) or "α"
    caption = (
        f"Calibrated motion test (docs/calibration.md): a clip is flagged when its explanation at the middle "
        f"frame holds more than the explanation of a still copy of that frame, judged against a null pooled "
        f"over the study's clips from still copies shifted by one pixel, at α = {alpha}. Flagged: share of "
        "clips [Wilson interval over videos]; kept share: positive relevance of the frame in the calibrated map "
        f"[{layout.statistics_text}]; with M null maps no p-value is below 1/(1 + M), so below 1/α − 1 maps no "
        "clip can be flagged."
    )
    columns = [
        ("Method", lambda r: method_label(r["method"])),
        ("Flagged", lambda r: _interval(r, "flagged")),
        ("Flagged clips", lambda r: str(int(r["flagged_clips"]))),
        ("Median p", lambda r: f"{r['p_median']:.3f}"),
        ("Kept share", lambda r: _interval(r, "share")),
        ("Null maps", lambda r: str(int(r["null_maps"]))),
        ("Smallest p", lambda r: f"{r['smallest_p']:.3f}" if pd.notna(r["smallest_p"]) else "–"),
        *_counts(),
    ]
    return caption, columns


def _reliance_layout(table: pd.DataFrame, layout: Layout) -> tuple[str, list[Column]]:
    caption = (
        "Motion reliance: what the model does without motion. P: the softmax probability of the explained "
        "class on the clip, on its still copy (middle frame repeated) and on its temporally shuffled copies "
        "(seeded); drops: clip minus still / shuffled. With labels: top-1 accuracy on each, and contrasted "
        "accuracy (SCUFO, Li et al. 2023): right on the clip and a different prediction on the still copy. "
        f"{layout.statistics}"
    )
    columns = [
        ("Class", lambda r: str(r["class_name"]) or "(no label)"),
        ("P (clip)", lambda r: _interval(r, "p_clip")),
        ("P (still)", lambda r: _interval(r, "p_still")),
        ("P (shuffled)", lambda r: _interval(r, "p_shuffled")),
        ("Freeze drop", lambda r: _interval(r, "freeze_drop", signed=True)),
        ("Shuffle drop", lambda r: _interval(r, "shuffle_drop", signed=True)),
        ("Accuracy (clip)", lambda r: _interval(r, "correct_clip")),
        ("Accuracy (still)", lambda r: _interval(r, "correct_still")),
        ("Accuracy (shuffled)", lambda r: _interval(r, "correct_shuffled")),
        ("Contrasted accuracy", lambda r: _interval(r, "contrasted_correct")),
        *_counts(),
    ]
    return caption, columns


def _explanation_behaviour_layout(table: pd.DataFrame, layout: Layout) -> tuple[str, list[Column]]:
    caption = (
        "Explanation vs behaviour: Spearman's ρ across clips between a motion measure of each method's "
        "explanation and how much the model's probability drops on a still (freeze) or shuffled copy, with a "
        f"percentile bootstrap interval that resamples videos ({layout.resampling}). An explanation that tracks the "
        "model's use of motion has ρ > 0 with an interval above 0; with few videos the interval is wide and its "
        "coverage below its level (docs/metrics.md)."
    )
    columns = [
        ("Method", lambda r: method_label(r["method"])),
        ("Measure", lambda r: MEASURES.get(r["measure"], r["measure"])),
        ("Behaviour", lambda r: BEHAVIOURS.get(r["behaviour"], r["behaviour"])),
        ("ρ", lambda r: interval_text(Interval(r["rho"], r["rho_low"], r["rho_high"], 0, 0), signed=True)),
        *_counts(),
    ]
    return caption, columns


LAYOUTS: dict[str, Callable[[pd.DataFrame, Layout], tuple[str, list[Column]]]] = {
    "table1": _table1_layout,
    "table2": _table2_layout,
    "table3": _table3_layout,
    "table4": _table4_layout,
    "faithfulness": _faithfulness_layout,
    "calibration": _calibration_layout,
    "motion_reliance": _reliance_layout,
    "explanation_behaviour": _explanation_behaviour_layout,
}


def _resampling_text(settings: Mapping | None) -> str:
    settings = bootstrap_settings(settings)
    return f"{settings['level'] * 100:g} %, {settings['resamples']} resamples, seed {settings['seed']}"


def _display(name: str, table: pd.DataFrame, tau: float, q: float) -> tuple[str, list[str], list[Callable]]:
    """Caption, column headers and one formatter per column for the md/tex/html rendering."""
    bootstrap = describe_settings(table.attrs.get("bootstrap"))
    layout = Layout(
        statistics=(
            f"Each cell: mean over clips (each clip weighs the same) [{bootstrap}]; "
            "clips/videos: how many had a defined value."
        ),
        paired=(
            "Δ: selective minus baseline of the same {what} on the same clips (a paired difference), with its "
            "interval; an interval that excludes 0 is a difference the data support, one that contains 0 is not."
        ),
        tau="–" if pd.isna(tau) else f"{tau:g}",
        q=q,
        statistics_text=bootstrap,
        resampling=_resampling_text(table.attrs.get("bootstrap")),
    )
    if name == "accuracy":
        caption = f"Model accuracy on the clips with a known label (top-1) [{bootstrap}]."
        columns = [("Accuracy (%)", lambda r: _interval(r, "accuracy", scale=100.0, digits=1)), *_counts()]
    else:
        caption, columns = LAYOUTS[name](table, layout)
    return caption, [header for header, _ in columns], [formatter for _, formatter in columns]


def render_table(name: str, table: pd.DataFrame, tau: float = math.nan, q: float = math.nan) -> tuple[str, str]:
    """Markdown and LaTeX text of one table from :func:`build_tables`."""
    caption, headers, formatters = _display(name, table, tau, q)
    rows = [[format_cell(row) for format_cell in formatters] for _, row in table.iterrows()]
    return markdown_table(caption, headers, rows), latex_table(caption, name, headers, rows)


def table_html(
    name: str, table: pd.DataFrame, tau: float = math.nan, q: float = math.nan, *, standalone: bool = True
) -> str:
    """One table from :func:`build_tables` as an HTML ``<table>`` with its caption (a whole page
    with a small stylesheet when ``standalone``)."""
    caption, headers, formatters = _display(name, table, tau, q)
    rows = [[format_cell(row) for format_cell in formatters] for _, row in table.iterrows()]
    return html_table(name, caption, headers, rows, standalone=standalone, title=TABLE_TITLES[name])


def absent_tables(tables: dict[str, pd.DataFrame], reasons: dict[str, str] | None = None) -> dict[str, str]:
    """Name -> one-line reason for every table of ``tables`` without rows."""
    reasons = {**ABSENT_REASONS, **(reasons or {})}
    return {name: reasons.get(name, "no rows") for name in TABLE_NAMES if tables[name].empty}


def write_tables(
    metrics: pd.DataFrame,
    out_dir,
    *,
    tau: float | None = None,
    q: float | None = None,
    bootstrap: Mapping | None = None,
    html_dir=None,
    reasons: dict[str, str] | None = None,
) -> list[Path]:
    """Write every table with rows as ``.csv``/``.md``/``.tex`` (and ``.html`` into ``html_dir``),
    plus ``metrics.csv`` and ``status.json``.

    A table without rows is not written (an empty table reads as a broken one), and a file
    left from an earlier run under its name is removed. ``status.json`` holds
    ``{"written": [names], "absent": {name: reason}}``; ``reasons`` overrides
    :data:`ABSENT_REASONS` (e.g. "faithfulness is off"). ``bootstrap`` is the study's
    ``metrics.bootstrap`` (see :func:`build_tables`). Returns the paths written, in a fixed order.
    """
    frame = normalise_metrics(metrics)
    tau = headline_tau(frame) if tau is None else float(tau)
    q = headline_q(frame) if q is None else float(q)
    tables = build_tables(frame, tau=tau, q=q, bootstrap=bootstrap)
    absent = absent_tables(tables, reasons)
    out_dir = Path(out_dir)
    html_dir = Path(html_dir) if html_dir is not None else None
    written = []
    for name in TABLE_NAMES:
        targets = [out_dir / f"{name}.{suffix}" for suffix in ("csv", "md", "tex")]
        targets += [html_dir / f"{name}.html"] if html_dir is not None else []
        if name in absent:
            for path in targets:
                path.unlink(missing_ok=True)
            continue
        table = tables[name]
        markdown, latex = render_table(name, table, tau, q)
        written.append(atomic_write(targets[0], lambda p, t=table: t.to_csv(p, index=False)))
        written.append(atomic_write(targets[1], lambda p, text=markdown: p.write_text(text, encoding="utf-8")))
        written.append(atomic_write(targets[2], lambda p, text=latex: p.write_text(text, encoding="utf-8")))
        if html_dir is not None:
            page = table_html(name, table, tau, q)
            written.append(atomic_write(targets[3], lambda p, text=page: p.write_text(text, encoding="utf-8")))
    written.append(atomic_write(out_dir / "metrics.csv", lambda p: frame.to_csv(p, index=False)))
    status = {"written": [name for name in TABLE_NAMES if name not in absent], "absent": absent}
    written.append(
        atomic_write(
            out_dir / "status.json", lambda p: p.write_text(json.dumps(status, indent=2) + "\n", encoding="utf-8")
        )
    )
    return written
