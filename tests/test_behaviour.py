"""What the model does without motion, the rank correlations and the sentences built on them,
on numbers derived by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from videoxai.evaluation.behaviour import CLASS_COLUMN, behaviour_rows, class_probability, softmax
from videoxai.evaluation.correlation import auroc, binomial_interval, bootstrap_auroc, bootstrap_spearman, spearman
from videoxai.report.findings import behaviour_sentences, calibration_sentences, reliance_sentences
from videoxai.report.motion_tables import calibration_table, explanation_behaviour_table, motion_reliance_table
from videoxai.report.tables import normalise_metrics

SETTINGS = {"resamples": 200, "level": 0.95, "seed": 0, "method": "t"}


def test_probabilities_and_drops_by_hand():
    # logits ln(3), 0: softmax 3/4, 1/4
    logits = np.log(np.array([[3.0, 1.0], [1.0, 1.0]]))
    np.testing.assert_allclose(softmax(logits), [[0.75, 0.25], [0.5, 0.5]])
    still = np.log(np.array([[1.0, 1.0], [1.0, 3.0]]))
    shuffled = np.log(np.array([[[1.0, 3.0], [3.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]]))
    rows = behaviour_rows("v", np.array([0, 1]), logits, still, shuffled, labels=np.array([0, -1]), label_name="Knit")

    def value(metric, clip):
        return rows[(rows["metric"] == metric) & (rows["clip"] == clip)]["value"].iloc[0]

    assert value("p_clip", 0) == pytest.approx(0.75) and value("p_still", 0) == pytest.approx(0.5)
    assert value("freeze_drop", 0) == pytest.approx(0.25) and value("freeze_drop", 1) == pytest.approx(0.5 - 0.75)
    assert value("p_shuffled", 0) == pytest.approx((0.25 + 0.75) / 2) and value("shuffle_drop", 0) == pytest.approx(
        0.25
    )
    # clip 0 is labelled class 0: right on the clip (argmax 0), the still copy's argmax is 0 too
    # (ties go to the first class), so not contrasted; one of two shuffled copies right
    assert value("correct_clip", 0) == 1.0 and value("correct_still", 0) == 1.0
    assert value("contrasted_correct", 0) == 0.0 and value("correct_shuffled", 0) == 0.5
    assert math.isnan(value("correct_clip", 1))  # no label
    assert set(rows[CLASS_COLUMN]) == {"Knit"}
    assert class_probability(shuffled, np.array([0, 1])).shape == (2, 2)


def test_spearman_auroc_and_wilson_by_hand():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties take average ranks: ranks of [1, 1, 2] are 1.5, 1.5, 3
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(np.corrcoef([1.5, 1.5, 3], [1, 2, 3])[0, 1])
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert auroc([3, 4], [1, 2]) == 1.0 and auroc([1, 2], [1, 2]) == 0.5
    low, high = binomial_interval(0, 36)
    assert low == 0.0 and high == pytest.approx(3.8415 / (36 + 3.8415), abs=1e-3)  # z² / (n + z²)
    correlation = bootstrap_spearman(
        [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], ["a", "a", "b", "b", "c", "c"], resamples=100
    )
    assert correlation.videos == 3 and correlation.low <= correlation.rho <= correlation.high
    value, low, high = bootstrap_auroc([5, 6, 7], [1, 2, 3], ["a", "b", "c"], ["d", "e", "f"], resamples=50)
    assert value == low == high == 1.0


def tidy(video, clip, method, variant, metric, value, n=math.nan, class_name=""):
    return {
        "video": video,
        "clip": clip,
        "method": method,
        "variant": variant,
        "n": n,
        "tau": math.nan,
        "q": math.nan,
        "other_method": "",
        "metric": metric,
        "value": value,
        CLASS_COLUMN: class_name,
    }


def study_rows(videos: int = 12) -> pd.DataFrame:
    """Each video one clip; the model's freeze drop rises with the video's index, DTD's calibrated
    share with it, Grad-CAM's against it."""
    rows = []
    for index in range(videos):
        video, drop = f"v{index}", index / videos
        rows += [
            tidy(video, 0, "", "", "p_clip", 0.9, class_name="A" if index % 2 else "B"),
            tidy(video, 0, "", "", "p_still", 0.9 - drop, class_name="A" if index % 2 else "B"),
            tidy(video, 0, "", "", "freeze_drop", drop, class_name="A" if index % 2 else "B"),
            tidy(video, 0, "", "", "shuffle_drop", drop / 2, class_name="A" if index % 2 else "B"),
        ]
        for method, share in (("dtd", drop), ("gradcam", 1 - drop)):
            rows += [
                tidy(video, 0, method, "calibrated", "calibrated_share", share),
                tidy(video, 0, method, "calibrated", "calibrated_p", 0.5 - share / 2),
                tidy(video, 0, method, "calibrated", "calibrated_flagged", float(index >= videos - 3)),
                tidy(video, 0, method, "calibrated", "calibrated_null_maps", 3.0 * videos),
                tidy(video, 0, method, "calibrated", "calibrated_alpha", 0.05),
                tidy(video, 0, method, "selective", "selectivity_relevance", share, n=4.0),
            ]
    return normalise_metrics(pd.DataFrame(rows))


def test_motion_tables_and_their_sentences():
    frame = study_rows()
    calibration = calibration_table(frame, SETTINGS)
    dtd = calibration[calibration["method"] == "dtd"].iloc[0]
    assert dtd["flagged_clips"] == 3 and dtd["flagged_mean"] == pytest.approx(0.25) and dtd["null_maps"] == 36
    assert dtd["smallest_p"] == pytest.approx(1 / 37)
    reliance = motion_reliance_table(frame, SETTINGS)
    assert reliance["class_name"].tolist() == ["All classes", "A", "B"]
    assert reliance.iloc[0]["freeze_drop_mean"] == pytest.approx(np.mean(np.arange(12) / 12))
    behaviour = explanation_behaviour_table(frame, SETTINGS)
    rho = behaviour.set_index(["method", "measure", "behaviour"])["rho"]
    assert rho[("dtd", "calibrated_share", "freeze_drop")] == pytest.approx(1.0)
    assert rho[("gradcam", "calibrated_share", "freeze_drop")] == pytest.approx(-1.0)
    text = " ".join(behaviour_sentences(behaviour, min_videos=10))
    assert "Calibrated share tracks the model's freeze drop for DTD" in text and "runs against it for Grad-CAM" in text
    few = " ".join(behaviour_sentences(behaviour, min_videos=20))
    assert "cannot be judged with only 12 videos (fewer than report.min_videos = 20)" in few
    sentences = " ".join(reliance_sentences(reliance, min_videos=10))
    assert "dropped by +45.8" in sentences and "rests partly on motion" in sentences
    assert "DTD 3 of 12" in " ".join(calibration_sentences(calibration))


def test_a_null_too_small_to_flag_is_said():
    frame = study_rows(videos=4)
    calibration = calibration_table(frame, SETTINGS)
    text = " ".join(calibration_sentences(calibration))
    assert "With 12 null maps its smallest p-value is 0.077, above α: no clip can be flagged" in text


def test_a_study_without_calibration_or_still_copies_keeps_typed_columns(tmp_path):
    """The empty calibrated/behaviour parts must not turn ``clip`` into an object column: pandas 3
    lets an untyped empty frame decide a concatenated column's dtype, and the shard writer then
    refused the column of Python ints (metrics failed for every video of such a study)."""
    from types import SimpleNamespace

    from videoxai.data.shards import read_table_shard, write_table_shard
    from videoxai.evaluation.metrics import empty_metrics
    from videoxai.study.per_video import calibrated_rows

    empty = calibrated_rows("v", SimpleNamespace(arrays={}), ["dtd", "gradcam"])
    assert len(empty) == 0 and empty["clip"].dtype == np.int64 and empty["value"].dtype == np.float64
    none = behaviour_rows("v", np.array([], int), np.zeros((0, 3)), np.zeros((0, 3)), None, labels=np.array([], int))
    assert len(none) == 0 and none["clip"].dtype == np.int64 and CLASS_COLUMN in none
    rows = empty_metrics()
    rows.loc[0] = ["v", 0, "dtd", "baseline", np.nan, 2.0, np.nan, "", "motion_precision", 0.5]
    table = pd.concat([rows.astype({"clip": np.int64}), empty], ignore_index=True)
    assert table["clip"].dtype == np.int64
    write_table_shard(tmp_path / "m.h5", table, video_id="v", config={})
    back, shard = read_table_shard(tmp_path / "m.h5")
    assert not shard.failed and back["clip"].tolist() == [0] and back["value"].tolist() == [0.5]
