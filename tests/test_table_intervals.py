"""The tables' interval and paired-difference columns on hand-made metrics whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from videoxai.core.errors import VideoXAIError
from videoxai.evaluation.metrics import TIDY_COLUMNS
from videoxai.report.figures import write_figures
from videoxai.report.front_page import headline
from videoxai.report.tables import build_tables, render_table

# Hand-derived bootstrap intervals: with two or three videos the resampled means can be listed.
PERCENTILE = {"method": "percentile"}


def precision_rows(values: dict[tuple[str, int], tuple[float, float]], tau: float = 1.0) -> pd.DataFrame:
    """Table-1 rows of method ``dtd``: ``{(video, clip): (baseline, selective at n = 4)}``, the
    same value for the three precisions, and chance 0.1 on every clip."""
    rows = []
    for (video, clip), (baseline, selective) in values.items():
        rows.append(dict(video=video, clip=clip, method="", variant="", n=math.nan, metric="chance", value=0.1))
        for variant, n, value in (("baseline", math.nan, baseline), ("selective", 4.0, selective)):
            for metric in ("precision", "weighted_precision", "topq_precision"):
                rows.append(
                    dict(video=video, clip=clip, method="dtd", variant=variant, n=n, metric=metric, value=value)
                )
    frame = pd.DataFrame(rows).assign(tau=tau, other_method="")
    frame["q"] = np.where(frame["metric"] == "topq_precision", 0.05, math.nan)
    return frame[list(TIDY_COLUMNS)]


def row_of(table: pd.DataFrame, variant: str) -> pd.Series:
    return table[table["variant"] == variant].iloc[0]


def test_a_constant_column_gives_a_zero_width_interval():
    values = {(video, clip): (0.4, 0.4) for video in "abc" for clip in range(2)}
    table = build_tables(precision_rows(values))["table1"]
    baseline, selective = row_of(table, "baseline"), row_of(table, "selective")
    for column in ("precision", "chance", "topq_precision"):
        assert baseline[f"{column}_low"] == baseline[f"{column}_mean"] == baseline[f"{column}_high"]
    assert (baseline["precision_mean"], baseline["videos"], baseline["clips"]) == (pytest.approx(0.4), 3, 6)
    # selective − baseline is 0 on every clip: the difference's interval is [0, 0].
    assert (selective["precision_delta_low"], selective["precision_delta_high"]) == (0.0, 0.0)
    markdown, _ = render_table("table1", table, 1.0, 0.05)
    assert "| 0.400 [0.400, 0.400] |" in markdown and "| +0.000 [+0.000, +0.000] |" in markdown


def test_the_same_seed_gives_the_same_tables_and_another_seed_other_intervals():
    rng = np.random.default_rng(2)
    values = {(f"v{video}", clip): tuple(rng.uniform(size=2)) for video in range(12) for clip in range(3)}
    metrics = precision_rows(values)
    first = build_tables(metrics, bootstrap={"seed": 5, "resamples": 500, "method": "percentile"})
    again = build_tables(metrics, bootstrap={"seed": 5, "resamples": 500, "method": "percentile"})
    other = build_tables(metrics, bootstrap={"seed": 6, "resamples": 500, "method": "percentile"})
    for name in ("table1", "accuracy"):
        pd.testing.assert_frame_equal(first[name], again[name])
    assert first["table1"]["precision_low"].tolist() != other["table1"]["precision_low"].tolist()
    # The mean does not depend on the draws, only its interval does.
    assert first["table1"]["precision_mean"].tolist() == other["table1"]["precision_mean"].tolist()
    # The caption quotes the settings the table was built with.
    markdown, latex = render_table("table1", first["table1"], 1.0, 0.05)
    assert "95% interval: percentile bootstrap resampling videos (500 resamples, seed 5)" in markdown
    assert "95\\% interval" in latex
    # The default, the t interval, draws nothing: another seed gives the same table, and the caption says so.
    t_tables = build_tables(metrics, bootstrap={"seed": 6})["table1"]
    pd.testing.assert_frame_equal(t_tables, build_tables(metrics)["table1"])
    assert "95% interval: t over videos (df = videos − 1)" in render_table("table1", t_tables, 1.0, 0.05)[0]
    narrow = build_tables(metrics, bootstrap={"level": 0.5})["table1"]
    wide = build_tables(metrics, bootstrap={"level": 0.99})["table1"]
    assert (narrow["precision_high"] - narrow["precision_low"] < wide["precision_high"] - wide["precision_low"]).all()
    assert "50% interval" in render_table("table1", narrow, 1.0, 0.05)[0]


def test_two_videos_of_many_identical_clips_span_the_two_video_means():
    # Clip-level resampling would see 80 draws and a narrow interval around 0.4; resampling the
    # two videos can only give 0.2 (a, a), 0.4 (a, b) or 0.6 (b, b).
    values = {("a", clip): (0.2, 0.2) for clip in range(40)} | {("b", clip): (0.6, 0.6) for clip in range(40)}
    baseline = row_of(build_tables(precision_rows(values), bootstrap=PERCENTILE)["table1"], "baseline")
    assert baseline["precision_mean"] == pytest.approx(0.4)
    assert (baseline["precision_low"], baseline["precision_high"]) == (pytest.approx(0.2), pytest.approx(0.6))
    # t: two video means 0.2 and 0.6, standard error 0.2, t(0.975, 1) = tan(0.475 π): the
    # interval 0.4 ∓ 2.54 is cut to what a precision can take, [0, 1].
    baseline = row_of(build_tables(precision_rows(values))["table1"], "baseline")
    half = math.tan(0.475 * math.pi) * 0.2
    assert half == pytest.approx(2.541, abs=1e-3)
    assert (baseline["precision_low"], baseline["precision_high"]) == (0.0, 1.0)


def test_the_paired_difference_is_selective_minus_baseline_on_the_same_clips():
    # Videos differ a lot (0.1 .. 0.9) but selective adds exactly 0.05 to every clip: the
    # separate intervals overlap widely, the paired difference is +0.05 with no spread.
    values = {(f"v{video}", clip): (0.1 * video, 0.1 * video + 0.05) for video in range(1, 10) for clip in range(2)}
    table = build_tables(precision_rows(values))["table1"]
    baseline, selective = row_of(table, "baseline"), row_of(table, "selective")
    assert selective["precision_low"] < baseline["precision_high"]
    delta = [selective[f"precision_delta_{part}"] for part in ("mean", "low", "high")]
    assert delta == [pytest.approx(0.05)] * 3
    assert all(math.isnan(baseline[f"precision_delta_{part}"]) for part in ("mean", "low", "high"))
    markdown, _ = render_table("table1", table, 1.0, 0.05)
    assert "| +0.050 [+0.050, +0.050] |" in markdown
    assert "an interval that excludes 0 is a difference the data support" in markdown

    # Opposite changes in two videos: the mean change is 0 and its interval spans both videos' change.
    values = {("up", clip): (0.3, 0.5) for clip in range(3)} | {("down", clip): (0.7, 0.5) for clip in range(3)}
    selective = row_of(build_tables(precision_rows(values), bootstrap=PERCENTILE)["table1"], "selective")
    assert selective["precision_delta_mean"] == pytest.approx(0.0)
    assert (selective["precision_delta_low"], selective["precision_delta_high"]) == (
        pytest.approx(-0.2),
        pytest.approx(0.2),
    )

    # A clip without a baseline value is left out of the pairing, not compared with nothing.
    values = {("a", 0): (0.2, 0.4), ("a", 1): (math.nan, 0.9), ("b", 0): (0.5, 0.6)}
    selective = row_of(build_tables(precision_rows(values))["table1"], "selective")
    assert selective["precision_delta_mean"] == pytest.approx((0.2 + 0.1) / 2)
    assert selective["precision_mean"] == pytest.approx((0.4 + 0.9 + 0.6) / 3)


def test_table2_agreement_carries_the_paired_difference():
    rows = []
    for video in ("a", "b", "c"):
        for variant, n, iou in (("baseline", math.nan, 0.3), ("selective", 4.0, 0.1)):
            for metric, q in (("iou", math.nan), ("topq_iou", 0.05)):
                rows.append(
                    dict(video=video, clip=0, method="dtd", other_method="gradcam", variant=variant, n=n)
                    | dict(tau=math.nan, q=q, metric=metric, value=iou)
                )
    table = build_tables(pd.DataFrame(rows)[list(TIDY_COLUMNS)])["table2"]
    selective = row_of(table, "selective")
    assert selective["iou_delta_mean"] == pytest.approx(-0.2)
    assert (selective["iou_delta_low"], selective["iou_delta_high"]) == (pytest.approx(-0.2), pytest.approx(-0.2))
    assert "| -0.200 [-0.200, -0.200] |" in render_table("table2", table, 1.0, 0.05)[0]


def test_accuracy_and_pooled_pointing_game_intervals_resample_videos():
    accuracy = pd.DataFrame(
        [
            dict(video=video, clip=clip, metric="correct", value=float(video == "a"))
            for video in "ab"
            for clip in range(5)
        ]
    ).assign(method="", variant="", n=math.nan, tau=math.nan, q=math.nan, other_method="")
    table = build_tables(accuracy, bootstrap=PERCENTILE)["accuracy"]
    row = table.iloc[0]
    assert (row["accuracy"], row["accuracy_low"], row["accuracy_high"]) == (0.5, 0.0, 1.0)
    assert "| 50.0 [0.0, 100.0] | 10 | 2 |" in render_table("accuracy", table)[0]

    # Pointing game pooled over frames: a 3 of 4, b 1 of 4 and a clip of b without annotated
    # frames (no weight) -> 4 / 8; resampled videos give 3/4, 4/8 or 1/4.
    rows = []
    for video, clip, hits, misses in (("a", 0, 3, 1), ("b", 0, 1, 3), ("b", 1, 0, 0)):
        keys = dict(video=video, clip=clip, method="fep", variant="baseline", n=math.nan)
        rows += [
            keys | dict(metric="pointing_hits", value=hits),
            keys | dict(metric="pointing_misses", value=misses),
            keys | dict(metric="smoothness_temporal", value=0.1),
        ]
    faithfulness = pd.DataFrame(rows).assign(tau=math.nan, q=math.nan, other_method="")
    fep = build_tables(faithfulness, bootstrap=PERCENTILE)["faithfulness"].iloc[0]
    assert fep["pointing_accuracy"] == pytest.approx(0.5) and fep["pointing_frames"] == 8
    assert (fep["pointing_accuracy_low"], fep["pointing_accuracy_high"]) == (pytest.approx(0.25), pytest.approx(0.75))


def test_bad_bootstrap_settings_name_the_key():
    metrics = precision_rows({("a", 0): (0.1, 0.2)})
    with pytest.raises(VideoXAIError, match=r"metrics\.bootstrap\.level"):
        build_tables(metrics, bootstrap={"level": 95})
    with pytest.raises(VideoXAIError, match=r"metrics\.bootstrap\.resample"):
        build_tables(metrics, bootstrap={"resample": 100})
    with pytest.raises(VideoXAIError, match=r"metrics\.bootstrap\.resamples"):
        write_figures(metrics, "unused", bootstrap={"resamples": 0})


def test_the_front_page_gives_no_verdict_below_report_min_videos():
    # DTD's selective maps raise the precision by 0.1 on every clip, give or take 0.01 per video:
    # a change any interval resolves, but with 4 videos the page must not claim it.
    def change(videos: int, step: float) -> dict:
        return {
            (f"v{video}", clip): (0.2 + 0.02 * video, 0.2 + 0.02 * video + step + 0.01 * (-1) ** video)
            for video in range(videos)
            for clip in range(2)
        }

    four = build_tables(precision_rows(change(4, 0.1)), tau=1.0)
    sentence = headline(four, tau=1.0, min_videos=10)
    assert "(of 4 videos)" in sentence
    assert (
        "with only 4 videos (fewer than report.min_videos = 10) the study has too few videos to tell whether "
        "the change is real for DTD." in sentence
    )
    assert "support" not in sentence
    # At the threshold the same interval is read: it excludes 0, so the data support the change.
    assert "the data support the change for DTD." in headline(four, tau=1.0, min_videos=4)
    twelve = build_tables(precision_rows(change(12, 0.1)), tau=1.0)
    assert "the data support the change for DTD." in headline(twelve, tau=1.0)  # default: 10 videos
    # No change but ±0.01 per video: the interval contains 0.
    flat = build_tables(precision_rows(change(12, 0.0)), tau=1.0)
    assert "the data do not support it for DTD (interval contains 0)." in headline(flat, tau=1.0)
