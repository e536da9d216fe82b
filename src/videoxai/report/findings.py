"""The sentences that answer "does this model use motion?", computed from the tables.

Every number and every verdict in them comes from a table the study wrote: the calibrated test
(``calibration``), the model's behaviour without motion (``motion_reliance``), the rank
correlations between the two (``explanation_behaviour``), and the ground-truth benchmark's
calibrated summary. A verdict needs ``report.min_videos`` videos
(:func:`videoxai.evaluation.stats.verdict`); below it the sentence says there are too few.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from videoxai.core.methods import method_label
from videoxai.evaluation.stats import MIN_VIDEOS, Interval, interval_text, verdict
from videoxai.report.motion_tables import ALL_CLASSES, MEASURES

# What the ground-truth targets ask of a method's calibrated test (issue: the motion-trained
# model flagged on at least 90 % of videos; the context-trained on at most 5 %, upper bound 10 %).
MOTION_FLAGGED = 0.90
CONTEXT_FLAGGED = 0.05
CONTEXT_UPPER = 0.10


def percent(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.1f} %"


def share_text(mean: float, low: float, high: float) -> str:
    """``"30.0 % [20.0, 40.0]"``."""
    text = interval_text(Interval(mean, low, high, 0, 0), scale=100.0, digits=1)
    return text if text == "–" else text.replace(" ", " % ", 1) if "[" in text else f"{text} %"


def points_text(mean: float, low: float, high: float) -> str:
    """``"+35.3 [-6.0, +76.5] points"``: a difference of probabilities in percentage points."""
    return interval_text(Interval(mean, low, high, 0, 0), scale=100.0, digits=1, signed=True) + " points"


def listing(parts: Sequence[str]) -> str:
    parts = list(parts)
    if not parts:
        return "none"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def calibration_sentences(table: pd.DataFrame) -> list[str]:
    """What the calibrated test found in this study, per method, or why it could not find anything."""
    if table is None or table.empty:
        return []
    alpha = float(table["alpha"].dropna().max()) if "alpha" in table and table["alpha"].notna().any() else math.nan
    untestable = table[table["smallest_p"] > alpha] if not math.isnan(alpha) else table.iloc[0:0]
    parts = [
        f"{method_label(row['method'])} {int(row['flagged_clips'])} of {int(row['clips'])} "
        f"({share_text(row['flagged_mean'], row['flagged_low'], row['flagged_high'])})"
        for _, row in table.iterrows()
    ]
    sentences = [
        f"The calibrated test (α = {alpha:g}) flagged as holding more than their still copies show: "
        + listing(parts)
        + " clips."
    ]
    if len(untestable):
        null_maps = int(untestable["null_maps"].min())
        needed = math.ceil(1 / alpha) - 1
        sentences.append(
            f"With {null_maps} null maps its smallest p-value is {1 / (1 + null_maps):.3f}, above α: no clip can be "
            f"flagged here, and a study needs at least {needed} null maps (clips × selective.calibration.shifts) "
            "to test at this α."
        )
    return sentences


def reliance_sentences(table: pd.DataFrame, min_videos: int = MIN_VIDEOS) -> list[str]:
    """How much the model's confidence rests on motion, with which classes it keeps without it."""
    if table is None or table.empty:
        return []
    overall = table[table["class_name"] == ALL_CLASSES].iloc[0]
    videos = int(overall["videos"])
    freeze = points_text(overall["freeze_drop_mean"], overall["freeze_drop_low"], overall["freeze_drop_high"])
    shuffle = points_text(overall["shuffle_drop_mean"], overall["shuffle_drop_low"], overall["shuffle_drop_high"])
    sentence = (
        f"Without motion the model's probability for the explained class dropped by {freeze} on still copies "
        f"and by {shuffle} on shuffled copies (clip minus copy, {int(overall['clips'])} clips of {videos} videos)"
    )
    drop = verdict(
        Interval(overall["freeze_drop_mean"], overall["freeze_drop_low"], overall["freeze_drop_high"], 0, videos),
        videos,
        min_videos,
    )
    if drop == "too few videos":
        sentence += f"; with only {videos} videos (fewer than report.min_videos = {min_videos}) it cannot tell whether freezing lowers it."
    elif drop == "supported" and overall["freeze_drop_mean"] > 0:
        sentence += ": the data support that the model's confidence rests partly on motion."
    elif drop == "supported":
        sentence += ": the model is more confident without motion."
    else:
        sentence += ": the data do not show that the model needs motion for its confidence."
    sentences = [sentence]
    classes = table[table["class_name"] != ALL_CLASSES]
    if "correct_still_mean" in classes and classes["correct_still_mean"].notna().any():
        without = classes[(classes["correct_still_mean"] >= 0.5) & (classes["contrasted_correct_mean"] <= 0.25)]
        needs = classes[classes["contrasted_correct_mean"] > 0.25]
        sentences.append(
            "Classes it still gets right on still copies (accuracy ≥ 50 %, contrasted accuracy ≤ 25 %): "
            + listing([str(name) for name in without["class_name"]])
            + "; classes it gets right only with their motion (contrasted accuracy > 25 %): "
            + listing([str(name) for name in needs["class_name"]])
            + "."
        )
    return sentences


def behaviour_sentences(table: pd.DataFrame, min_videos: int = MIN_VIDEOS) -> list[str]:
    """Per explanation measure, for which methods it tracks the model's freeze drop."""
    if table is None or table.empty:
        return []
    sentences = []
    for measure, label in MEASURES.items():
        rows = table[(table["measure"] == measure) & (table["behaviour"] == "freeze_drop")]
        if rows.empty:
            continue
        tracks, against, unclear, few = [], [], [], []
        for _, row in rows.iterrows():
            interval = Interval(row["rho"], row["rho_low"], row["rho_high"], int(row["clips"]), int(row["videos"]))
            outcome = verdict(interval, int(row["videos"]), min_videos)
            text = f"{method_label(row['method'])} (ρ = {interval_text(interval, signed=True)})"
            if outcome == "too few videos":
                few.append(text)
            elif outcome == "supported" and row["rho"] > 0:
                tracks.append(text)
            elif outcome == "supported":
                against.append(text)
            else:
                unclear.append(text)
        parts = []
        if tracks:
            parts.append(f"tracks the model's freeze drop for {listing(tracks)}")
        if against:
            parts.append(f"runs against it for {listing(against)}")
        if unclear:
            parts.append(f"shows no rank correlation the data support for {listing(unclear)}")
        if few:
            videos = int(rows["videos"].max())
            parts.append(
                f"cannot be judged with only {videos} videos (fewer than report.min_videos = {min_videos}) for "
                f"{listing(few)}"
            )
        sentences.append(f"{label} {'; '.join(parts)}.")
    return sentences


def study_findings(tables: Mapping[str, pd.DataFrame], min_videos: int = MIN_VIDEOS) -> list[str]:
    """The front page's answer to "does this model use motion?" from this study's tables."""
    return [
        *calibration_sentences(tables.get("calibration")),
        *reliance_sentences(tables.get("motion_reliance"), min_videos),
        *behaviour_sentences(tables.get("explanation_behaviour"), min_videos),
    ]


def ground_truth_calibration_sentences(table: pd.DataFrame) -> list[str]:
    """Which methods' calibrated test separates the benchmark's two models as the targets ask."""
    if table is None or table.empty:
        return []
    meets, misses = [], []
    for _, row in table.iterrows():
        label = (
            f"{method_label(row['method'])} ({percent(row['flagged_motion'])} vs "
            f"{share_text(row['flagged_context'], row['flagged_context_low'], row['flagged_context_high'])}, AUROC "
            f"{interval_text(Interval(row['auroc'], row['auroc_low'], row['auroc_high'], 0, 0))})"
        )
        ok = (
            row["flagged_motion"] >= MOTION_FLAGGED
            and row["flagged_context"] <= CONTEXT_FLAGGED
            and row["flagged_context_high"] <= CONTEXT_UPPER
        )
        (meets if ok else misses).append(label)
    sentence = (
        "The calibrated test flagged the motion-trained model's videos and not the context-trained model's "
        f"(at least {MOTION_FLAGGED:.0%} vs at most {CONTEXT_FLAGGED:.0%}, upper bound {CONTEXT_UPPER:.0%}) for "
        f"{listing(meets)}"
    )
    if misses:
        sentence += f"; not for {listing(misses)}"
    return [sentence + " (flagged share motion-trained vs context-trained, AUROC of its statistic)."]


__all__ = [
    "behaviour_sentences",
    "calibration_sentences",
    "ground_truth_calibration_sentences",
    "reliance_sentences",
    "study_findings",
]
