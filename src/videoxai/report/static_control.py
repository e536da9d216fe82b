"""The static control's table and figure: what selective relevance keeps on frozen clips, and where.

The numbers come from :mod:`videoxai.evaluation.static_control`; this module lays them out
(means with their video-level intervals, in percent) and draws the per-frame profile of the kept
voxels under the paper's definition and the margin remedy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from videoxai.core.methods import method_label
from videoxai.evaluation.static_control import TABLE_NAME, frame_profile
from videoxai.evaluation.stats import Interval, interval_text
from videoxai.report.render import write_rendered


def _interval(row, metric: str, scale: float = 100.0, digits: int = 1) -> str:
    return interval_text(
        Interval(row[metric], row[f"{metric}_low"], row[f"{metric}_high"], 0, 0), scale=scale, digits=digits
    )


HEADERS = (
    "Variant",
    "Method",
    "n",
    "Kept relevance (%)",
    "Kept voxels (%)",
    "Kept in first/last frames (%)",
    "Kept in border band (%)",
    "Clips",
    "Videos",
)


def display_rows(table: pd.DataFrame) -> list[list[str]]:
    rows = []
    for _, row in table.iterrows():
        rows.append(
            [
                str(row["definition"]),
                str(row["method"]),
                f"{row['n']:g}",
                _interval(row, "kept_relevance"),
                _interval(row, "kept_voxels", digits=2),
                _interval(row, "edge_frames"),
                _interval(row, "border"),
                str(int(row["clips"])),
                str(int(row["videos"])),
            ]
        )
    return rows


def caption(areas: Mapping[str, float], edge: int, border: int, margin: Mapping[str, int] | None) -> str:
    text = (
        "Static control: selective relevance on a frozen copy of every clip (its middle frame repeated), "
        "where nothing moves and every kept voxel is an artifact. Means over clips with 95 % video-level "
        f"t intervals. The first/last {edge} frame(s) are {100 * areas['edge_frames_area']:.1f} % of "
        f"the clip and the {border}-pixel border band {100 * areas['border_area']:.1f} % of the frame."
    )
    if margin:
        text += (
            f" 'margin' is the paper's mask without the first/last {margin['frames']} frames and the "
            f"{margin['pixels']}-pixel border (selective.mode: margin)."
        )
    return text


def write_static_control(
    table: pd.DataFrame, folder: str | Path, caption_text: str, label: str = TABLE_NAME
) -> list[Path]:
    """``static_control.{csv,md,tex}`` in ``folder``; the csv has the numbers, md/tex the intervals."""
    return write_rendered(
        folder, label, caption_text, list(HEADERS), display_rows(table), data=table, float_format="%.6g"
    )


def write_frame_figure(
    profiles: Mapping[tuple[str, str], Sequence[np.ndarray]], methods: Sequence[str], n: float, path: str | Path
) -> Path:
    """Share of the kept voxels in each frame of the frozen clips, per method, for the paper's
    definition and the margin remedy side by side, at σ multiplier ``n``.

    Args:
        profiles: (definition, method) -> the bool ``(N, T, H, W)`` masks of every video at ``n``.
    """
    figure = Figure(figsize=(9, 3.2))
    axes = figure.subplots(1, 2, sharey=True)
    length = None
    for axis, definition in zip(axes, ("paper", "margin")):
        for method in methods:
            profile = frame_profile(profiles[(definition, method)])
            length = len(profile)
            axis.plot(np.arange(len(profile)), profile, marker="o", markersize=3, label=method_label(method))
        if length:
            axis.axhline(1.0 / length, color="grey", linestyle="--", linewidth=1, label="uniform")
        axis.set_title(f"{definition}, n = {n:g}")
        axis.set_xlabel("frame of the frozen clip")
    axes[0].set_ylabel("share of kept voxels")
    axes[1].legend(fontsize=7)
    figure.suptitle("Static control: where selective relevance keeps voxels on frozen clips", fontsize=9)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
