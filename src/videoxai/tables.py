"""Paper-style tables (Hiley et al. 2020, Tables 1-4) from the tidy per-clip metrics.

``build_tables`` turns the long-format rows of :func:`videoxai.metrics.compute_clip_metrics`
(all videos concatenated) into one numeric DataFrame per table: mean and sample standard
deviation (ddof = 1) over clips, each clip weighing the same, and the number of clips and
videos that had a defined value. ``write_tables`` writes each as ``.csv`` (numbers, code names),
``.md``, ``.tex`` and ``.html`` (``mean ± std``, the paper's method names and order) plus the tidy
``metrics.csv``. A table without rows is not written; ``status.json`` says why it is absent.
Layouts are described in ``docs/metrics.md``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from videoxai.errors import VideoXAIError
from videoxai.files import atomic_write
from videoxai.methods import method_label
from videoxai.metrics import (
    DEFAULT_TAU,
    DEFAULT_TOP_Q,
    PRECISION_METRICS,
    TIDY_COLUMNS,
    VARIANTS,
    ordered_methods,
)

TABLE_NAMES: tuple[str, ...] = ("table1", "table2", "table3", "table4", "accuracy", "faithfulness")

TABLE_TITLES: dict[str, str] = {
    "table1": "Table 1: motion precision",
    "table2": "Table 2: agreement between methods",
    "table3": "Table 3: selectivity",
    "table4": "Table 4: overhead",
    "accuracy": "Clip accuracy",
    "faithfulness": "Faithfulness",
}

# Why a table has no rows, when nothing more specific is known (the workflow passes its own).
ABSENT_REASONS: dict[str, str] = {
    "table1": "no clip has motion-precision values (every video failed, or no method ran)",
    "table2": "no clip was explained by two or more methods",
    "table3": "no selective maps (selective.n is empty)",
    "table4": "no timings were recorded",
    "accuracy": "no clip has a label among the model's classes",
    "faithfulness": "no faithfulness rows (the faithfulness stage did not run)",
}

FAITHFULNESS_METRICS: tuple[str, ...] = ("deletion_auc", "insertion_auc", "smoothness_temporal", "smoothness_spatial")

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
    # Optional per-row columns (videoxai.correctness) travel along into metrics.csv when present.
    for column in ("correct", "predicted_correct"):
        if column in metrics.columns:
            frame[column] = pd.to_numeric(metrics[column], errors="coerce").astype(np.float64)
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
    """The tau the tables report: ``DEFAULT_TAU`` if present, else the nearest one in the data."""
    taus = sorted(set(metrics.loc[metrics["metric"].isin(PRECISION_METRICS), "tau"].dropna()))
    if not taus:
        return math.nan
    return min(taus, key=lambda tau: (abs(tau - DEFAULT_TAU), tau))


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


def _summarise(wide: pd.DataFrame, keys: list[str], metrics: list[str], primary: str) -> pd.DataFrame:
    """Mean and std of each metric per group, with clips/videos counted on ``primary``."""
    for metric in metrics:
        if metric not in wide.columns:
            wide[metric] = np.nan
    columns = [*keys]
    for metric in metrics:
        columns += [f"{metric}_mean", f"{metric}_std"]
    columns += ["clips", "videos"]
    if wide.empty:
        return pd.DataFrame(columns=columns)
    grouped = wide.groupby(keys, sort=False)
    result = grouped[metrics].agg(["mean", "std"])
    result.columns = [f"{metric}_{statistic}" for metric, statistic in result.columns]
    defined = wide[wide[primary].notna()]
    result["clips"] = defined.groupby(keys, sort=False)[primary].count().reindex(result.index).fillna(0).astype(int)
    result["videos"] = defined.groupby(keys, sort=False)["video"].nunique().reindex(result.index).fillna(0).astype(int)
    return result.reset_index()[columns]


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


def _table1(frame: pd.DataFrame, tau: float, q: float) -> pd.DataFrame:
    keys = ["method", "variant", "n"]
    wide = _wide(_select(frame, PRECISION_METRICS, tau=tau, q=q), keys)
    chance = _select(frame, ["chance"], tau=tau)[["video", "clip", "value"]].rename(columns={"value": "chance"})
    if not wide.empty:
        if "precision" not in wide.columns:
            wide["precision"] = np.nan
        wide = wide.merge(chance, on=["video", "clip"], how="left")
        # Chance of a row averages over the clips where that row's precision is defined.
        wide.loc[wide["precision"].isna(), "chance"] = np.nan
    table = _summarise(wide, keys, [*PRECISION_METRICS, "chance"], primary="precision")
    table.insert(3, "tau", tau)
    table.insert(4, "q", q)
    return _order(table, ["method"])


def _table2(frame: pd.DataFrame, q: float) -> pd.DataFrame:
    keys = ["method", "other_method", "variant", "n"]
    wide = _wide(_select(frame, ["iou", "topq_iou"], q=q), keys)
    table = _summarise(wide, keys, ["iou", "topq_iou"], primary="iou")
    table.insert(4, "q", q)
    return _order(table, ["method", "other_method"])


def _table3(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["method", "n"]
    wide = _wide(_select(frame, ["selectivity_voxels", "selectivity_relevance"]), keys)
    table = _summarise(wide, keys, ["selectivity_voxels", "selectivity_relevance"], primary="selectivity_voxels")
    return _order(table, ["method"])


def _table4(frame: pd.DataFrame) -> pd.DataFrame:
    timing = _select(frame, ["seconds", "overhead"])
    baseline = timing[(timing["variant"] == "baseline") & (timing["metric"] == "seconds")]
    baseline = baseline[["video", "clip", "method", "value"]].rename(columns={"value": "baseline_seconds"})
    selective = _wide(timing[timing["variant"] == "selective"], ["method", "n"])
    selective = selective.rename(columns={"seconds": "selective_seconds"})
    if selective.empty:
        wide = baseline.assign(n=_NO_N, selective_seconds=np.nan, overhead=np.nan)
    else:
        # Each n of a method is listed with the same baseline timing beside it.
        wide = baseline.merge(selective, on=["video", "clip", "method"], how="outer")
        wide["n"] = wide["n"].fillna(_NO_N)
    table = _summarise(
        wide, ["method", "n"], ["baseline_seconds", "selective_seconds", "overhead"], primary="baseline_seconds"
    )
    return _order(table, ["method"])


def _accuracy(frame: pd.DataFrame) -> pd.DataFrame:
    correct = frame[(frame["metric"] == "correct") & frame["value"].notna()]
    if correct.empty:
        return pd.DataFrame(columns=["accuracy", "clips", "videos"])
    return pd.DataFrame(
        {"accuracy": [correct["value"].mean()], "clips": [len(correct)], "videos": [correct["video"].nunique()]}
    )


def _faithfulness(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method, variant and n: mean ± std over clips of the AUCs and smoothness, and the
    pointing-game accuracy pooled over annotated frames (sum of hits / sum of hits + misses)."""
    keys = ["method", "variant", "n"]
    wide = _wide(_select(frame, [*FAITHFULNESS_METRICS, "pointing_hits", "pointing_misses"]), keys)
    table = _summarise(wide.copy(), keys, list(FAITHFULNESS_METRICS), primary="smoothness_temporal")
    columns = [*table.columns[:-2], "pointing_accuracy", "pointing_frames", "clips", "videos"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    for column in ("pointing_hits", "pointing_misses"):
        if column not in wide.columns:
            wide[column] = np.nan
    pooled = wide.groupby(keys, sort=False)[["pointing_hits", "pointing_misses"]].sum(min_count=1)
    frames = pooled["pointing_hits"] + pooled["pointing_misses"]
    pooled["pointing_accuracy"] = (pooled["pointing_hits"] / frames.where(frames > 0)).astype(np.float64)
    pooled["pointing_frames"] = frames.fillna(0).astype(int)
    table = table.merge(pooled[["pointing_accuracy", "pointing_frames"]].reset_index(), on=keys, how="left")
    return _order(table[columns], ["method"])


def build_tables(metrics: pd.DataFrame, *, tau: float | None = None, q: float | None = None) -> dict[str, pd.DataFrame]:
    """Numeric tables from tidy metrics of any number of videos.

    Args:
        metrics: tidy rows (columns ``TIDY_COLUMNS``), e.g. all per-video frames concatenated.
        tau: motion threshold (pixels per frame) reported in Table 1; default ``headline_tau``.
        q: top-q fraction reported in Tables 1 and 2; default ``headline_q``.
    Returns:
        ``{"table1": motion precision, "table2": agreement, "table3": selectivity,
        "table4": overhead, "accuracy": clip accuracy, "faithfulness": deletion/insertion AUC,
        pointing game, smoothness per method and variant}``; columns in ``docs/metrics.md``.
    """
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
    return {
        "table1": _table1(frame, tau, q),
        "table2": _table2(frame, q),
        "table3": _table3(frame),
        "table4": _table4(frame),
        "accuracy": _accuracy(frame),
        "faithfulness": _faithfulness(frame),
    }


# ----------------------------------------------------------------------------- rendering


def _number(value: float, digits: int = 3) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _mean_std(row, metric: str, scale: float = 1.0, digits: int = 3) -> str:
    mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
    if pd.isna(mean):
        return "–"
    text = f"{mean * scale:.{digits}f}"
    return text if pd.isna(std) else f"{text} ± {std * scale:.{digits}f}"


def _n_text(value) -> str:
    return "" if pd.isna(value) else f"{value:g}"


def _variant_text(row) -> str:
    return "Baseline" if row["variant"] == "baseline" else "Selective"


def _clips(row) -> str:
    return str(int(row["clips"]))


def _videos(row) -> str:
    return str(int(row["videos"]))


def _percent(q: float) -> str:
    return "–" if pd.isna(q) else f"{q * 100:g}%"


def _display(name: str, table: pd.DataFrame, tau: float, q: float) -> tuple[str, list[str], list[Callable]]:
    """Caption, column headers and one formatter per column for the md/tex rendering."""
    statistics = "Mean ± std over clips (each clip weighs the same); clips/videos: how many had a defined value."
    if name == "table1":
        return (
            f"Table 1: Motion precision at τ = {'–' if pd.isna(tau) else f'{tau:g}'} px/frame. P (R>0): share of positive-relevance voxels that "
            f"move; weighted: share of positive relevance on moving voxels; top {_percent(q)}: share of the top "
            f"{_percent(q)} voxels by relevance that move; chance: share of all voxels that move. {statistics}",
            [
                "Method",
                "Variant",
                "n",
                "P (R>0)",
                "P (weighted)",
                f"P (top {_percent(q)})",
                "Chance",
                "Clips",
                "Videos",
            ],
            [
                lambda r: method_label(r["method"]),
                _variant_text,
                lambda r: _n_text(r["n"]),
                lambda r: _mean_std(r, "precision"),
                lambda r: _mean_std(r, "weighted_precision"),
                lambda r: _mean_std(r, "topq_precision"),
                lambda r: _mean_std(r, "chance"),
                _clips,
                _videos,
            ],
        )
    if name == "table2":
        return (
            f"Table 2: Agreement between methods on the same clip: intersection over union of their R>0 voxel "
            f"sets and of their top-{_percent(q)} sets (selective: both at the same n). {statistics}",
            ["Methods", "Variant", "n", "IoU (R>0)", f"IoU (top {_percent(q)})", "Clips", "Videos"],
            [
                lambda r: f"{method_label(r['method'])} / {method_label(r['other_method'])}",
                _variant_text,
                lambda r: _n_text(r["n"]),
                lambda r: _mean_std(r, "iou"),
                lambda r: _mean_std(r, "topq_iou"),
                _clips,
                _videos,
            ],
        )
    if name == "table3":
        return (
            f"Table 3: Selectivity: positive voxels of the selective map / of the baseline, and positive relevance "
            f"of the selective map / of the baseline. {statistics}",
            ["Method", "n", "Voxels kept", "Relevance kept", "Clips", "Videos"],
            [
                lambda r: method_label(r["method"]),
                lambda r: _n_text(r["n"]),
                lambda r: _mean_std(r, "selectivity_voxels"),
                lambda r: _mean_std(r, "selectivity_relevance"),
                _clips,
                _videos,
            ],
        )
    if name == "table4":
        return (
            f"Table 4: Time per explanation (one clip) of each method alone and with selective relevance; "
            f"overhead: extra time of the selection step relative to the method alone. {statistics}",
            ["Method", "n", "Method alone (s)", "With selective (s)", "Overhead (%)", "Clips", "Videos"],
            [
                lambda r: method_label(r["method"]),
                lambda r: _n_text(r["n"]),
                lambda r: _mean_std(r, "baseline_seconds"),
                lambda r: _mean_std(r, "selective_seconds"),
                lambda r: _mean_std(r, "overhead", scale=100.0, digits=1),
                _clips,
                _videos,
            ],
        )
    if name == "faithfulness":
        return (
            "Faithfulness: deletion AUC (lower is better) and insertion AUC (higher is better) of the target's "
            "softmax probability as the most relevant voxels (or grid cells) are removed / revealed; pointing "
            "game: hits / (hits + misses) over annotated frames (– without annotations); smoothness: mean "
            "absolute difference of the max-normalised map between neighbouring frames (temporal) and pixels "
            f"(spatial), lower is smoother. Random: a uniformly random map, the reference. {statistics}",
            [
                "Method",
                "Variant",
                "n",
                "Deletion AUC",
                "Insertion AUC",
                "Pointing game",
                "Smoothness (temporal)",
                "Smoothness (spatial)",
                "Clips",
                "Videos",
            ],
            [
                lambda r: method_label(r["method"]),
                _variant_text,
                lambda r: _n_text(r["n"]),
                lambda r: _mean_std(r, "deletion_auc"),
                lambda r: _mean_std(r, "insertion_auc"),
                lambda r: _number(r["pointing_accuracy"]) if r["pointing_frames"] else "–",
                lambda r: _mean_std(r, "smoothness_temporal", digits=4),
                lambda r: _mean_std(r, "smoothness_spatial", digits=4),
                _clips,
                _videos,
            ],
        )
    return (
        "Model accuracy on the clips with a known label (top-1).",
        ["Accuracy (%)", "Clips", "Videos"],
        [lambda r: _number(r["accuracy"] * 100, 1), _clips, _videos],
    )


def _markdown(caption: str, headers: list[str], rows: list[list[str]]) -> str:
    # Written by hand: pandas' to_markdown needs tabulate, which is not a declared dependency.
    def line(cells):
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    align = [":---" if header in ("Method", "Methods", "Variant") else "---:" for header in headers]
    body = [line(headers), "| " + " | ".join(align) + " |", *(line(row) for row in rows)]
    return caption + "\n\n" + "\n".join(body) + "\n"


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _latex_text(text: str) -> str:
    escaped = "".join(_LATEX_ESCAPES.get(character, character) for character in text)
    return escaped.replace("±", r"$\pm$").replace("τ", r"$\tau$").replace("–", "--").replace("R>0", r"$R>0$")


def _latex(caption: str, label: str, headers: list[str], rows: list[list[str]]) -> str:
    # Written by hand: pandas' to_latex needs jinja2 and cannot put "mean ± std" in one cell cleanly.
    spec = "".join("l" if header in ("Method", "Methods", "Variant") else "r" for header in headers)
    lines = [
        "% Requires \\usepackage{booktabs}. Generated by videoxai.tables.write_tables.",
        "\\begin{table}[t]",
        "\\centering",
        f"\\caption{{{_latex_text(caption)}}}",
        f"\\label{{tab:{label}}}",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(_latex_text(header) for header in headers) + " \\\\",
        "\\midrule",
        *(" & ".join(_latex_text(cell) for cell in row) + " \\\\" for row in rows),
        "\\bottomrule",
        "\\end{tabular}",
        "\\end{table}",
    ]
    return "\n".join(lines) + "\n"


def render_table(name: str, table: pd.DataFrame, tau: float = math.nan, q: float = math.nan) -> tuple[str, str]:
    """Markdown and LaTeX text of one table from :func:`build_tables`."""
    caption, headers, formatters = _display(name, table, tau, q)
    rows = [[format_cell(row) for format_cell in formatters] for _, row in table.iterrows()]
    return _markdown(caption, headers, rows), _latex(caption, name, headers, rows)


TABLE_STYLE = (
    "table.videoxai{border-collapse:collapse;font-size:0.9em;margin:0.5em 0 1.5em 0}"
    "table.videoxai th,table.videoxai td{padding:0.25em 0.7em;border-bottom:1px solid #ddd;text-align:right}"
    "table.videoxai th{border-bottom:2px solid #444;font-weight:600}"
    "table.videoxai .text{text-align:left}"
    "table.videoxai caption{caption-side:top;text-align:left;max-width:60em;padding-bottom:0.5em;color:#444}"
)
_HTML_STYLE = "body{font-family:system-ui,sans-serif;margin:1em;color:#222}" + TABLE_STYLE


def table_html(
    name: str, table: pd.DataFrame, tau: float = math.nan, q: float = math.nan, *, standalone: bool = True
) -> str:
    """One table from :func:`build_tables` as an HTML ``<table>`` with its caption (a whole page
    with a small stylesheet when ``standalone``)."""
    caption, headers, formatters = _display(name, table, tau, q)
    text_columns = {"Method", "Methods", "Variant"}

    def cell(tag: str, header: str, value: str) -> str:
        kind = ' class="text"' if header in text_columns else ""
        return f"<{tag}{kind}>{html.escape(value)}</{tag}>"

    rows = [[format_cell(row) for format_cell in formatters] for _, row in table.iterrows()]
    body = "".join("<tr>" + "".join(cell("td", h, v) for h, v in zip(headers, row)) + "</tr>" for row in rows)
    element = (
        f'<table class="videoxai" id="{name}"><caption>{html.escape(caption)}</caption>'
        f"<thead><tr>{''.join(cell('th', h, h) for h in headers)}</tr></thead><tbody>{body}</tbody></table>"
    )
    if not standalone:
        return element
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(TABLE_TITLES[name])}</title>'
        f"<style>{_HTML_STYLE}</style></head><body>{element}</body></html>\n"
    )


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
    html_dir=None,
    reasons: dict[str, str] | None = None,
) -> list[Path]:
    """Write every table with rows as ``.csv``/``.md``/``.tex`` (and ``.html`` into ``html_dir``),
    plus ``metrics.csv`` and ``status.json``.

    A table without rows is not written (an empty table reads as a broken one), and a file
    left from an earlier run under its name is removed. ``status.json`` holds
    ``{"written": [names], "absent": {name: reason}}``; ``reasons`` overrides
    :data:`ABSENT_REASONS` (e.g. "faithfulness is off"). Returns the paths written, in a fixed order.
    """
    frame = normalise_metrics(metrics)
    tau = headline_tau(frame) if tau is None else float(tau)
    q = headline_q(frame) if q is None else float(q)
    tables = build_tables(frame, tau=tau, q=q)
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
