"""Paper-ready seaborn figures from the tidy metrics, and the Figure-3-style relevance grid.

Every figure is drawn on its own ``matplotlib.figure.Figure`` (no pyplot state, no GUI backend
needed) and saved as ``.png`` and ``.pdf`` through a temporary file, so a reader never sees half
a file. Conventions shared by all figures: methods in the paper's order with the paper's names;
colour = method in line plots (seaborn "colorblind" palette); in distribution plots grey =
baseline and a blue-green sequential palette = selective at increasing n; dashed black = chance.
Every mean drawn carries its confidence interval, the same video-level interval as the tables
(:func:`videoxai.evaluation.stats.group_intervals`): black diamonds with error bars over the box plots,
error bars on bars and points, shaded bands along lines.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import atomic_write
from videoxai.core.headline import headline_n
from videoxai.core.methods import method_label
from videoxai.core.outputs import FIGURE_NAMES
from videoxai.evaluation.metrics import METHOD_ORDER, metric_bounds, ordered_methods
from videoxai.evaluation.stats import bootstrap_settings, group_intervals
from videoxai.report.colour import DIVERGING_CMAP, SCALE_PERCENTILE, relevance_scale
from videoxai.report.motion_tables import (
    MEASURES,
    explanation_behaviour_table,
    explanation_measures,
    motion_reliance_table,
)
from videoxai.report.tables import headline_q, headline_tau, normalise_metrics

FORMATS: tuple[str, ...] = ("png", "pdf")
DPI = 200

_PRECISION_PANELS = (
    ("precision", "All positive relevance (R > 0)"),
    ("weighted_precision", "Relevance-weighted"),
    ("topq_precision", "Top {q} of voxels by relevance"),
)
_CALIBRATED_ORANGE = "#dd8452"
_BASELINE_GREY = "#8c8c8c"
# Seaborn's default width of a category's group of boxes or bars, split evenly between hue levels.
_DODGE_WIDTH = 0.8
_BAND_ALPHA = 0.15


def figure_style():
    """Readable fonts and a light grid, applied only inside the with-block."""
    import matplotlib as mpl

    rc = {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("paper", font_scale=1.35),
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "savefig.dpi": DPI,
    }
    return mpl.rc_context(rc)


def method_palette(methods: Sequence[str]) -> dict[str, tuple]:
    """Display name -> colour; the four paper methods keep their colour whatever is present."""
    colours = sns.color_palette("colorblind", 10)
    # Blue, orange, green, pink: the palette's orange and vermilion are too alike side by side.
    fixed = dict(zip(METHOD_ORDER, (colours[0], colours[1], colours[2], colours[4])))
    spare = [colours[index] for index in (3, 8, 9, 5, 6)]
    palette = {}
    for method in methods:
        palette[method_label(method)] = (
            fixed.get(method) or spare[len([m for m in palette if m not in map(method_label, METHOD_ORDER)]) % 5]
        )
    return palette


def variant_label(variant: str, n: float) -> str:
    if variant == "baseline":
        return "Baseline"
    if variant == "calibrated":
        return "Calibrated"
    return f"Selective, n = {n:g}"


def variant_palette(ns: Sequence[float]) -> dict[str, tuple]:
    """Variant label -> colour: grey baseline, sequential blue-greens for selective n ascending."""
    ns = sorted(set(float(n) for n in ns if not pd.isna(n)))
    shades = sns.color_palette("crest", max(len(ns), 1)) if ns else []
    palette = {"Baseline": _BASELINE_GREY}
    palette.update({variant_label("selective", n): shade for n, shade in zip(ns, shades)})
    palette["Calibrated"] = _CALIBRATED_ORANGE
    return palette


def save_figure(figure: Figure, out_dir: Path, name: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for extension in FORMATS:
        path = out_dir / f"{name}.{extension}"
        written.append(atomic_write(path, lambda temporary, e=extension: figure.savefig(temporary, format=e, dpi=DPI)))
    return written


def no_data_panel(figure: Figure, message: str) -> None:
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)


def _precision_rows(frame: pd.DataFrame, tau: float | None, q: float) -> pd.DataFrame:
    rows = frame[frame["metric"].isin([metric for metric, _ in _PRECISION_PANELS])]
    rows = rows[rows["q"].isna() | np.isclose(rows["q"], q)]
    if tau is not None:
        rows = rows[np.isclose(rows["tau"], tau)]
    rows = rows.dropna(subset=["value"])
    return rows.assign(
        Method=rows["method"].map(method_label),
        Variant=[variant_label(variant, n) for variant, n in zip(rows["variant"], rows["n"])],
    )


def _bounds_of(data: pd.DataFrame) -> tuple[float, float] | None:
    """The bounds of the one metric ``data`` holds (videoxai.evaluation.metrics.metric_bounds);
    None for several metrics or none named."""
    metrics = data["metric"].unique() if "metric" in data.columns else []
    return metric_bounds(str(metrics[0])) if len(metrics) == 1 else None


def _chance_interval(frame: pd.DataFrame, tau: float, settings: dict) -> tuple[float, float, float]:
    """Mean chance at ``tau`` and its interval (NaN when there is none)."""
    chance = frame[(frame["metric"] == "chance") & np.isclose(frame["tau"], tau)].dropna(subset=["value"])
    if chance.empty:
        return math.nan, math.nan, math.nan
    summary = group_intervals(chance.assign(all=0), ["all"], settings=settings, bounds=(0.0, 1.0)).iloc[0]
    return float(summary["mean"]), float(summary["low"]), float(summary["high"])


def _error(summary: pd.DataFrame) -> np.ndarray:
    """``(2, K)`` distances from the means down to ``low`` and up to ``high`` for ``errorbar``;
    0 where a group has no interval (a single video)."""
    below = (summary["mean"] - summary["low"]).fillna(0.0).clip(lower=0.0)
    above = (summary["high"] - summary["mean"]).fillna(0.0).clip(lower=0.0)
    return np.vstack([below.to_numpy(), above.to_numpy()])


def _dodged_means(
    panel,
    data: pd.DataFrame,
    x: str,
    hue: str,
    order: Sequence[str],
    hue_order: Sequence[str],
    settings: dict,
    *,
    marker: str = "D",
    label: str | None = None,
) -> None:
    """Each (x, hue) group's mean and interval at the position seaborn gives its box or bar."""
    summary = group_intervals(data, [x, hue], settings=settings, bounds=_bounds_of(data)).dropna(subset=["mean"])
    if summary.empty:
        return
    slot = _DODGE_WIDTH / len(hue_order)
    offsets = {level: (index - (len(hue_order) - 1) / 2) * slot for index, level in enumerate(hue_order)}
    positions = [order.index(category) + offsets[level] for category, level in zip(summary[x], summary[hue])]
    panel.errorbar(
        positions,
        summary["mean"],
        yerr=_error(summary),
        fmt=marker,
        color="black",
        markersize=4,
        elinewidth=1.3,
        capsize=3,
        zorder=5,
        label=label,
    )


def interval_label(settings: Mapping) -> str:
    """How the figures' intervals were made, in a legend's few words."""
    return "t over videos" if settings["method"] == "t" else f"{settings['method']}, videos resampled"


def _boxes_with_means(
    panel, data: pd.DataFrame, methods: list[str], hue_order: list[str], palette: dict, settings: dict, legend: bool
) -> None:
    """Per-clip boxes of ``value`` per method and variant, with each box's mean and interval on it."""
    sns.boxplot(
        data=data,
        x="Method",
        y="value",
        hue="Variant",
        order=methods,
        hue_order=hue_order,
        palette=palette,
        showfliers=False,
        linewidth=1.0,
        ax=panel,
        legend=legend,
    )
    _dodged_means(
        panel,
        data,
        "Method",
        "Variant",
        methods,
        hue_order,
        settings,
        label=f"Mean, {settings['level'] * 100:g}% CI ({interval_label(settings)})",
    )


def _panel_title(metric: str, title: str, q: float) -> str:
    return title.format(q=f"{q * 100:g}%") if metric == "topq_precision" else title


def _precision_by_method(figure: Figure, frame: pd.DataFrame, tau: float, q: float, settings: dict) -> None:
    rows = _precision_rows(frame, tau, q)
    if rows.empty:
        return no_data_panel(figure, "No motion-precision values")
    methods = [method_label(m) for m in ordered_methods(rows["method"])]
    palette = variant_palette(rows["n"])
    hue_order = [label for label in palette if label in set(rows["Variant"])]
    chance, chance_low, chance_high = _chance_interval(frame, tau, settings)
    axes = figure.subplots(1, len(_PRECISION_PANELS), sharey=True)
    for panel, (metric, title) in zip(axes, _PRECISION_PANELS):
        data = rows[rows["metric"] == metric]
        if not data.empty:
            _boxes_with_means(panel, data, methods, hue_order, palette, settings, legend=panel is axes[0])
        if not math.isnan(chance):
            panel.axhline(chance, color="black", linestyle="--", linewidth=1.2, label="Chance (moving voxels)")
            if not math.isnan(chance_low):
                panel.axhspan(chance_low, chance_high, color="black", alpha=0.08, linewidth=0)
        panel.set_title(_panel_title(metric, title, q))
        panel.set_xlabel("")
        panel.set_ylim(0, 1.02)
        panel.tick_params(axis="x", labelrotation=20)
        if panel.get_legend() is not None:
            panel.get_legend().remove()
    axes[0].set_ylabel(f"Motion precision at τ = {tau:g} px/frame\n(fraction, per clip)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), frameon=False)


def _interval_lines(
    panel,
    data: pd.DataFrame,
    x: str,
    methods: Sequence[str],
    palette: Mapping[str, tuple],
    variants: Mapping[str, object],
    settings: dict,
    *,
    bands: bool = True,
    shift: float = 0.0,
) -> None:
    """One line per (method, variant) through its means along ``x``, with a shaded band of the
    intervals (``bands``) or error bars (points nudged by ``shift`` per method so that they do
    not cover each other). ``variants``: variant label -> line style."""
    summary = group_intervals(data, ["method", "Variant", x], settings=settings, bounds=_bounds_of(data))
    summary = summary.dropna(subset=["mean"])
    for index, method in enumerate(methods):
        colour = palette[method_label(method)]
        for variant, linestyle in variants.items():
            line = summary[(summary["method"] == method) & (summary["Variant"] == variant)].sort_values(x)
            if line.empty:
                continue
            positions = line[x].to_numpy(dtype=float)
            if bands:
                panel.plot(positions, line["mean"], color=colour, linestyle=linestyle, marker="o", markersize=4)
                panel.fill_between(positions, line["low"], line["high"], color=colour, alpha=_BAND_ALPHA, linewidth=0)
            else:
                nudge = (index - (len(methods) - 1) / 2) * shift
                panel.errorbar(
                    positions + nudge,
                    line["mean"],
                    yerr=_error(line),
                    color=colour,
                    linestyle=linestyle,
                    marker="o",
                    markersize=4,
                    capsize=3,
                )


def _method_legend(methods: Sequence[str], palette: Mapping[str, tuple], styles: Mapping[str, object]) -> list:
    handles = [Line2D([], [], color=palette[method_label(m)], marker="o", label=method_label(m)) for m in methods]
    handles += [Line2D([], [], color="grey", linestyle=style, label=label) for label, style in styles.items()]
    return handles


def _precision_vs_tau(figure: Figure, frame: pd.DataFrame, q: float, n: float, settings: dict) -> None:
    rows = _precision_rows(frame, None, q)
    rows = rows[(rows["variant"] == "baseline") | np.isclose(rows["n"], n)]
    if rows.empty or rows["tau"].nunique() < 1:
        return no_data_panel(figure, "No motion-precision values")
    methods = ordered_methods(rows["method"])
    palette = method_palette(methods)
    chance = frame[frame["metric"] == "chance"].dropna(subset=["value", "tau"])
    axes = figure.subplots(1, len(_PRECISION_PANELS), sharey=True)
    styles = {"Baseline": "-", variant_label("selective", n): (0, (4, 2))}
    styles = {label: style for label, style in styles.items() if label in set(rows["Variant"])}
    for panel, (metric, title) in zip(axes, _PRECISION_PANELS):
        data = rows[rows["metric"] == metric]
        if not data.empty:
            _interval_lines(panel, data, "tau", methods, palette, styles, settings)
        if not chance.empty:
            means = group_intervals(chance, ["tau"], settings=settings, bounds=(0.0, 1.0)).sort_values("tau")
            panel.plot(
                means["tau"], means["mean"], color="black", linestyle=":", linewidth=1.5, marker="o", markersize=3
            )
            panel.fill_between(means["tau"], means["low"], means["high"], color="black", alpha=0.08, linewidth=0)
        panel.set_title(_panel_title(metric, title, q))
        panel.set_xlabel("Motion threshold τ (px/frame)")
        panel.set_ylim(0, 1.02)
    axes[0].set_ylabel(f"Motion precision (mean, {settings['level'] * 100:g}% CI)")
    handles = _method_legend(methods, palette, styles)
    if not chance.empty:
        handles.append(Line2D([], [], color="black", linestyle=":", marker="o", markersize=3, label="Chance"))
    handles.append(Line2D([], [], color="grey", alpha=0.4, linewidth=6, label=f"CI ({interval_label(settings)})"))
    figure.legend(handles=handles, loc="outside right center", frameon=False)


def _precision_vs_n(figure: Figure, frame: pd.DataFrame, tau: float, q: float, settings: dict) -> None:
    rows = _precision_rows(frame, tau, q)
    selective = rows[rows["variant"] == "selective"]
    if selective.empty:
        return no_data_panel(figure, "No selective motion-precision values")
    methods = ordered_methods(rows["method"])
    palette = method_palette(methods)
    ns = sorted(selective["n"].unique())
    # Points of the methods side by side at each n, a small share of the spacing between ns.
    shift = 0.12 * (min(np.diff(ns)) if len(ns) > 1 else 1.0) / max(len(methods), 1)
    axes = figure.subplots(1, len(_PRECISION_PANELS), sharey=True)
    for panel, (metric, title) in zip(axes, _PRECISION_PANELS):
        data = selective[selective["metric"] == metric]
        if not data.empty:
            label = variant_label("selective", ns[0])
            data = data.assign(Variant=label)  # one line through every n
            _interval_lines(panel, data, "n", methods, palette, {label: "-"}, settings, bands=False, shift=shift)
        baseline = rows[(rows["metric"] == metric) & (rows["variant"] == "baseline")]
        for _, line in group_intervals(baseline, ["method"], settings=settings, bounds=_bounds_of(baseline)).iterrows():
            colour = palette[method_label(line["method"])]
            panel.axhline(line["mean"], color=colour, linestyle="--", linewidth=1.0)
            if not math.isnan(line["low"]):
                panel.axhspan(line["low"], line["high"], color=colour, alpha=0.08, linewidth=0)
        panel.set_title(_panel_title(metric, title, q))
        panel.set_xlabel("Selective threshold n (multiples of σ)")
        panel.set_xticks(ns)
        if len(ns) == 1:
            panel.set_xlim(ns[0] - 1.0, ns[0] + 1.0)
        panel.set_ylim(0, 1.02)
    axes[0].set_ylabel(f"Motion precision at τ = {tau:g} px/frame\n(mean, {settings['level'] * 100:g}% CI)")
    handles = _method_legend(methods, palette, {"Selective (error bars)": "-", "Baseline (band)": "--"})
    figure.legend(handles=handles, loc="outside right center", frameon=False)


def _selectivity(figure: Figure, frame: pd.DataFrame, settings: dict) -> None:
    rows = frame[frame["metric"].isin(["selectivity_voxels", "selectivity_relevance"])].dropna(subset=["value"])
    if rows.empty:
        return no_data_panel(figure, "No selective maps")
    rows = rows.assign(
        Method=rows["method"].map(method_label),
        Variant=[variant_label(variant, n) for variant, n in zip(rows["variant"], rows["n"])],
    )
    palette = variant_palette(rows["n"])
    palette.pop("Baseline")
    methods = [method_label(m) for m in ordered_methods(rows["method"])]
    axes = figure.subplots(1, 2, sharey=True)
    panels = (("selectivity_voxels", "Positive voxels kept"), ("selectivity_relevance", "Positive relevance kept"))
    for panel, (metric, title) in zip(axes, panels):
        data = rows[rows["metric"] == metric]
        if not data.empty:
            _boxes_with_means(panel, data, methods, list(palette), palette, settings, legend=panel is axes[0])
        panel.set_title(title)
        panel.set_xlabel("")
        panel.set_ylim(0, 1.02)
        panel.tick_params(axis="x", labelrotation=20)
        if panel.get_legend() is not None:
            panel.get_legend().remove()
    axes[0].set_ylabel("Selective / baseline (fraction, per clip)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), frameon=False)


def _overhead(figure: Figure, frame: pd.DataFrame, settings: dict) -> None:
    rows = frame[frame["metric"] == "seconds"].dropna(subset=["value"])
    if rows.empty:
        return no_data_panel(figure, "No timings")
    rows = rows.assign(
        Method=rows["method"].map(method_label),
        Variant=[
            "Method alone"
            if variant == "baseline"
            else "With the calibrated test"
            if variant == "calibrated"
            else ("With selective" if pd.isna(n) else f"With selective, n = {n:g}")
            for variant, n in zip(rows["variant"], rows["n"])
        ],
    )
    labels = ["Method alone"] + sorted(set(rows["Variant"]) - {"Method alone"})
    shades = sns.color_palette("crest", max(len(labels) - 1, 1))
    palette = {"Method alone": _BASELINE_GREY, **dict(zip(labels[1:], shades))}
    axes = figure.subplots()
    order = [method_label(m) for m in ordered_methods(rows["method"])]
    sns.barplot(
        data=rows,
        x="Method",
        y="value",
        hue="Variant",
        hue_order=labels,
        palette=palette,
        order=order,
        errorbar=None,
        ax=axes,
    )
    _dodged_means(axes, rows, "Method", "Variant", order, labels, settings, marker="none")
    axes.set_xlabel("")
    axes.set_ylabel(f"Time per explanation (s per clip)\nmean, {settings['level'] * 100:g}% CI")
    handles, legend_labels = axes.get_legend_handles_labels()
    axes.get_legend().remove()
    figure.legend(handles, legend_labels, loc="outside upper center", ncols=min(len(legend_labels), 4), frameon=False)


def _deletion_insertion(figure: Figure, frame: pd.DataFrame, settings: dict) -> None:
    """Mean deletion / insertion curve per method: solid baseline, dotted selective (dash-dot for
    a second n, ...), dashed black the random reference; each with a band of its intervals."""
    rows = frame[frame["metric"].isin(["deletion_curve", "insertion_curve"])].dropna(subset=["value", "q"])
    rows = rows[rows["variant"] != "matched"]  # the size-matched controls are in the table, not the curves
    if rows.empty:
        return no_data_panel(figure, "No deletion / insertion curves (faithfulness off)")
    means = group_intervals(rows, ["metric", "method", "variant", "n", "q"], settings=settings)
    means = means.rename(columns={"mean": "value"})
    methods = [method for method in ordered_methods(means["method"]) if method != "random"]
    colours = dict(
        zip(methods, sns.color_palette("colorblind" if len(methods) <= 10 else "husl", max(len(methods), 1)))
    )
    ns = sorted(means.loc[means["variant"] == "selective", "n"].dropna().unique())
    styles = dict(zip(ns, [":", "-.", (0, (1, 3)), (0, (5, 1, 1, 1))] * (len(ns) // 4 + 1)))
    axes = figure.subplots(1, 2, sharey=True)
    for panel, (metric, title) in zip(
        axes, (("deletion_curve", "Deletion (lower is better)"), ("insertion_curve", "Insertion (higher is better)"))
    ):
        subset = means[means["metric"] == metric]
        rank = {method: index for index, method in enumerate([*methods, "random"])}
        groups = sorted(
            subset.groupby(["method", "variant", "n"], dropna=False),
            key=lambda item: (rank[item[0][0]], item[0][1] != "baseline", item[0][2]),
        )
        for (method, variant, n), curve in groups:
            curve = curve.sort_values("q")
            if method == "random":
                style = {"color": "black", "linestyle": "--", "label": "Random"}
            else:
                style = {
                    "color": colours[method],
                    "linestyle": "-" if variant == "baseline" else styles.get(n, ":"),
                    "label": method_label(method) + ("" if variant == "baseline" else f", selective n = {n:g}"),
                }
            panel.plot(curve["q"], curve["value"], linewidth=1.5, **style)
            panel.fill_between(
                curve["q"], curve["low"], curve["high"], color=style["color"], alpha=_BAND_ALPHA / 2, linewidth=0
            )
        panel.set_title(title)
        panel.set_xlabel("Fraction of voxels removed" if metric == "deletion_curve" else "Fraction of voxels revealed")
        panel.set_xlim(0, 1)
    axes[0].set_ylabel(f"Target probability\n(mean over clips, {settings['level'] * 100:g}% CI band)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right center", frameon=False, fontsize="small")


def _motion_reliance(figure: Figure, frame: pd.DataFrame, settings: dict) -> None:
    """Per class (and all classes) how much the explained class's probability drops on still and on
    shuffled copies, with the tables' intervals."""
    table = motion_reliance_table(frame, settings)
    if table.empty:
        return no_data_panel(figure, "No behaviour rows (behaviour.enabled: false)")
    axes = figure.subplots()
    labels = [str(name) or "(no label)" for name in table["class_name"]]
    positions = np.arange(len(table))
    for offset, (metric, label, colour) in zip(
        (-0.15, 0.15), (("freeze_drop", "still copy", "#1f77b4"), ("shuffle_drop", "shuffled copies", "#ff7f0e"))
    ):
        means = table[f"{metric}_mean"].to_numpy()
        low = np.nan_to_num(means - table[f"{metric}_low"].to_numpy())
        high = np.nan_to_num(table[f"{metric}_high"].to_numpy() - means)
        axes.errorbar(means, positions + offset, xerr=[low, high], fmt="o", color=colour, capsize=3, label=label)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_yticks(positions)
    axes.set_yticklabels(labels)
    axes.invert_yaxis()
    axes.set_xlabel(f"Drop of the explained class's probability (clip − copy; mean, {settings['level'] * 100:g}% CI)")
    figure.legend(loc="outside upper center", ncols=2, frameon=False)


def _explanation_behaviour(figure: Figure, frame: pd.DataFrame, settings: dict) -> None:
    """Per method, each clip's calibrated share (or, without the calibrated test, the paper's motion
    share at the headline n) against the model's freeze drop, with the table's ρ in the title."""
    table = explanation_behaviour_table(frame, settings)
    if table.empty:
        return no_data_panel(figure, "No explanation-vs-behaviour rows (needs behaviour.enabled)")
    measure = "calibrated_share" if (table["measure"] == "calibrated_share").any() else "motion_share"
    methods = [
        m
        for m in ordered_methods(table["method"].unique())
        if ((table["method"] == m) & (table["measure"] == measure)).any()
    ]
    axes = np.atleast_1d(figure.subplots(1, len(methods), sharey=True, squeeze=False)[0])
    n = table.loc[table["measure"] == "motion_share", "n"].dropna()
    n = float(n.iloc[0]) if len(n) else headline_n(frame.loc[frame["variant"] == "selective", "n"])
    for panel, method in zip(axes, methods):
        points = explanation_measures(frame, method, n)
        row = table[(table["method"] == method) & (table["measure"] == measure) & (table["behaviour"] == "freeze_drop")]
        if measure in points and "freeze_drop" in points:
            panel.scatter(points["freeze_drop"], points[measure], s=14, alpha=0.7)
        if len(row):
            rho = row.iloc[0]
            panel.set_title(
                f"{method_label(method)}\nρ = {rho['rho']:+.2f} [{rho['rho_low']:+.2f}, {rho['rho_high']:+.2f}]",
                fontsize=10,
            )
        panel.set_xlabel("Freeze drop (p clip − p still)")
    axes[0].set_ylabel(MEASURES[measure])


def write_figures(
    metrics: pd.DataFrame,
    out_dir,
    *,
    tau: float | None = None,
    q: float | None = None,
    n: float | None = None,
    bootstrap: Mapping | None = None,
) -> list[Path]:
    """Write the summary figures as ``out_dir/<name>.{png,pdf}`` (``FIGURE_NAMES``).

    Args:
        metrics: tidy rows of :func:`videoxai.evaluation.metrics.compute_clip_metrics`, all videos.
        tau: threshold (px/frame) of the per-method plots; default ``headline_tau``.
        q: top-q fraction shown; default ``headline_q``.
        n: the selective n drawn in ``precision_vs_tau``; default the headline n of those present
            (:func:`videoxai.core.headline.headline_n`).
        bootstrap: the study's ``metrics.bootstrap`` for the intervals (as in the tables).
    Returns:
        The written paths. A figure without data is still written, saying so, so that a
        workflow can declare every file as an output.
    """
    settings = bootstrap_settings(bootstrap)
    frame = normalise_metrics(metrics)
    tau = headline_tau(frame) if tau is None else float(tau)
    q = headline_q(frame) if q is None else float(q)
    n = headline_n(frame.loc[frame["variant"] == "selective", "n"]) if n is None else float(n)
    drawers: dict[str, tuple[Callable[[Figure], None], tuple[float, float]]] = {
        "precision_by_method": (lambda f: _precision_by_method(f, frame, tau, q, settings), (13, 4.8)),
        "precision_vs_tau": (lambda f: _precision_vs_tau(f, frame, q, n, settings), (15, 4.3)),
        "precision_vs_n": (lambda f: _precision_vs_n(f, frame, tau, q, settings), (15, 4.3)),
        "selectivity": (lambda f: _selectivity(f, frame, settings), (10, 4.8)),
        "overhead": (lambda f: _overhead(f, frame, settings), (7, 4.2)),
        "deletion_insertion": (lambda f: _deletion_insertion(f, frame, settings), (14, 4.8)),
        "motion_reliance": (lambda f: _motion_reliance(f, frame, settings), (9, 4.2)),
        "explanation_behaviour": (lambda f: _explanation_behaviour(f, frame, settings), (14, 4.2)),
    }
    written = []
    out_dir = Path(out_dir)
    with figure_style(), warnings.catch_warnings():
        # seaborn 0.13 passes boxplot's deprecated `vert`; nothing for our callers to act on.
        warnings.filterwarnings("ignore", message=".*vert: bool.*", category=DeprecationWarning)
        for name in FIGURE_NAMES:
            draw, size = drawers[name]
            figure = Figure(figsize=size, layout="constrained")
            draw(figure)
            written += save_figure(figure, out_dir, name)
    return written


def top_clips(
    metrics: pd.DataFrame,
    count: int = 3,
    *,
    tau: float | None = None,
    metric: str = "weighted_precision",
    variant: str = "baseline",
) -> pd.DataFrame:
    """The ``count`` clips with the highest ``metric`` at ``tau``, averaged over methods.

    Returns a DataFrame with columns ``video``, ``clip``, ``score``, best first: what
    ``figure3_grid`` is meant to show. Clips where a method's value is NaN average the others.
    """
    frame = normalise_metrics(metrics)
    tau = headline_tau(frame) if tau is None else float(tau)
    rows = frame[(frame["metric"] == metric) & (frame["variant"] == variant) & np.isclose(frame["tau"], tau)]
    scores = rows.groupby(["video", "clip"])["value"].mean().dropna().rename("score").reset_index()
    return (
        scores.sort_values(["score", "video", "clip"], ascending=[False, True, True]).head(count).reset_index(drop=True)
    )


def _frames_array(frames) -> np.ndarray:
    array = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise VideoXAIError(f"expected uint8 frames of shape (T, H, W, 3), got {array.shape}", "frames")
    if array.dtype != np.uint8:
        raise VideoXAIError(f"expected uint8 frames, got {array.dtype}", "frames")
    return array


def _map_array(array, name: str, shape: tuple[int, int, int]) -> np.ndarray:
    array = array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
    array = array.astype(np.float32)
    if array.shape != shape:
        raise VideoXAIError(f"expected relevance of shape (T, H, W) = {shape}, got {array.shape}", name)
    return array


def figure3_grid(
    frames,
    relevance: Mapping[str, object],
    selective: Mapping[str, object],
    out_path,
    title: str | None = None,
    *,
    frame_indices: Sequence[int] | None = None,
    panel_inches: float = 1.6,
    dpi: int = 150,
) -> Path:
    """A Figure-3-style grid: each row one frame; columns input, then each method's baseline
    and its selective map.

    Relevance is drawn over the grey frame, red positive and blue negative (RdBu), opacity
    growing with |R|; a method's baseline and selective maps share one colour scale, set by the
    99.5th percentile of the baseline's |R| over the clip (:func:`videoxai.report.colour.relevance_scale`,
    the scale of the CLI overlays too) so a single hot voxel cannot wash the map out.

    Args:
        frames: uint8 ``(T, H, W, 3)`` RGB frames of one clip.
        relevance: method -> float ``(T, H, W)`` baseline relevance of that clip.
        selective: method -> float ``(T, H, W)`` selective map (methods absent here get an
            empty panel).
        out_path: file to write; the format follows the suffix (``.png``, ``.pdf``).
        title: optional line above the grid (e.g. video, clip, predicted class).
        frame_indices: frames to show; default 4 spread evenly over the clip.
        panel_inches, dpi: each panel is ``panel_inches`` square; the image is
            ``dpi * panel_inches * (1 + 2 * len(relevance))`` pixels wide and
            ``dpi * (panel_inches * rows + 0.5 + (0.3 if title else 0))`` high.
    Returns:
        ``out_path`` as a Path.
    """
    frames = _frames_array(frames)
    length, height, width = frames.shape[:3]
    methods = ordered_methods(relevance)
    if not methods:
        raise VideoXAIError("no relevance map to show", "figure3_grid")
    unknown = set(map(str, selective)) - set(methods)
    if unknown:
        raise VideoXAIError(f"selective map(s) without a baseline: {', '.join(sorted(unknown))}", "figure3_grid")
    baselines = {m: _map_array(relevance[m], f"relevance[{m}]", (length, height, width)) for m in methods}
    selectives = {
        m: _map_array(selective[m], f"selective[{m}]", (length, height, width)) for m in methods if m in selective
    }
    if frame_indices is None:
        frame_indices = np.unique(np.round(np.linspace(0, length - 1, min(4, length))).astype(int)).tolist()
    frame_indices = [int(index) for index in frame_indices]
    if any(not 0 <= index < length for index in frame_indices):
        raise VideoXAIError(f"frame indices {frame_indices} outside 0..{length - 1}", "figure3_grid")

    columns = 1 + 2 * len(methods)
    header, title_band = 0.5, (0.3 if title else 0.0)
    figure_width = panel_inches * columns
    figure_height = panel_inches * len(frame_indices) + header + title_band
    grey = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255.0
    scales = {method: relevance_scale(values, SCALE_PERCENTILE) for method, values in baselines.items()}

    with figure_style():
        figure = Figure(figsize=(figure_width, figure_height), dpi=dpi)
        top = 1 - (header + title_band) / figure_height
        grid = figure.add_gridspec(
            len(frame_indices), columns, left=0, right=1, bottom=0, top=top, wspace=0.02, hspace=0.02
        )
        headings = ["Input"]
        for method in methods:
            headings += [method_label(method), f"{method_label(method)}\nselective"]
        for row, index in enumerate(frame_indices):
            for column in range(columns):
                axes = figure.add_subplot(grid[row, column])
                axes.set_xticks([])
                axes.set_yticks([])
                for spine in axes.spines.values():
                    spine.set_visible(False)
                if row == 0:
                    axes.set_title(headings[column], fontsize=9)
                if column == 0:
                    axes.imshow(frames[index], interpolation="nearest")
                    axes.text(
                        0.03,
                        0.05,
                        f"t = {index}",
                        transform=axes.transAxes,
                        fontsize=8,
                        color="white",
                        bbox=dict(facecolor="black", alpha=0.5, pad=1, linewidth=0),
                    )
                    continue
                method = methods[(column - 1) // 2]
                values = baselines[method] if column % 2 == 1 else selectives.get(method)
                axes.imshow(grey[index], cmap="gray", vmin=-0.3, vmax=1.3, interpolation="nearest")
                if values is None:
                    continue
                normalised = np.clip(values[index] / scales[method], -1, 1)
                axes.imshow(
                    normalised, cmap=DIVERGING_CMAP, vmin=-1, vmax=1, alpha=np.abs(normalised), interpolation="nearest"
                )
        if title:
            figure.suptitle(title, y=1 - 0.05 / figure_height, va="top", fontsize=11)
        out_path = Path(out_path)
        extension = out_path.suffix.lstrip(".") or "png"
        atomic_write(out_path, lambda temporary: figure.savefig(temporary, format=extension, dpi=dpi))
    return out_path
