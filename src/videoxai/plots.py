"""Paper-ready seaborn figures from the tidy metrics, and the Figure-3-style relevance grid.

Every figure is drawn on its own ``matplotlib.figure.Figure`` (no pyplot state, no GUI backend
needed) and saved as ``.png`` and ``.pdf`` through a temporary file, so a reader never sees half
a file. Conventions shared by all figures: methods in the paper's order with the paper's names;
colour = method in line plots (seaborn "colorblind" palette); in distribution plots grey =
baseline and a blue-green sequential palette = selective at increasing n; dashed black = chance.
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

from videoxai.colour import DIVERGING_CMAP, SCALE_PERCENTILE, relevance_scale
from videoxai.errors import VideoXAIError
from videoxai.files import atomic_write
from videoxai.methods import method_label
from videoxai.metrics import METHOD_ORDER, ordered_methods
from videoxai.tables import headline_q, headline_tau, normalise_metrics

FIGURE_NAMES: tuple[str, ...] = (
    "precision_by_method",
    "precision_vs_tau",
    "precision_vs_n",
    "selectivity",
    "overhead",
    "deletion_insertion",
)
FORMATS: tuple[str, ...] = ("png", "pdf")
DPI = 200

_PRECISION_PANELS = (
    ("precision", "All positive relevance (R > 0)"),
    ("weighted_precision", "Relevance-weighted"),
    ("topq_precision", "Top {q} of voxels by relevance"),
)
_BASELINE_GREY = "#8c8c8c"


def _style():
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


def _variant_label(variant: str, n: float) -> str:
    return "Baseline" if variant == "baseline" else f"Selective, n = {n:g}"


def variant_palette(ns: Sequence[float]) -> dict[str, tuple]:
    """Variant label -> colour: grey baseline, sequential blue-greens for selective n ascending."""
    ns = sorted(set(float(n) for n in ns if not pd.isna(n)))
    shades = sns.color_palette("crest", max(len(ns), 1)) if ns else []
    palette = {"Baseline": _BASELINE_GREY}
    palette.update({_variant_label("selective", n): shade for n, shade in zip(ns, shades)})
    return palette


def _save(figure: Figure, out_dir: Path, name: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for extension in FORMATS:
        path = out_dir / f"{name}.{extension}"
        written.append(atomic_write(path, lambda temporary, e=extension: figure.savefig(temporary, format=e, dpi=DPI)))
    return written


def _no_data(figure: Figure, message: str) -> None:
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
        Variant=[_variant_label(variant, n) for variant, n in zip(rows["variant"], rows["n"])],
    )


def _chance_mean(frame: pd.DataFrame, tau: float) -> float:
    chance = frame[(frame["metric"] == "chance") & np.isclose(frame["tau"], tau)]["value"]
    return float(chance.mean()) if chance.notna().any() else math.nan


def _panel_title(metric: str, title: str, q: float) -> str:
    return title.format(q=f"{q * 100:g}%") if metric == "topq_precision" else title


def _precision_by_method(figure: Figure, frame: pd.DataFrame, tau: float, q: float) -> None:
    rows = _precision_rows(frame, tau, q)
    if rows.empty:
        return _no_data(figure, "No motion-precision values")
    methods = [method_label(m) for m in ordered_methods(rows["method"])]
    palette = variant_palette(rows["n"])
    hue_order = [label for label in palette if label in set(rows["Variant"])]
    chance = _chance_mean(frame, tau)
    axes = figure.subplots(1, len(_PRECISION_PANELS), sharey=True)
    for panel, (metric, title) in zip(axes, _PRECISION_PANELS):
        data = rows[rows["metric"] == metric]
        if not data.empty:
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
                legend=panel is axes[0],
            )
        if not math.isnan(chance):
            panel.axhline(chance, color="black", linestyle="--", linewidth=1.2, label="Chance (moving voxels)")
        panel.set_title(_panel_title(metric, title, q))
        panel.set_xlabel("")
        panel.set_ylim(0, 1.02)
        panel.tick_params(axis="x", labelrotation=20)
        if panel.get_legend() is not None:
            panel.get_legend().remove()
    axes[0].set_ylabel(f"Motion precision at τ = {tau:g} px/frame\n(fraction, per clip)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), frameon=False)


def _line_legend(figure: Figure, axes, extra: Sequence[tuple] = ()) -> None:
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right center", frameon=False)


def _precision_vs_tau(figure: Figure, frame: pd.DataFrame, q: float, n: float) -> None:
    rows = _precision_rows(frame, None, q)
    rows = rows[(rows["variant"] == "baseline") | np.isclose(rows["n"], n)]
    if rows.empty or rows["tau"].nunique() < 1:
        return _no_data(figure, "No motion-precision values")
    methods = [method_label(m) for m in ordered_methods(rows["method"])]
    chance = frame[frame["metric"] == "chance"].dropna(subset=["value"])
    axes = figure.subplots(1, len(_PRECISION_PANELS), sharey=True)
    style_order = [label for label in ("Baseline", _variant_label("selective", n)) if label in set(rows["Variant"])]
    for panel, (metric, title) in zip(axes, _PRECISION_PANELS):
        data = rows[rows["metric"] == metric]
        if not data.empty:
            # Mean ± 1.96 standard errors: a normal 95% interval, much cheaper than a bootstrap.
            sns.lineplot(
                data=data,
                x="tau",
                y="value",
                hue="Method",
                hue_order=methods,
                palette=method_palette(ordered_methods(rows["method"])),
                style="Variant",
                style_order=style_order,
                markers=True,
                dashes={"Baseline": "", **{label: (4, 2) for label in style_order if label != "Baseline"}},
                errorbar=("se", 1.96),
                ax=panel,
                legend=panel is axes[0],
            )
        if not chance.empty:
            means = chance.groupby("tau")["value"].mean()
            panel.plot(
                means.index,
                means.to_numpy(),
                color="black",
                linestyle=":",
                linewidth=1.5,
                marker="o",
                markersize=3,
                label="Chance (moving voxels)",
            )
        panel.set_title(_panel_title(metric, title, q))
        panel.set_xlabel("Motion threshold τ (px/frame)")
        panel.set_ylim(0, 1.02)
        if panel.get_legend() is not None:
            panel.get_legend().remove()
    axes[0].set_ylabel("Motion precision (fraction)")
    _line_legend(figure, axes[0])


def _precision_vs_n(figure: Figure, frame: pd.DataFrame, tau: float, q: float) -> None:
    rows = _precision_rows(frame, tau, q)
    selective = rows[rows["variant"] == "selective"]
    if selective.empty:
        return _no_data(figure, "No selective motion-precision values")
    methods = ordered_methods(rows["method"])
    palette = method_palette(methods)
    axes = figure.subplots(1, len(_PRECISION_PANELS), sharey=True)
    for panel, (metric, title) in zip(axes, _PRECISION_PANELS):
        data = selective[selective["metric"] == metric]
        if not data.empty:
            sns.lineplot(
                data=data,
                x="n",
                y="value",
                hue="Method",
                hue_order=[method_label(m) for m in methods],
                palette=palette,
                marker="o",
                errorbar=("se", 1.96),
                ax=panel,
                legend=panel is axes[0],
            )
        baseline = rows[(rows["metric"] == metric) & (rows["variant"] == "baseline")]
        for method, value in baseline.groupby("method")["value"].mean().items():
            panel.axhline(value, color=palette[method_label(method)], linestyle="--", linewidth=1.0)
        panel.set_title(_panel_title(metric, title, q))
        panel.set_xlabel("Selective threshold n (multiples of σ)")
        panel.set_ylim(0, 1.02)
        if panel.get_legend() is not None:
            panel.get_legend().remove()
    axes[0].set_ylabel(f"Motion precision at τ = {tau:g} px/frame")
    axes[0].plot([], [], color="grey", linestyle="--", label="Baseline (same colour)")
    _line_legend(figure, axes[0])


def _selectivity(figure: Figure, frame: pd.DataFrame) -> None:
    rows = frame[frame["metric"].isin(["selectivity_voxels", "selectivity_relevance"])].dropna(subset=["value"])
    if rows.empty:
        return _no_data(figure, "No selective maps")
    rows = rows.assign(
        Method=rows["method"].map(method_label), Variant=[_variant_label("selective", n) for n in rows["n"]]
    )
    palette = variant_palette(rows["n"])
    palette.pop("Baseline")
    methods = [method_label(m) for m in ordered_methods(rows["method"])]
    axes = figure.subplots(1, 2, sharey=True)
    panels = (("selectivity_voxels", "Positive voxels kept"), ("selectivity_relevance", "Positive relevance kept"))
    for panel, (metric, title) in zip(axes, panels):
        data = rows[rows["metric"] == metric]
        if not data.empty:
            sns.boxplot(
                data=data,
                x="Method",
                y="value",
                hue="Variant",
                order=methods,
                hue_order=list(palette),
                palette=palette,
                showfliers=False,
                linewidth=1.0,
                ax=panel,
                legend=panel is axes[0],
            )
        panel.set_title(title)
        panel.set_xlabel("")
        panel.set_ylim(0, 1.02)
        panel.tick_params(axis="x", labelrotation=20)
        if panel.get_legend() is not None:
            panel.get_legend().remove()
    axes[0].set_ylabel("Selective / baseline (fraction, per clip)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), frameon=False)


def _overhead(figure: Figure, frame: pd.DataFrame) -> None:
    rows = frame[frame["metric"] == "seconds"].dropna(subset=["value"])
    if rows.empty:
        return _no_data(figure, "No timings")
    rows = rows.assign(
        Method=rows["method"].map(method_label),
        Variant=[
            "Method alone"
            if variant == "baseline"
            else ("With selective" if pd.isna(n) else f"With selective, n = {n:g}")
            for variant, n in zip(rows["variant"], rows["n"])
        ],
    )
    labels = ["Method alone"] + sorted(set(rows["Variant"]) - {"Method alone"})
    shades = sns.color_palette("crest", max(len(labels) - 1, 1))
    palette = {"Method alone": _BASELINE_GREY, **dict(zip(labels[1:], shades))}
    axes = figure.subplots()
    sns.barplot(
        data=rows,
        x="Method",
        y="value",
        hue="Variant",
        hue_order=labels,
        palette=palette,
        order=[method_label(m) for m in ordered_methods(rows["method"])],
        errorbar="sd",
        capsize=0.1,
        err_kws={"linewidth": 1.0},
        ax=axes,
    )
    axes.set_xlabel("")
    axes.set_ylabel("Time per explanation (s per clip)\nmean ± sd")
    handles, legend_labels = axes.get_legend_handles_labels()
    axes.get_legend().remove()
    figure.legend(handles, legend_labels, loc="outside upper center", ncols=min(len(legend_labels), 4), frameon=False)


def _deletion_insertion(figure: Figure, frame: pd.DataFrame) -> None:
    """Mean deletion / insertion curve per method: solid baseline, dotted selective (dash-dot for
    a second n, ...), dashed black the random reference."""
    rows = frame[frame["metric"].isin(["deletion_curve", "insertion_curve"])].dropna(subset=["value", "q"])
    if rows.empty:
        return _no_data(figure, "No deletion / insertion curves (faithfulness off)")
    means = rows.groupby(["metric", "method", "variant", "n", "q"], dropna=False)["value"].mean().reset_index()
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
        panel.set_title(title)
        panel.set_xlabel("Fraction of voxels removed" if metric == "deletion_curve" else "Fraction of voxels revealed")
        panel.set_xlim(0, 1)
    axes[0].set_ylabel("Target probability (mean over clips)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right center", frameon=False, fontsize="small")


def write_figures(
    metrics: pd.DataFrame, out_dir, *, tau: float | None = None, q: float | None = None, n: float | None = None
) -> list[Path]:
    """Write the summary figures as ``out_dir/<name>.{png,pdf}`` (``FIGURE_NAMES``).

    Args:
        metrics: tidy rows of :func:`videoxai.metrics.compute_clip_metrics`, all videos.
        tau: threshold (px/frame) of the per-method plots; default ``headline_tau``.
        q: top-q fraction shown; default ``headline_q``.
        n: the selective n drawn in ``precision_vs_tau``; default the smallest n present.
    Returns:
        The written paths. A figure without data is still written, saying so, so that a
        workflow can declare every file as an output.
    """
    frame = normalise_metrics(metrics)
    tau = headline_tau(frame) if tau is None else float(tau)
    q = headline_q(frame) if q is None else float(q)
    ns = sorted(frame.loc[frame["variant"] == "selective", "n"].dropna().unique())
    n = (ns[0] if ns else math.nan) if n is None else float(n)
    drawers: dict[str, tuple[Callable[[Figure], None], tuple[float, float]]] = {
        "precision_by_method": (lambda f: _precision_by_method(f, frame, tau, q), (13, 4.8)),
        "precision_vs_tau": (lambda f: _precision_vs_tau(f, frame, q, n), (15, 4.3)),
        "precision_vs_n": (lambda f: _precision_vs_n(f, frame, tau, q), (15, 4.3)),
        "selectivity": (lambda f: _selectivity(f, frame), (10, 4.8)),
        "overhead": (lambda f: _overhead(f, frame), (7, 4.2)),
        "deletion_insertion": (lambda f: _deletion_insertion(f, frame), (14, 4.8)),
    }
    written = []
    out_dir = Path(out_dir)
    with _style(), warnings.catch_warnings():
        # seaborn 0.13 passes boxplot's deprecated `vert`; nothing for our callers to act on.
        warnings.filterwarnings("ignore", message=".*vert: bool.*", category=DeprecationWarning)
        for name in FIGURE_NAMES:
            draw, size = drawers[name]
            figure = Figure(figsize=size, layout="constrained")
            draw(figure)
            written += _save(figure, out_dir, name)
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
    99.5th percentile of the baseline's |R| over the clip (:func:`videoxai.colour.relevance_scale`,
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

    with _style():
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
