"""The front page of a study's report: what was run, the headline result with its numbers, the
tables, and one line for every table that is absent and why.

Everything is generated from the tables (:func:`videoxai.report.tables.build_tables`), so the numbers
on the front page are the numbers in the files. The text is reStructuredText, which the
workflow's report directive (``workflow/report/workflow.rst``) includes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from videoxai.core.headline import headline_n
from videoxai.core.methods import method_label
from videoxai.core.outputs import TABLE_NAMES, TABLE_TITLES
from videoxai.evaluation.metrics import ordered_methods
from videoxai.evaluation.stats import MIN_VIDEOS, Interval, describe_settings, interval_text, verdict
from videoxai.report.findings import ground_truth_calibration_sentences, study_findings
from videoxai.report.render import TABLE_STYLE, html_table
from videoxai.report.tables import table_html


@dataclass
class StudyRun:
    """What a study ran; every field is shown on the front page."""

    videos_listed: int
    videos_studied: int
    source: str
    model: str
    methods: Sequence[str]
    n: Sequence[float]
    tau: Sequence[float]
    headline_tau: float
    clips: int
    clip_length: int
    failed: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)


PAGE_STYLE = (
    "div.h-screen.overflow-auto:has(#videoxai-study){align-items:flex-start;justify-content:safe center}"
    # The page shares the row with the report's DAG: let it shrink to what is left of the screen
    # (flex items otherwise grow to their widest table and push the page under the menu).
    "div.gap-3:has(#videoxai-study){min-width:0;max-width:100%}"
    "div.py-2:has(#videoxai-study){min-width:0;flex:1 1 0}"
    "div.prose:has(#videoxai-study){max-width:80rem;min-width:0}"
    "table.videoxai td{white-space:nowrap}"
    # Tables with intervals are wider than the page: each scrolls sideways on its own.
    "div.videoxai-scroll{overflow-x:auto;max-width:100%}" + TABLE_STYLE
)


def _scrolling(table: str) -> str:
    """An HTML table in a box that scrolls sideways when the table is wider than the page, as the
    indented lines of a ``raw:: html`` block: one line per table row, because docutils refuses a
    line longer than 10,000 characters and a wide table on one line is longer."""
    html = f'<div class="videoxai-scroll">{table}</div>'
    return "\n   ".join(html.replace("<tr>", "\n<tr>").split("\n"))


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(f"{value:g}" for value in values)


def _row_interval(row: pd.Series, metric: str) -> Interval:
    return Interval(float(row[f"{metric}_mean"]), float(row[f"{metric}_low"]), float(row[f"{metric}_high"]), 0, 0)


def _share(interval: Interval) -> str:
    """``"30.0% [20.0, 40.0]"``: a fraction in percent with its interval."""
    text = interval_text(interval, scale=100.0, digits=1)
    return text if text == "–" else text.replace(" ", "% ", 1) if "[" in text else f"{text}%"


def _points(interval: Interval) -> str:
    """``"+20.0 [+10.0, +30.0] points"``: a difference of fractions in percentage points."""
    return f"{interval_text(interval, scale=100.0, digits=1, signed=True)} points"


def _listing(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def too_few_videos(videos: int, min_videos: int, claim: str) -> str:
    """The clause that replaces a verdict below ``report.min_videos``: ``"with only 4 videos (fewer
    than report.min_videos = 10) the study has too few videos to tell whether <claim>"``."""
    return (
        f"with only {videos} video{'s' if videos != 1 else ''} (fewer than report.min_videos = {min_videos}) "
        f"the study has too few videos to tell whether {claim}"
    )


def headline(
    tables: Mapping[str, pd.DataFrame], tau: float, n: float | None = None, min_videos: int = MIN_VIDEOS
) -> str:
    """The study's main numbers, each with its interval, from Table 1 (and Table 3 when present).

    Per method: the motion precision of its baseline maps, then (with selective rows) the paired
    change selective − baseline and what its interval lets the page say
    (:func:`videoxai.evaluation.stats.verdict`: supported, not supported, no interval, or too few
    videos when the row has fewer than ``min_videos``, ``report.min_videos``), and the share of
    positive voxels the selective maps kept. ``n`` picks the selective variant (default: Table 1's
    headline n, :func:`videoxai.core.headline.headline_n`).
    """
    table1 = tables.get("table1")
    if table1 is None or table1.empty or table1["precision_mean"].notna().sum() == 0:
        return (
            "No clip produced motion-precision values, so there is no headline result. "
            "The failed-video list says why each video could not be studied."
        )
    level = describe_settings(table1.attrs.get("bootstrap")).split(":")[0]
    baseline = table1[table1["variant"] == "baseline"].set_index("method")
    selective_all = table1[table1["variant"] == "selective"]
    if n is None and len(selective_all):
        n = headline_n(selective_all["n"])
    selective = selective_all[np.isclose(selective_all["n"], n)].set_index("method") if n is not None else selective_all
    methods = [m for m in ordered_methods(baseline.index) if pd.notna(baseline.loc[m, "precision_mean"])]
    clips = int(table1["clips"].max())
    videos = int(table1["videos"].max())
    widest = baseline.loc[methods, "clips"].astype(int).idxmax() if methods else None
    chance = _row_interval(baseline.loc[widest], "chance") if widest is not None else None
    chance_text = f" (chance: {_share(chance)})" if chance is not None and not math.isnan(chance.mean) else ""
    shares = [f"{method_label(m)} {_share(_row_interval(baseline.loc[m], 'precision'))}" for m in methods]
    first = (
        f"At τ = {tau:g} px/frame, the share of positive-relevance voxels that lay on motion was "
        f"{_listing(shares)}{chance_text}, over the {clips} clip{'s' if clips != 1 else ''} "
        f"(of {videos} video{'s' if videos != 1 else ''}) with positive relevance; brackets give {level}s "
        f"that treat videos, not clips, as the independent draws."
    )
    paired = [m for m in methods if m in selective.index and pd.notna(selective.loc[m, "precision_delta_mean"])]
    if not paired:
        return first
    changes = {m: _row_interval(selective.loc[m], "precision_delta") for m in paired}
    counts = {m: int(selective.loc[m, "videos"]) for m in paired}
    said = {m: verdict(changes[m], counts[m], min_videos) for m in paired}
    supported = [method_label(m) for m in paired if said[m] == "supported"]
    unsupported = [method_label(m) for m in paired if said[m] == "not supported"]
    unknown = [method_label(m) for m in paired if said[m] == "no interval"]
    too_few = {}  # number of videos -> methods, in the methods' order
    for m in paired:
        if said[m] == "too few videos":
            too_few.setdefault(counts[m], []).append(method_label(m))
    verdicts = []
    if supported:
        verdicts.append(f"the data support the change for {_listing(supported)}")
    if unsupported:
        verdicts.append(
            f"{'not' if supported else 'the data do not support it'} for {_listing(unsupported)} (interval contains 0)"
        )
    if unknown:
        verdicts.append(f"one video cannot tell for {_listing(unknown)} (no interval)")
    for count, labels in too_few.items():
        verdicts.append(too_few_videos(count, min_videos, f"the change is real for {_listing(labels)}"))
    second = (
        f"Selective relevance with n = {n:g} changed it by "
        f"{_listing([f'{method_label(m)} {_points(changes[m])}' for m in paired])} (paired, same clips): "
        f"{'; '.join(verdicts)}."
    )
    table3 = tables.get("table3")
    if table3 is not None and not table3.empty:
        kept = table3[np.isclose(table3["n"], n) & table3["selectivity_voxels_mean"].notna()].set_index("method")
        kept_methods = [m for m in ordered_methods(kept.index)]
        if kept_methods:
            parts = [
                f"{method_label(m)} {_share(_row_interval(kept.loc[m], 'selectivity_voxels'))}" for m in kept_methods
            ]
            second += f" The selective maps kept {_listing(parts)} of the baseline's positive voxels."
    return f"{first} {second}"


def _bullet(label: str, text: str) -> str:
    return f"* **{label}**: {text}"


def ground_truth_sentences(summary: pd.DataFrame, n: float | None = None) -> tuple[str, str]:
    """One sentence on what the ground-truth table shows and one on its figure, from its numbers.

    Args:
        summary: :func:`videoxai.ground_truth.benchmark.summary_table` (columns ``model, method, variant, n,
            metric, mean, low, high, videos``).
        n: the selective variant to speak of (default: the headline n, nearest 4).
    """
    body = summary[summary["method"] != ""]
    if n is None:
        n = headline_n(body["n"])

    def value(model: str, method: str, variant: str, metric: str) -> float:
        rows = body[
            (body["model"] == model)
            & (body["method"] == method)
            & (body["variant"] == variant)
            & (body["metric"] == metric)
        ]
        if variant == "selective":
            rows = rows[np.isclose(rows["n"], n)]
        return float(rows["mean"].iloc[0]) if len(rows) else math.nan

    methods = [method for method in ordered_methods(body["method"].unique())]
    if not methods or n is None or math.isnan(n):
        return ("The ground-truth benchmark produced no maps.", "")
    share = {
        model: {m: value(model, m, "selective", "motion_share") for m in methods} for model in ("motion", "context")
    }
    separates = [m for m in methods if share["motion"][m] > share["context"][m]]
    best = max(methods, key=lambda m: np.nan_to_num(value("motion", m, "selective", "weighted_precision"), nan=-1))
    table_sentence = (
        f"On synthetic videos whose evidence is known, selective relevance (n = {n:g}) kept a larger share of the "
        f"positive relevance for the motion-trained than for the context-trained model with "
        f"{len(separates)} of {len(methods)} methods"
        + (f" ({', '.join(method_label(m) for m in separates)})" if separates and len(separates) < len(methods) else "")
        + f"; {method_label(best)}'s selective maps lay most on the moving object for the motion-trained model "
        f"({_percent(value('motion', best, 'selective', 'weighted_precision'))} of their relevance, baseline "
        f"{_percent(value('motion', best, 'baseline', 'weighted_precision'))})."
    )
    kept = [value("context", m, "selective", "motion_share") for m in methods]
    empty = [value("context", m, "selective", "empty") for m in methods]
    on_patch = [value("context", m, "selective", "precision") for m in methods]
    figure_sentence = (
        "The figure shows every method's precision, recall, weighted precision and motion share with video-level "
        "intervals; for the context-trained model, which needs no motion, the paper's selective relevance still "
        f"kept {_percent(float(np.nanmean(kept)))} of the positive relevance on average over methods, left "
        f"{_percent(float(np.nanmean(empty)))} of its maps empty, and {_percent(float(np.nanmean(on_patch)))} of "
        "the voxels it kept lay on the static patch (its precision against that model's evidence)"
    )
    return table_sentence, figure_sentence


def ground_truth_lines(
    summary: pd.DataFrame,
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    calibration: pd.DataFrame | None = None,
) -> list[str]:
    """reStructuredText lines of the front page's first section: the benchmark's two sentences and table."""
    table_sentence, figure_sentence = ground_truth_sentences(summary)
    return [
        "Ground truth",
        "------------",
        "",
        table_sentence,
        figure_sentence + " (figure: *Ground truth* below).",
        *ground_truth_calibration_sentences(calibration),
        "",
        ".. raw:: html",
        "",
        "   " + _scrolling(html_table("ground_truth", caption, headers, rows, standalone=False)),
        "",
    ]


def motion_section(tables: Mapping[str, pd.DataFrame], min_videos: int) -> list[str]:
    """The section that answers "does this model use motion?" (empty when no table can say)."""
    sentences = study_findings(tables, min_videos)
    if not sentences:
        return []
    return ["Does the model use motion?", "--------------------------", "", *(f"{s}\n" for s in sentences)]


def front_page(
    tables: Mapping[str, pd.DataFrame],
    absent: Mapping[str, str],
    run: StudyRun,
    *,
    tau: float,
    q: float = math.nan,
    ground_truth: Sequence[str] = (),
    min_videos: int = MIN_VIDEOS,
) -> str:
    """reStructuredText of the report's front page (sections, no document title); ``ground_truth``
    (from :func:`ground_truth_lines`) comes first when the benchmark ran; ``min_videos``
    (``report.min_videos``) is passed to :func:`headline`."""
    failed = f"; {run.failed} failed (see *Failed videos*)" if run.failed else ""
    lines = [
        # Snakemake's report centres its front page vertically and narrows it to prose width: a page
        # with tables would lose its top above the screen. Scoped to this page by the document's id.
        ".. raw:: html",
        "",
        f"   <style>{PAGE_STYLE}</style>",
        "",
        *ground_truth,
        "What was run",
        "------------",
        "",
        _bullet("Videos", f"{run.videos_studied} of {run.videos_listed} listed ({run.source}) studied{failed}"),
        _bullet("Model", f"``{run.model}``"),
        _bullet("Methods", ", ".join(method_label(m) for m in run.methods)),
        _bullet("Selective relevance", f"n = {_numbers(run.n)}" if len(run.n) else "off"),
        _bullet("Motion threshold", f"τ = {_numbers(run.tau)} px/frame; the tables report τ = {run.headline_tau:g}"),
        _bullet("Clips", f"{run.clips} clips of {run.clip_length} frames"),
        *(_bullet(key, value) for key, value in run.extra.items()),
        "",
        "Result",
        "------",
        "",
        headline(tables, tau, headline_n(run.n) if len(run.n) else None, min_videos=min_videos),
        "",
        *motion_section(tables, min_videos),
        "Tables",
        "------",
        "",
    ]
    present = [name for name in TABLE_NAMES if name not in absent]
    if present:
        lines += [".. raw:: html", ""]
        lines += ["   " + _scrolling(table_html(name, tables[name], tau, q, standalone=False)) for name in present]
        lines.append("")
    for name, reason in absent.items():
        lines += [f"*{TABLE_TITLES[name]}: not written.* {reason[0].upper()}{reason[1:]}.", ""]
    lines += ["The tables are also under *Tables* as pages, and in ``tables/`` as CSV, Markdown and LaTeX.", ""]
    return "\n".join(lines)


__all__ = ["StudyRun", "front_page", "ground_truth_lines", "ground_truth_sentences", "headline", "too_few_videos"]
