"""Video-level intervals (t, BCa and percentile bootstrap) on data whose answer is known by hand."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from videoxai.core.errors import VideoXAIError
from videoxai.evaluation.behaviour import behaviour_bounds
from videoxai.evaluation.metrics import metric_bounds
from videoxai.evaluation.stats import (
    METHOD,
    METHODS,
    MIN_VIDEOS,
    Interval,
    bca_levels,
    bootstrap_mean,
    bootstrap_settings,
    describe_settings,
    group_intervals,
    interval_text,
    jackknife_acceleration,
    paired_difference,
    t_quantile,
    verdict,
)


@pytest.mark.parametrize("method", METHODS)
def test_constant_column_gives_a_zero_width_interval_at_the_constant(method):
    interval = bootstrap_mean([0.3] * 12, ["a", "a", "b", "b", "c", "c"] * 2, method=method)
    assert (interval.mean, interval.low, interval.high) == (0.3, 0.3, 0.3)
    assert (interval.clips, interval.videos) == (12, 3)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_the_same_seed_gives_the_same_interval_and_another_seed_moves_it(method):
    rng = np.random.default_rng(1)
    values, videos = rng.normal(size=60), np.repeat(np.arange(20), 3)
    first = bootstrap_mean(values, videos, seed=7, method=method)
    again = bootstrap_mean(values, videos, seed=7, method=method)
    other = bootstrap_mean(values, videos, seed=8, method=method)
    assert first == again
    assert (other.low, other.high) != (first.low, first.high)
    assert first.low < first.mean < first.high
    # The t interval draws nothing: the seed does not move it.
    assert bootstrap_mean(values, videos, seed=7) == bootstrap_mean(values, videos, seed=8)


def test_clips_of_one_video_are_resampled_together():
    # Two videos, each with many identical clips: clip-level resampling would see 200 draws and
    # give a tiny interval; video-level resampling can only produce the means 0, 0.5 and 1.
    values = np.r_[np.zeros(100), np.ones(100)]
    videos = np.r_[["a"] * 100, ["b"] * 100]
    interval = bootstrap_mean(values, videos, resamples=4000, method="percentile")
    assert interval.mean == pytest.approx(0.5)
    assert (interval.low, interval.high) == (0.0, 1.0)
    # The t interval sees two values (the video means 0 and 1), not 200: 0.5 ± t(0.975, 1) · 0.5.
    interval = bootstrap_mean(values, videos)
    half = math.tan(0.475 * math.pi) * 0.5
    assert (interval.low, interval.high) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))


def test_t_quantiles_match_their_closed_forms():
    # df = 1 is the Cauchy distribution, df = 2 has F(t) = 1/2 + t / (2 √(2 + t²)).
    assert t_quantile(0.975, 1) == pytest.approx(math.tan(0.475 * math.pi), rel=1e-12)
    assert t_quantile(0.975, 2) == pytest.approx(0.95 * math.sqrt(2.0 / (1.0 - 0.95**2)), rel=1e-12)
    assert t_quantile(0.9, 2) == pytest.approx(0.8 * math.sqrt(2.0 / (1.0 - 0.8**2)), rel=1e-12)
    assert t_quantile(0.025, 1) == pytest.approx(-math.tan(0.475 * math.pi), rel=1e-12)
    assert t_quantile(0.5, 7) == 0.0
    # Tabled values, and the normal quantile in the limit.
    assert t_quantile(0.975, 3) == pytest.approx(3.182446, abs=1e-6)
    assert t_quantile(0.975, 7) == pytest.approx(2.364624, abs=1e-6)
    assert t_quantile(0.975, 10_000) == pytest.approx(1.960201, abs=1e-5)
    with pytest.raises(VideoXAIError, match="degrees of freedom"):
        t_quantile(0.975, 0)


def test_t_interval_on_hand_computed_numbers():
    # One clip per video, video means 1, 2 and 6: mean 3, sample variance (4 + 1 + 9) / 2 = 7,
    # standard error √(7/3), t(0.975, 2) = 0.95 √(2 / 0.0975).
    interval = bootstrap_mean([1.0, 2.0, 6.0], ["a", "b", "c"], method="t")
    half = 0.95 * math.sqrt(2.0 / (1.0 - 0.95**2)) * math.sqrt(7.0 / 3.0)
    assert (interval.mean, interval.low, interval.high) == (
        pytest.approx(3.0),
        pytest.approx(3.0 - half),
        pytest.approx(3.0 + half),
    )
    # Two clips per video: the same video means give the same interval (clips of a video are one draw).
    doubled = bootstrap_mean([0.0, 2.0, 2.0, 2.0, 5.0, 7.0], ["a", "a", "b", "b", "c", "c"])
    assert (doubled.low, doubled.high) == (pytest.approx(interval.low), pytest.approx(interval.high))
    # Unequal clips: a has 0 and 2, b has 4; clip-weighted mean 6 / 3 = 2; the residuals s_g − mean · c_g
    # are 2 − 4 = −2 and 4 − 2 = 2, so se² = 2/1 · 8 / 3² = 16/9 and the half-width is t(0.975, 1) · 4/3.
    unequal = bootstrap_mean([0.0, 2.0, 4.0], ["a", "a", "b"])
    half = math.tan(0.475 * math.pi) * 4.0 / 3.0
    assert (unequal.mean, unequal.low, unequal.high) == (
        pytest.approx(2.0),
        pytest.approx(2.0 - half),
        pytest.approx(2.0 + half),
    )


def test_a_share_near_one_keeps_its_interval_inside_zero_to_one():
    # Precisions 0.9, 1.0 and 1.0 of three videos: mean 0.967, sample sd 0.0577, so the t
    # interval's half-width t(0.975, 2) · 0.0577 / √3 = 0.143 reaches 1.11 without bounds.
    values, videos = [0.9, 1.0, 1.0], ["a", "b", "c"]
    free = bootstrap_mean(values, videos)
    assert free.high == pytest.approx(0.9667 + 0.1434, abs=1e-3) and free.high > 1.0
    cut = bootstrap_mean(values, videos, bounds=(0.0, 1.0))
    assert (cut.mean, cut.low, cut.high) == (pytest.approx(free.mean), pytest.approx(free.low), 1.0)
    assert paired_difference([0.0, 0.0, 0.1], [1.0, 1.0, 1.0], videos, bounds=(-1.0, 1.0)).low == -1.0
    table = group_intervals(pd.DataFrame({"g": 0, "value": values, "video": videos}), ["g"], bounds=(0.0, 1.0)).iloc[0]
    assert table["high"] == 1.0
    # which metrics are shares (cut at [0, 1]) and which are differences of two (cut at [-1, 1])
    assert metric_bounds("precision") == metric_bounds("calibrated_share") == (0.0, 1.0)
    assert metric_bounds("precision_delta") == metric_bounds("precision_matched_delta") == (-1.0, 1.0)
    assert metric_bounds("seconds") is None and metric_bounds("overhead_delta") is None
    assert behaviour_bounds("freeze_drop") == (-1.0, 1.0) and behaviour_bounds("p_still") == (0.0, 1.0)


def test_bca_with_no_bias_and_no_acceleration_is_the_percentile_interval():
    assert bca_levels(0.0, 0.0, 0.95) == (pytest.approx(0.025), pytest.approx(0.975))
    assert bca_levels(0.0, 0.0, 0.5) == (pytest.approx(0.25), pytest.approx(0.75))
    # Symmetric video means: every leave-one-out deviation has its mirror, so a = 0 exactly.
    assert jackknife_acceleration(np.array([-3.0, -1.0, 1.0, 3.0]), np.ones(4)) == 0.0
    # Video means 0, 0, 0, 4: leave-one-out means 4/3 (three times) and 0, deviations −1/3 and 1,
    # a = (8/9) / (6 (4/3)^1.5) = √3 / 18.
    assert jackknife_acceleration(np.array([0.0, 0.0, 0.0, 4.0]), np.ones(4)) == pytest.approx(math.sqrt(3) / 18)
    # A positive bias (z0 = 0.2) moves both percentiles up: Φ(0.2 + 0.2 ∓ 1.96) = Φ(−1.56), Φ(2.36).
    low, high = bca_levels(0.2, 0.0, 0.95)
    assert (low, high) == (pytest.approx(0.05938, abs=1e-5), pytest.approx(0.99086, abs=1e-5))
    # On right-skewed video means BCa sits higher than the percentile interval, from the same draws.
    means = np.exp(np.random.default_rng(4).normal(0.0, 1.0, size=20))
    bca = bootstrap_mean(means, np.arange(20), method="bca")
    percentile = bootstrap_mean(means, np.arange(20), method="percentile")
    assert bca.low > percentile.low and bca.high > percentile.high


def test_bootstrap_intervals_never_leave_the_range_of_the_video_means():
    # Why the bootstrap under-covers with few videos: every resampled mean is a weighted average of
    # video means, so the interval lies within their range, which misses the truth whenever all
    # videos fall on one side of it (probability 2 · 2^-4 = 12.5 % with 4 symmetric videos).
    rng = np.random.default_rng(11)
    videos = np.repeat(np.arange(4), [1, 2, 3, 2])
    for _ in range(50):
        values = rng.normal(size=videos.size) + np.repeat(rng.normal(size=4), [1, 2, 3, 2])
        video_means = np.bincount(videos, weights=values) / np.bincount(videos)
        for method in ("percentile", "bca"):
            interval = bootstrap_mean(values, videos, method=method, resamples=500)
            assert video_means.min() - 1e-12 <= interval.low <= interval.high <= video_means.max() + 1e-12
        t = bootstrap_mean(values, videos, method="t")
        assert t.low < video_means.min() or t.high > video_means.max()


def test_t_interval_holds_its_level_with_8_videos_where_the_percentile_falls_short():
    # Video effects N(0, 1), clip noise N(0, 0.5²), 2 clips per video: the video means are normal,
    # so the t interval covers exactly 95 % (1,000 studies: Monte-Carlo standard error 0.7 points, the
    # band is ± 3.6 of them).
    # The percentile bootstrap's spread is that of the video means with variance / 8 instead of / 7,
    # read with normal instead of t(7) quantiles: about 87 % (benchmarks/results/cpu-interval-coverage.md).
    rng = np.random.default_rng(3)
    videos = np.repeat(np.arange(8), 2)
    covered = {"t": 0, "percentile": 0}
    studies = 1000
    for trial in range(studies):
        values = np.repeat(rng.normal(0.0, 1.0, size=8), 2) + rng.normal(0.0, 0.5, size=16)
        for method in covered:
            interval = bootstrap_mean(values, videos, resamples=1000, seed=trial, method=method)
            covered[method] += interval.low <= 0.0 <= interval.high
    assert 0.925 <= covered["t"] / studies <= 0.975
    # ~87 % ± 1.1 points; a t interval read with normal quantiles (~89 %) would fail the band above.
    assert covered["percentile"] / studies <= 0.91
    assert covered["t"] - covered["percentile"] >= 0.03 * studies


@pytest.mark.parametrize("method", METHODS)
def test_nan_values_are_dropped_and_one_video_has_no_interval(method):
    interval = bootstrap_mean([1.0, np.nan, 3.0], ["a", "b", "a"], method=method)
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
    with pytest.raises(VideoXAIError, match="method"):
        bootstrap_mean([1.0, 2.0], ["a", "b"], method="normal")


def test_weights_give_the_pooled_ratio_and_weightless_clips_drop_out():
    # Hit rates 3/4 (video a) and 1/4 (video b), plus a clip of b with no annotated frame.
    rates, frames = [0.75, 0.25, np.nan], [4.0, 4.0, 0.0]
    interval = bootstrap_mean(rates, ["a", "b", "b"], weights=frames, method="percentile")
    assert (interval.mean, interval.clips, interval.videos) == (pytest.approx(0.5), 2, 2)
    assert (interval.low, interval.high) == (pytest.approx(0.25), pytest.approx(0.75))
    # t: the weighted residuals 3 − 0.5 · 4 and 1 − 0.5 · 4 give se² = 2 · 2 / 8² = 1/16.
    t = bootstrap_mean(rates, ["a", "b", "b"], weights=frames)
    half = math.tan(0.475 * math.pi) / 4.0
    assert (t.low, t.high) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))
    # Unequal weights move the mean away from the plain average of the clips.
    assert bootstrap_mean([1.0, 0.0], ["a", "b"], weights=[3.0, 1.0]).mean == pytest.approx(0.75)
    with pytest.raises(VideoXAIError, match="one weight per value"):
        bootstrap_mean([1.0, 0.0], ["a", "b"], weights=[1.0])
    with pytest.raises(VideoXAIError, match="negative"):
        bootstrap_mean([1.0, 0.0], ["a", "b"], weights=[1.0, -1.0])


def test_signed_text_and_settings():
    assert interval_text(Interval(0.05, -0.0001, 0.1, 2, 2), signed=True) == "+0.050 [+0.000, +0.100]"
    assert interval_text(Interval(-0.05, -0.1, -0.02, 2, 2), scale=100, digits=1, signed=True) == "-5.0 [-10.0, -2.0]"
    assert bootstrap_settings(None) == {"resamples": 2000, "level": 0.95, "seed": 0, "method": "t"}
    assert bootstrap_settings({"seed": 3})["seed"] == 3
    assert describe_settings({"level": 0.9, "resamples": 100, "method": "percentile"}) == (
        "90% interval: percentile bootstrap resampling videos (100 resamples, seed 0)"
    )
    assert describe_settings({"method": "bca"}) == (
        "95% interval: BCa bootstrap resampling videos (2000 resamples, seed 0)"
    )
    assert describe_settings(None) == "95% interval: t over videos (df = videos − 1)"
    bad_settings = (
        ({"level": 0}, "level"),
        ({"resamples": 1.5}, "resamples"),
        ({"seed": "x"}, "seed"),
        ({"method": "studentized"}, "method"),
    )
    for bad, key in bad_settings:
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
    settings = {"resamples": 300, "seed": 1, "method": "bca"}
    summary = group_intervals(frame, ["method", "n"], settings=settings)
    assert summary[["method"]].to_numpy().ravel().tolist() == ["x", "x", "y"]
    x_baseline = bootstrap_mean([0.1, 0.3], ["a", "b"], **settings)
    assert tuple(summary.iloc[0][["mean", "low", "high", "clips", "videos"]]) == (
        pytest.approx(x_baseline.mean),
        pytest.approx(x_baseline.low),
        pytest.approx(x_baseline.high),
        2,
        2,
    )
    assert (summary.iloc[1]["low"], summary.iloc[1]["high"]) == (0.5, 0.5)
    assert summary.iloc[2]["mean"] == pytest.approx(0.3) and np.isnan(summary.iloc[2]["low"])  # one video


def test_verdict_says_what_a_difference_lets_the_report_claim():
    up, around, none = (
        Interval(0.05, 0.01, 0.09, 40, 20),
        Interval(0.05, -0.01, 0.11, 40, 20),
        Interval(0.05, np.nan, np.nan, 2, 1),
    )
    assert verdict(up, videos=20, min_videos=10) == "supported"
    assert verdict(Interval(-0.05, -0.09, -0.01, 40, 20), videos=20, min_videos=10) == "supported"
    assert verdict(around, videos=20, min_videos=10) == "not supported"
    assert verdict(none, videos=1, min_videos=1) == "no interval"
    # Below the threshold the interval is not read, whichever side of 0 it lies.
    assert verdict(up, videos=4, min_videos=10) == "too few videos"
    assert verdict(around, videos=9, min_videos=10) == "too few videos"
    assert verdict(none, videos=1) == "too few videos"  # default threshold: 10
    assert verdict(up, videos=10, min_videos=10) == "supported"
    with pytest.raises(VideoXAIError, match=r"report\.min_videos"):
        verdict(up, videos=20, min_videos=0)


def test_the_schema_declares_the_methods_and_defaults_the_library_uses():
    schema = yaml.safe_load((Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml").read_text())
    method = schema["properties"]["metrics"]["properties"]["bootstrap"]["properties"]["method"]
    assert (method["enum"], method["default"]) == (list(METHODS), METHOD)
    assert schema["properties"]["report"]["properties"]["min_videos"]["default"] == MIN_VIDEOS
