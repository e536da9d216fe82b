"""What the model does without motion: its probability on still and shuffled copies of each clip.

Static-bias research asks the model, not its explanation: a model that needs motion loses
confidence when the clip is frozen (SCUFO, Li et al. ICCV 2023) or its frames are shuffled
(Huang et al. CVPR 2018). Per clip, for the class its explanations explain (its top-1 class, or
its label with ``explain.target: label``):

* ``p_clip``, ``p_still``, ``p_shuffled``: the softmax probability of that class on the clip, on
  its still copy (middle frame repeated) and on its shuffled copies (mean over the copies);
* ``freeze_drop = p_clip - p_still`` and ``shuffle_drop = p_clip - p_shuffled``: how much of the
  model's confidence rests on motion and on frame order;
* with a known true class: ``correct_clip``, ``correct_still``, ``correct_shuffled`` (top-1 equals
  the true class; the shuffled one the share of copies) and ``contrasted_correct``, SCUFO's
  contrasted accuracy: right on the clip *and* a different prediction on the still copy (a clip
  the model gets right only with its motion).

Rows are tidy (the study's metric columns, method and variant empty) and carry the clip's class
in the optional column ``class_name`` (its label, or the explained class's name marked
``(predicted)`` when the video has none), so the table can answer "which classes does this model
get right without motion?".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from videoxai.core.errors import VideoXAIError
from videoxai.evaluation.metrics import TIDY_COLUMNS, empty_metrics

BEHAVIOUR_METRICS: tuple[str, ...] = (
    "p_clip",
    "p_still",
    "p_shuffled",
    "freeze_drop",
    "shuffle_drop",
    "correct_clip",
    "correct_still",
    "correct_shuffled",
    "contrasted_correct",
)
CLASS_COLUMN = "class_name"


def behaviour_bounds(metric: str) -> tuple[float, float]:
    """What a behaviour metric's clip mean can take: a drop is a difference of two
    probabilities, in [-1, 1]; a probability or accuracy lies in [0, 1]."""
    return (-1.0, 1.0) if metric.endswith("_drop") else (0.0, 1.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def class_probability(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The probability of each clip's ``target`` class: logits ``(N, K)`` or ``(N, Q, K)``,
    target int ``(N,)``; returns ``(N,)`` or ``(N, Q)``."""
    probabilities = softmax(logits)
    target = np.asarray(target, np.int64)
    if probabilities.ndim == 2:
        return probabilities[np.arange(len(target)), target]
    return probabilities[np.arange(len(target))[:, None], np.arange(probabilities.shape[1])[None], target[:, None]]


def behaviour_rows(
    video: str,
    target: np.ndarray,
    logits: np.ndarray,
    still_logits: np.ndarray | None,
    shuffled_logits: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    class_names: Sequence[str] = (),
    label_name: str = "",
) -> pd.DataFrame:
    """Tidy behaviour rows of one video's clips.

    Args:
        target: int ``(N,)``, the class each clip's explanations explain.
        logits: float ``(N, K)`` on the clips; ``still_logits`` ``(N, K)`` on their still copies;
            ``shuffled_logits`` ``(N, Q, K)`` on their shuffled copies (None: not measured).
        labels: int ``(N,)`` true class per clip, negative where unknown (None: unknown).
        class_names: the model's class names (for the ``class_name`` column).
        label_name: the video's label as listed ("" when it has none).
    Returns:
        Rows with :data:`~videoxai.evaluation.metrics.TIDY_COLUMNS` plus ``class_name``.
    """
    target = np.asarray(target, np.int64)
    logits = np.asarray(logits, np.float64)
    clips = len(target)
    if logits.shape[0] != clips or logits.ndim != 2:
        raise VideoXAIError(f"logits {logits.shape} do not fit {clips} clips")
    values: dict[str, np.ndarray] = {"p_clip": class_probability(logits, target)}
    predicted = logits.argmax(axis=1)
    still_predicted = None
    if still_logits is not None:
        values["p_still"] = class_probability(still_logits, target)
        values["freeze_drop"] = values["p_clip"] - values["p_still"]
        still_predicted = np.asarray(still_logits).argmax(axis=1)
    shuffled_predicted = None
    if shuffled_logits is not None and np.size(shuffled_logits):
        values["p_shuffled"] = class_probability(shuffled_logits, target).mean(axis=1)
        values["shuffle_drop"] = values["p_clip"] - values["p_shuffled"]
        shuffled_predicted = np.asarray(shuffled_logits).argmax(axis=2)
    truth = np.full(clips, -1, np.int64) if labels is None else np.asarray(labels, np.int64).reshape(clips)
    known = truth >= 0
    if known.any():
        values["correct_clip"] = np.where(known, predicted == truth, np.nan)
        if still_predicted is not None:
            values["correct_still"] = np.where(known, still_predicted == truth, np.nan)
            values["contrasted_correct"] = np.where(
                known, (predicted == truth) & (still_predicted != predicted), np.nan
            )
        if shuffled_predicted is not None:
            values["correct_shuffled"] = np.where(known, (shuffled_predicted == truth[:, None]).mean(axis=1), np.nan)
    names = [
        label_name or f"{class_names[index] if 0 <= index < len(class_names) else index} (predicted)"
        for index in target
    ]
    frames = []
    for metric in BEHAVIOUR_METRICS:
        if metric not in values:
            continue
        frame = pd.DataFrame(
            {
                "video": video,
                "clip": np.arange(clips),
                "method": "",
                "variant": "",
                "n": np.nan,
                "tau": np.nan,
                "q": np.nan,
                "other_method": "",
                "metric": metric,
                "value": np.asarray(values[metric], np.float64),
            },
            columns=list(TIDY_COLUMNS),
        )
        frame[CLASS_COLUMN] = names
        frames.append(frame)
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else empty_metrics().assign(**{CLASS_COLUMN: pd.Series(dtype=object)})
    )


__all__ = ["BEHAVIOUR_METRICS", "CLASS_COLUMN", "behaviour_bounds", "behaviour_rows", "class_probability", "softmax"]
