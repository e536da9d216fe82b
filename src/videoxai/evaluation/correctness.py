"""Was the explained class the right one? Per-row correctness and Table 1 split by correct prediction.

On short clips a model's top-1 prediction is often not the video's action, and a map of the top-1
class then explains the wrong class. Every metric row therefore records, for its clip:

* ``correct``: 1.0 when the class the method explained is the video's true class, 0.0 when it is
  another class, NaN when the true class is unknown (no label, or a label the model does not have);
* ``predicted_correct``: the same for the model's top-1 prediction.

With ``explain.target: top1`` the two agree; with ``label`` the explained class is the true one
wherever it is known, and ``predicted_correct`` still says whether the model agreed.

:func:`prediction_groups` sorts clips by whether their top-1 prediction was correct, incorrect or
unknown (from the per-clip ``correct`` metric rows, which every metrics shard has);
:mod:`videoxai.report.correctness` computes Table 1 once per group from it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from videoxai.core.errors import VideoXAIError

CORRECT_COLUMNS: tuple[str, ...] = ("correct", "predicted_correct")

# Group name -> heading; the order of the rows of table1_by_correct.
PREDICTION_GROUPS: dict[str, str] = {
    "correct": "Clips whose top-1 prediction is the true class",
    "incorrect": "Clips whose top-1 prediction is another class",
    "unknown": "Clips whose true class is unknown (no label, or unmapped)",
}


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
