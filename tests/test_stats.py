"""Video-level bootstrap intervals on data whose answer is known by hand."""

import numpy as np
import pandas as pd
import pytest

from videoxai.core.errors import VideoXAIError
from videoxai.evaluation.stats import (
    Interval,
    bootstrap_mean,
    bootstrap_settings,
    describe_settings,
    group_intervals,
    interval_text,
    paired_difference,
)


def test_constant_column_gives_a_zero_width_interval_at_the_constant():
    interval = bootstrap_mean([0.3] * 12, ["a", "a", "b", "b", "c", "c"] * 2)
    assert (interval.mean, interval.low, interval.high) == (pytest.approx(0.3), 0.3, 0.3)
    assert (interval.clips, interval.videos) == (12, 3)


def test_the_same_seed_gives_the_same_interval_and_another_seed_moves_it():
    rng = np.random.default_rng(1)
    values, videos = rng.normal(size=60), np.repeat(np.arange(20), 3)
    first, again = bootstrap_mean(values, videos, seed=7), bootstrap_mean(values, videos, seed=7)
    other = bootstrap_mean(values, videos, seed=8)
    assert first == again
    assert (other.low, other.high) != (first.low, first.high)
    assert first.low < first.mean < first.high


def test_clips_of_one_video_are_resampled_together():
    # Two videos, each with many identical clips: clip-level resampling would see 200 draws and
    # give a tiny interval; video-level resampling can only produce the means 0, 0.5 and 1.
    values = np.r_[np.zeros(100), np.ones(100)]
    videos = np.r_[["a"] * 100, ["b"] * 100]
    interval = bootstrap_mean(values, videos, resamples=4000)
    assert interval.mean == pytest.approx(0.5)
    assert (interval.low, interval.high) == (0.0, 1.0)


def test_interval_covers_the_true_mean_at_about_its_level():
    rng = np.random.default_rng(3)
    covered = 0
    for trial in range(200):
        video_effects = rng.normal(0.0, 1.0, size=15)
        values = np.repeat(video_effects, 4) + rng.normal(0.0, 0.2, size=60)
        interval = bootstrap_mean(values, np.repeat(np.arange(15), 4), resamples=500, seed=trial)
        covered += interval.low <= 0.0 <= interval.high
    # 95 % nominal; the percentile bootstrap undercovers a little with 15 clusters.
    assert 0.85 <= covered / 200 <= 0.99


def test_nan_values_are_dropped_and_one_video_has_no_interval():
    interval = bootstrap_mean([1.0, np.nan, 3.0], ["a", "b", "a"])
    assert (interval.mean, interval.clips, interval.videos) == (2.0, 2, 1)
    assert np.isnan(interval.low) and np.isnan(interval.high)
    assert interval_text(interval) == "2.000"
    empty = bootstrap_mean([np.nan], ["a"])
    assert np.isnan(empty.mean) and interval_text(empty) == "–"


def test_paired_difference_removes_what_both_share():
    rng = np.random.default_rng(5)
    videos = np.repeat(np.arange(10), 2)
    shared = np.repeat(rng.normal(0, 5, size=10), 2)
    first, second = shared + 1.0, shared + 0.0
    difference = paired_difference(first, second, videos)
    assert (difference.mean, difference.low, difference.high) == (
        pytest.approx(1.0),
        pytest.approx(1.0),
        pytest.approx(1.0),
    )
    assert bootstrap_mean(first, videos).high - bootstrap_mean(first, videos).low > 1.0
    assert interval_text(difference, digits=2) == "1.00 [1.00, 1.00]"


def test_bad_arguments_name_themselves():
    with pytest.raises(VideoXAIError, match="one id per value"):
        bootstrap_mean([1.0, 2.0], ["a"])
    with pytest.raises(VideoXAIError, match="level"):
        bootstrap_mean([1.0], ["a"], level=1.5)
    with pytest.raises(VideoXAIError, match="aligned"):
        paired_difference([1.0], [1.0, 2.0], ["a"])


def test_weights_give_the_pooled_ratio_and_weightless_clips_drop_out():
    # Hit rates 3/4 (video a) and 1/4 (video b), plus a clip of b with no annotated frame.
    rates, frames = [0.75, 0.25, np.nan], [4.0, 4.0, 0.0]
    interval = bootstrap_mean(rates, ["a", "b", "b"], weights=frames)
    assert (interval.mean, interval.clips, interval.videos) == (pytest.approx(0.5), 2, 2)
    assert (interval.low, interval.high) == (pytest.approx(0.25), pytest.approx(0.75))
    # Unequal weights move the mean away from the plain average of the clips.
    assert bootstrap_mean([1.0, 0.0], ["a", "b"], weights=[3.0, 1.0]).mean == pytest.approx(0.75)
    with pytest.raises(VideoXAIError, match="one weight per value"):
        bootstrap_mean([1.0, 0.0], ["a", "b"], weights=[1.0])
    with pytest.raises(VideoXAIError, match="negative"):
        bootstrap_mean([1.0, 0.0], ["a", "b"], weights=[1.0, -1.0])


def test_signed_text_and_settings():
    assert interval_text(Interval(0.05, -0.0001, 0.1, 2, 2), signed=True) == "+0.050 [+0.000, +0.100]"
    assert interval_text(Interval(-0.05, -0.1, -0.02, 2, 2), scale=100, digits=1, signed=True) == "-5.0 [-10.0, -2.0]"
    assert bootstrap_settings(None) == {"resamples": 2000, "level": 0.95, "seed": 0}
    assert bootstrap_settings({"seed": 3})["seed"] == 3
    assert describe_settings({"level": 0.9, "resamples": 100}) == (
        "90% interval: percentile bootstrap resampling videos (100 resamples, seed 0)"
    )
    for bad, key in (({"level": 0}, "level"), ({"resamples": 1.5}, "resamples"), ({"seed": "x"}, "seed")):
        with pytest.raises(VideoXAIError, match=rf"metrics\.bootstrap\.{key}"):
            bootstrap_settings(bad)


def test_group_intervals_summarise_each_group_like_bootstrap_mean():
    frame = pd.DataFrame(
        {
            "method": ["x"] * 4 + ["y"] * 2,
            "n": [np.nan, np.nan, 4.0, 4.0, np.nan, np.nan],
            "video": ["a", "b", "a", "b", "a", "a"],
            "value": [0.1, 0.3, 0.5, 0.5, 0.2, 0.4],
        }
    )
    summary = group_intervals(frame, ["method", "n"], settings={"resamples": 300, "seed": 1})
    assert summary[["method"]].to_numpy().ravel().tolist() == ["x", "x", "y"]
    x_baseline = bootstrap_mean([0.1, 0.3], ["a", "b"], resamples=300, seed=1)
    assert tuple(summary.iloc[0][["mean", "low", "high", "clips", "videos"]]) == (
        pytest.approx(x_baseline.mean),
        pytest.approx(x_baseline.low),
        pytest.approx(x_baseline.high),
        2,
        2,
    )
    assert (summary.iloc[1]["low"], summary.iloc[1]["high"]) == (0.5, 0.5)
    assert summary.iloc[2]["mean"] == pytest.approx(0.3) and np.isnan(summary.iloc[2]["low"])  # one video
