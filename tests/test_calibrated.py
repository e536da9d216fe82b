"""The calibrated motion test, on answers known by construction.

* A network without a temporal receptive field (per-frame 2D convolutions) explains frame f of a
  clip exactly as frame f alone: its clips are never flagged, over seeded repeats.
* A relevance volume with one planted temporal step is flagged, and the step is in the map.
* A still clip, tested like a clip, has nothing beyond its still copy: never flagged.
* The null's resolution: with too few null maps no clip can be flagged at α.
* Benjamini–Hochberg and Simes on hand-counted p-values.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from videoxai.data.copies import SHIFTS, frozen_copy, reference_frame, shifted, shuffle_orders, shuffled_copies
from videoxai.data.shards import shard_key
from videoxai.evaluation.metrics import compute_clip_metrics
from videoxai.explain.batched import StillCopies, VideoClips, explain_videos
from videoxai.models.spec import ModelSpec
from videoxai.motion.calibrated import (
    CalibrationSettings,
    Null,
    benjamini_hochberg,
    build_null,
    calibrated_test,
    null_maps,
    residual_maps,
)

METHODS = ["dtd", "gradcam", "guided_backprop", "guided_gradcam"]
SPEC = ModelSpec(
    name="per-frame",
    num_frames=8,
    size=16,
    class_names=("a", "b", "c"),
    scale=1 / 255,
    mean=(0.5,) * 3,
    std=(0.25,) * 3,
)


class PerFrame(nn.Module):
    """2D convolutions applied to every frame alone (kernels 1 x 3 x 3), then a global average:
    the logit is the mean of per-frame logits, so no frame's explanation depends on another frame."""

    cam_layer = "features.3"

    def __init__(self, classes: int = 3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(3, 6, (1, 3, 3), padding=(0, 1, 1)),
            nn.ReLU(),
            nn.Conv3d(6, 8, (1, 3, 3), padding=(0, 1, 1)),
            nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.classifier = nn.Linear(8, classes)

    def forward(self, inputs):
        return self.classifier(torch.flatten(self.pool(self.features(inputs)), 1))


def moving_square_clips(count: int, seed: int) -> np.ndarray:
    """uint8 (count, 8, 16, 16, 3): a bright square moving one pixel a frame over noise."""
    generator = np.random.default_rng(seed)
    clips = generator.integers(0, 80, (count, 8, 16, 16, 3), dtype=np.uint8)
    for clip in range(count):
        top, left = generator.integers(2, 6, 2)
        for frame in range(8):
            clips[clip, frame, top : top + 5, left + frame : left + frame + 5] = 230
    return clips


def stacked_still_maps(results: dict, names: list[str], method: str, frame: int):
    """The clips' relevance, still maps at ``frame`` and shifted still maps, stacked over videos."""
    relevance = np.concatenate([results[name][f"{method}/relevance"] for name in names])
    still = np.concatenate(
        [
            results[name][shard_key("explain", "relevance", method=method, group="static_control")][:, frame]
            for name in names
        ]
    )
    moved = np.concatenate(
        [results[name][shard_key("explain", "shifted", method=method, group="stills")] for name in names]
    )
    return relevance, still, moved


def test_a_network_without_temporal_receptive_field_is_never_flagged():
    settings = CalibrationSettings(alpha=0.05, shifts=3, smooth=0.05)
    flagged = {method: [] for method in METHODS}
    for seed in range(3):
        torch.manual_seed(seed)
        model = PerFrame().eval()
        clips = moving_square_clips(8, seed)
        videos = [VideoClips(f"v{index}", clips[index : index + 1]) for index in range(len(clips))]
        results = dict(explain_videos(model, SPEC, videos, METHODS, batch_size=8, stills=StillCopies(shifts=3)))
        frame = reference_frame(8)
        for method in METHODS:
            relevance, still, moved = stacked_still_maps(results, list(results), method, frame)
            sigma = settings.sigma_pixels(16)
            null = build_null([null_maps(relevance, still, moved, sigma)])
            residuals = residual_maps(relevance, still, frame, sigma)
            result = calibrated_test(residuals, relevance[:, frame], null, settings)
            assert null.testable(settings.alpha)  # 24 null maps: p can reach 1/25
            if method == "guided_backprop":
                # a gradient: frame f's share of the clip's gradient is frame f's alone, exactly
                assert np.abs(residuals).max() <= 1e-4 * null.maxima.max(), method
            else:
                # DTD shares the logit among frames and Grad-CAM pools its channel weights over
                # time, so their frame f changes a little with the others: less than a pixel's shift
                assert np.abs(residuals).max() < np.quantile(null.maxima, 0.5), method
            flagged[method].extend(result.flagged.tolist())
    for method, flags in flagged.items():
        assert np.mean(flags) <= 0.05, method


def test_a_planted_temporal_step_is_flagged_and_lies_in_the_map():
    generator = np.random.default_rng(0)
    clips, frames, size = 30, 8, 24
    frame = reference_frame(frames)
    background = generator.normal(0, 1, (clips, 1, size, size)).repeat(frames, axis=1)
    relevance = background.copy()
    # clip 0: a block of relevance appears from frame 2 on and stays: a step in time
    relevance[0, 2:, 8:14, 8:14] += 40.0
    still = background[:, frame] + generator.normal(0, 0.05, (clips, size, size))
    moved = still[:, None] + generator.normal(0, 0.3, (clips, 3, size, size))
    settings = CalibrationSettings(alpha=0.05, shifts=3, smooth=0.02)
    sigma = settings.sigma_pixels(size)
    null = build_null([null_maps(relevance, still, moved, sigma)])
    result = calibrated_test(residual_maps(relevance, still, frame, sigma), relevance[:, frame], null, settings)
    assert result.flagged[0] and result.p_value[0] == pytest.approx(1 / (1 + null.size))
    block = np.zeros((size, size), bool)
    block[8:14, 8:14] = True
    assert result.mask[0][block].mean() > 0.9  # the step is in the map
    near = np.zeros((size, size), bool)
    near[6:16, 6:16] = True  # the block and the smoothing's reach around it
    assert not result.mask[0][~near].any()
    assert result.flagged[1:].mean() <= 0.1  # the other clips hold only the still copy's own noise


def test_still_clips_tested_as_clips_are_never_flagged():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 3)
    ).eval()
    model.cam_layer = "1"
    clips = frozen_copy(moving_square_clips(6, 1))
    videos = [VideoClips(f"v{index}", clips[index : index + 1]) for index in range(len(clips))]
    results = dict(
        explain_videos(model, SPEC, videos, ["gradcam", "guided_backprop"], batch_size=6, stills=StillCopies(shifts=3))
    )
    settings = CalibrationSettings()
    frame = reference_frame(8)
    for method in ("gradcam", "guided_backprop"):
        relevance, still, moved = stacked_still_maps(results, list(results), method, frame)
        residuals = residual_maps(relevance, still, frame, settings.sigma_pixels(16))
        # a still clip's still copy is the clip itself: the same input, the same map
        np.testing.assert_allclose(residuals, 0, atol=1e-5)
        null = build_null([null_maps(relevance, still, moved, settings.sigma_pixels(16))])
        assert not calibrated_test(residuals, relevance[:, frame], null, settings).flagged.any()


def test_too_few_null_maps_can_flag_nothing():
    null = Null(maxima=np.array([1.0, 2.0, 3.0]), voxels=np.array([0.1, 0.2]), voxel_count=2)
    assert null.smallest_p == 0.25 and not null.testable(0.05) and null.testable(0.25)
    residuals = np.full((1, 4, 4), 100.0)
    result = calibrated_test(residuals, np.ones((1, 4, 4)), null, CalibrationSettings(alpha=0.05))
    assert result.p_value[0] == 0.25 and not result.flagged[0] and not result.mask.any()
    # at alpha 0.25 the same statistic is flagged, every voxel above the largest null maximum
    result = calibrated_test(residuals, np.ones((1, 4, 4)), null, CalibrationSettings(alpha=0.25))
    assert result.flagged[0] and result.mask.all() and result.share[0] == 1.0


def test_benjamini_hochberg_and_simes_by_hand():
    p_values = np.array([0.01, 0.04, 0.03, 0.5])
    rejected, simes = benjamini_hochberg(p_values, 0.05)
    # sorted 0.01, 0.03, 0.04, 0.5 against 0.0125, 0.025, 0.0375, 0.05: only the first passes
    assert rejected.tolist() == [True, False, False, False]
    assert simes == pytest.approx(min(0.01 * 4, 0.03 * 4 / 2, 0.04 * 4 / 3, 0.5))
    rejected, _ = benjamini_hochberg(np.array([0.01, 0.02, 0.03, 0.04]), 0.05)
    assert rejected.all()  # 0.04 <= 0.05 * 4 / 4: the largest passing rank takes all below it


def test_the_fdr_test_keeps_voxels_beyond_the_pooled_null():
    null = build_null([np.random.default_rng(0).normal(0, 1, (50, 1, 8, 8))])
    residuals = np.zeros((2, 8, 8))
    residuals[0, 2:4, 2:4] = 50.0
    result = calibrated_test(residuals, np.ones((2, 8, 8)), null, CalibrationSettings(error="fdr"))
    assert result.flagged.tolist() == [True, False]
    assert result.mask[0, 2:4, 2:4].all() and result.mask[0].sum() == 4 and result.share[0] == pytest.approx(4 / 64)


def test_size_matched_top_k_of_the_selective_map_itself_gives_no_difference():
    generator = np.random.default_rng(0)
    relevance = generator.normal(0, 1, (3, 4, 8, 8)).astype(np.float32)
    sparse = np.where(generator.random((3, 4, 8, 8)) < 0.2, np.abs(relevance) + 0.1, 0).astype(np.float32)
    flow = generator.normal(0, 2, (3, 4, 8, 8, 2)).astype(np.float32)
    # the baseline equals the selective map: its k most relevant voxels are the selective map's voxels
    frame = compute_clip_metrics(
        video="v", relevance={"dtd": sparse}, selective={("dtd", 4.0): sparse}, flow=flow, taus=[1.0], top_q=[0.05]
    )
    rows = frame[(frame["variant"] == "selective") & (frame["tau"] == 1.0)]
    precision = rows[rows["metric"] == "precision"]["value"].to_numpy()
    top = rows[rows["metric"] == "matched_top_precision"]["value"].to_numpy()
    random = rows[rows["metric"] == "matched_random_precision"]["value"].to_numpy()
    np.testing.assert_allclose(top, precision)
    np.testing.assert_allclose(random, precision)  # k of k positive voxels: all of them


def test_size_matched_controls_pick_the_top_voxels():
    relevance = np.zeros((1, 1, 1, 6), np.float32)
    relevance[0, 0, 0] = [6, 5, 4, 3, 2, 1]
    flow = np.zeros((1, 1, 1, 6, 2), np.float32)
    flow[0, 0, 0, :3, 0] = 5.0  # the three most relevant voxels move
    selective = np.zeros_like(relevance)
    selective[0, 0, 0, 3:5] = 1.0  # two voxels selected, neither moving
    frame = compute_clip_metrics(
        video="v", relevance={"dtd": relevance}, selective={("dtd", 4.0): selective}, flow=flow, taus=[1.0], top_q=[0.5]
    )

    def value(metric):
        return frame[(frame["metric"] == metric) & (frame["variant"] == "selective")]["value"].iloc[0]

    assert value("precision") == 0.0 and value("matched_top_precision") == 1.0  # top-2: voxels 0 and 1
    assert value("recall") == 0.0


def test_copies_by_hand():
    clips = np.arange(2 * 4 * 3 * 3 * 1).reshape(2, 4, 3, 3, 1)
    still = frozen_copy(clips)
    assert (still == clips[:, 2:3]).all() and reference_frame(4) == 2
    moved = shifted(clips, 0, 1)  # right by one: column 0 repeats, column j holds j - 1
    np.testing.assert_array_equal(moved[:, :, :, 1:], clips[:, :, :, :-1])
    np.testing.assert_array_equal(moved[:, :, :, 0], clips[:, :, :, 0])
    assert SHIFTS[:3] == ((0, 1), (1, 0), (1, 1))
    orders = shuffle_orders(2, 4, 3, seed=0)
    assert orders.shape == (2, 3, 4) and all(sorted(order) == [0, 1, 2, 3] for order in orders.reshape(-1, 4).tolist())
    assert not any((order == np.arange(4)).all() for order in orders.reshape(-1, 4))
    np.testing.assert_array_equal(shuffle_orders(2, 4, 3, seed=0), orders)
    copies = shuffled_copies(clips, orders)
    np.testing.assert_array_equal(copies[1, 2], clips[1, orders[1, 2]])


def test_calibration_settings_name_the_bad_key():
    with pytest.raises(Exception, match="selective.calibration.alpha"):
        CalibrationSettings.from_config({"alpha": 1.5})
    with pytest.raises(Exception, match="selective.calibration.error"):
        CalibrationSettings.from_config({"error": "both"})
    assert CalibrationSettings.from_config({"enabled": True, "alpha": 0.1}).alpha == 0.1
