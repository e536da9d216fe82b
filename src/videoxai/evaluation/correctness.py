"""Was the explained class the right one? Per-row correctness and Table 1 split by correct prediction.

On short clips a model's top-1 prediction is often not the video's action, and a map of the top-1
class then explains the wrong class. Every metric row therefore records, for its clip:

* ``correct``: 1.0 when the class the method explained is the video's true class, 0.0 when it is
  another class, NaN when the true class is unknown (no label, or a label the model does not have);
* ``predicted_correct``: the same for the model's top-1 prediction.

With ``explain.target: top1`` the two agree; with ``label`` the explained class is the true one
wherever it is known, and ``predicted_correct`` still says whether the model agreed.

:func:`table1_by_correct` computes Table 1 separately on the clips whose top-1 prediction was
correct, incorrect and unknown (from the per-clip ``correct`` metric rows, which every metrics
shard has), so a reader sees whether maps of misclassified clips look at motion differently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import atomic_write

CORRECT_COLUMNS: tuple[str, ...] = ("correct", "predicted_correct")

# Group name -> heading; the order of the rows of table1_by_correct.
PREDICTION_GROUPS: dict[str, str] = {
    "correct": "Clips whose top-1 prediction is the true class",
    "incorrect": "Clips whose top-1 prediction is another class",
    "unknown": "Clips whose true class is unknown (no label, or unmapped)",
}

TABLE1_BY_CORRECT = "table1_by_correct"


def _per_clip(values, name: str, clips: int) -> np.ndarray:
    array = np.asarray(values).reshape(-1)
    if array.shape[0] != clips:
        raise VideoXAIError(f"expected one value per clip ({clips}), got {array.shape[0]}", name)
    return array.astype(np.int64)


def mark_correct(frame: pd.DataFrame, labels, predicted, explained: Mapping[str, object] | None = None) -> pd.DataFrame:
    """A copy of one video's tidy metric rows with the ``correct`` and ``predicted_correct`` columns.

    Args:
        frame: tidy rows of one video (``videoxai.evaluation.metrics.compute_clip_metrics``), ``clip`` 0..N-1.
        labels: int ``(N,)`` true class per clip; negative means unknown.
        predicted: int ``(N,)`` the model's top-1 class per clip.
        explained: method -> int ``(N,)`` class that method explained per clip. Rows of other
            methods, and per-clip rows without a method (``chance``, ``correct``), take the
            first entry's classes (every method of a study explains the same class), or
            ``predicted`` when ``explained`` is empty.
    Returns:
        The rows with float64 columns ``correct`` and ``predicted_correct`` (1.0, 0.0 or NaN).
    """
    clips = len(np.asarray(labels).reshape(-1))
    truth = _per_clip(labels, "labels", clips)
    top1 = _per_clip(predicted, "predicted", clips)
    explained = {
        str(method): _per_clip(values, f"explained[{method}]", clips) for method, values in (explained or {}).items()
    }
    default = next(iter(explained.values()), top1)
    clip = frame["clip"].to_numpy(dtype=np.int64)
    if len(clip) and (clip.min() < 0 or clip.max() >= clips):
        raise VideoXAIError(f"clip indices must lie in [0, {clips})", "frame.clip")
    explained_class = default[clip]
    methods = frame["method"].astype(str).to_numpy()
    for method, values in explained.items():
        rows = methods == method
        explained_class[rows] = values[clip[rows]]
    known = truth[clip] >= 0
    marked = frame.copy()
    marked["correct"] = np.where(known, (explained_class == truth[clip]).astype(np.float64), np.nan)
    marked["predicted_correct"] = np.where(known, (top1[clip] == truth[clip]).astype(np.float64), np.nan)
    return marked


def prediction_groups(metrics: pd.DataFrame) -> pd.Series:
    """Per row of ``metrics``: ``correct``, ``incorrect`` or ``unknown``, from its clip's
    ``correct`` metric row (the top-1 prediction against the true class)."""
    verdict = metrics[(metrics["metric"] == "correct") & metrics["value"].notna()]
    lookup = {
        (str(video), int(clip)): ("correct" if value >= 0.5 else "incorrect")
        for video, clip, value in zip(verdict["video"], verdict["clip"], verdict["value"])
    }
    keys = zip(metrics["video"].astype(str), metrics["clip"].astype(np.int64))
    return pd.Series([lookup.get((video, int(clip)), "unknown") for video, clip in keys], index=metrics.index)


def table1_by_correct(metrics: pd.DataFrame, *, tau: float | None = None, q: float | None = None) -> pd.DataFrame:
    """Table 1 (``videoxai.report.tables.build_tables``) once per prediction group.

    Returns:
        Table 1's columns with a ``prediction`` column first (``correct`` / ``incorrect`` /
        ``unknown``, in that order); a group without clips has no rows.
    """
    from videoxai.report.tables import build_tables, headline_q, headline_tau, normalise_metrics

    frame = normalise_metrics(metrics)
    tau = headline_tau(frame) if tau is None else float(tau)
    q = headline_q(frame) if q is None else float(q)
    groups = prediction_groups(frame)
    parts = []
    for group in PREDICTION_GROUPS:
        subset = frame[groups == group]
        if subset.empty:
            continue
        table = build_tables(subset, tau=tau, q=q)["table1"]
        if len(table):
            parts.append(table.assign(prediction=group))
    if not parts:
        return pd.DataFrame(columns=["prediction"])
    table = pd.concat(parts, ignore_index=True)
    return table[["prediction", *[column for column in table.columns if column != "prediction"]]]


def write_table1_by_correct(
    metrics: pd.DataFrame, out_dir, *, tau: float | None = None, q: float | None = None
) -> list[Path]:
    """Write ``table1_by_correct.{csv,md,tex}`` into ``out_dir``: the numbers as one CSV, and
    Table 1's own rendering once per prediction group under a heading. Nothing is written (and
    earlier files are removed) when no clip has metric rows; returns the paths written."""
    from videoxai.report.tables import headline_q, headline_tau, normalise_metrics, render_table

    out_dir = Path(out_dir)
    targets = [out_dir / f"{TABLE1_BY_CORRECT}.{suffix}" for suffix in ("csv", "md", "tex")]
    frame = normalise_metrics(metrics)
    tau = headline_tau(frame) if tau is None else float(tau)
    q = headline_q(frame) if q is None else float(q)
    table = table1_by_correct(frame, tau=tau, q=q)
    if table.empty:
        for path in targets:
            path.unlink(missing_ok=True)
        return []
    # the group's own clip count: a row's `clips` counts only clips where its precision is defined
    groups = prediction_groups(frame)
    keys = frame["video"] + "\x00" + frame["clip"].astype(str)
    markdown, latex = [], []
    for group, heading in PREDICTION_GROUPS.items():
        rows = table[table["prediction"] == group].drop(columns="prediction").reset_index(drop=True)
        if rows.empty:
            continue
        clips = int(keys[groups == group].nunique())
        md, tex = render_table("table1", rows, tau if tau is not None else math.nan, q)
        markdown.append(f"## {heading}: {clips} clips\n\n{md}")
        latex.append(f"% {heading}: {clips} clips\n{tex.replace('tab:table1', f'tab:table1_{group}')}")
    return [
        atomic_write(targets[0], lambda p: table.to_csv(p, index=False)),
        atomic_write(targets[1], lambda p: p.write_text("\n".join(markdown), encoding="utf-8")),
        atomic_write(targets[2], lambda p: p.write_text("\n".join(latex), encoding="utf-8")),
    ]
