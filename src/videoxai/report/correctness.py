"""Table 1 split by whether the model's top-1 prediction was right (``metrics.split_by_correct``).

A reader sees whether maps of misclassified clips look at motion differently; the groups come
from :func:`videoxai.evaluation.correctness.prediction_groups`.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from videoxai.core.files import atomic_write
from videoxai.evaluation.correctness import PREDICTION_GROUPS, prediction_groups
from videoxai.report.tables import build_tables, headline_q, headline_tau, normalise_metrics, render_table

TABLE1_BY_CORRECT = "table1_by_correct"


def table1_by_correct(metrics: pd.DataFrame, *, tau: float | None = None, q: float | None = None) -> pd.DataFrame:
    """Table 1 (``videoxai.report.tables.build_tables``) once per prediction group.

    Returns:
        Table 1's columns with a ``prediction`` column first (``correct`` / ``incorrect`` /
        ``unknown``, in that order); a group without clips has no rows.
    """
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


__all__ = ["TABLE1_BY_CORRECT", "table1_by_correct", "write_table1_by_correct"]
