"""Per-clip metrics on maps small enough to check by hand (docs/metrics.md has the definitions)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from videoxai.core.errors import VideoXAIError
from videoxai.core.headline import tau_for_resolution
from videoxai.evaluation.metrics import (
    TIDY_COLUMNS,
    compute_clip_metrics,
    intersection_over_union,
    moving_mask,
    ordered_methods,
    top_fraction_mask,
)

# One clip, T=2, H=2, W=2; voxels listed as (t, y, x).
#   relevance  t=0: [[0.5, 0.0], [-1.0, 2.0]]   t=1: [[1.0, 0.0], [0.0, 0.5]]
#   positive: (0,0,0)=0.5, (0,1,1)=2, (1,0,0)=1, (1,1,1)=0.5  -> 4 of 8, sum R+ = 4
#   flow magnitude: (0,0,0)=5, (0,1,1)=0.5, (1,1,0)=2, rest 0
#   moving at tau=1: (0,0,0), (1,1,0)                          -> 2 of 8
RELEVANCE = np.array([[[[0.5, 0.0], [-1.0, 2.0]], [[1.0, 0.0], [0.0, 0.5]]]], dtype=np.float32)


def hand_flow() -> np.ndarray:
    flow = np.zeros((1, 2, 2, 2, 2), dtype=np.float16)
    flow[0, 0, 0, 0] = [3, 4]
    flow[0, 0, 1, 1] = [0, 0.5]
    flow[0, 1, 1, 0] = [-2, 0]
    return flow


def value(frame: pd.DataFrame, metric: str, **keys) -> float:
    selected = frame[frame["metric"] == metric]
    for key, wanted in keys.items():
        selected = (
            selected[selected[key].isna()]
            if isinstance(wanted, float) and math.isnan(wanted)
            else selected[selected[key] == wanted]
        )
    assert len(selected) == 1, (metric, keys, selected)
    return float(selected["value"].iloc[0])


def test_moving_mask_thresholds_magnitude_strictly_and_keeps_array_kind():
    mask = moving_mask(hand_flow(), 1.0)
    assert mask.dtype == np.bool_ and mask.shape == (1, 2, 2, 2)
    assert sorted(zip(*np.nonzero(mask[0]))) == [(0, 0, 0), (1, 1, 0)]
    assert moving_mask(hand_flow(), 5.0).sum() == 0  # magnitude 5 is not > 5
    assert moving_mask(hand_flow(), 0.4).sum() == 3
    tensor_mask = moving_mask(torch.from_numpy(hand_flow()), 1.0)
    assert isinstance(tensor_mask, torch.Tensor) and tensor_mask.sum().item() == 2
    with pytest.raises(VideoXAIError, match="tau"):
        moving_mask(hand_flow(), -1)
    with pytest.raises(VideoXAIError, match=r"flow.*\(N, T, H, W, 2\)"):
        moving_mask(np.zeros((2, 2, 2, 2)), 1.0)


def test_top_fraction_mask_takes_k_largest_positive_voxels():
    # q = 0.25 of 8 voxels -> k = 2: the values 2.0 and 1.0.
    top = top_fraction_mask(RELEVANCE, 0.25)
    assert sorted(zip(*np.nonzero(top[0]))) == [(0, 1, 1), (1, 0, 0)]
    # q = 0.75 -> k = 6, but only 4 voxels are positive: the set is the positive voxels.
    assert top_fraction_mask(RELEVANCE, 0.75).sum() == 4
    # Ties at the threshold are all kept: a constant map keeps every voxel.
    assert top_fraction_mask(np.ones((1, 2, 2, 2)), 0.25).sum() == 8
    with pytest.raises(VideoXAIError):
        top_fraction_mask(RELEVANCE, 0.0)


def test_intersection_over_union_of_known_masks():
    first = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)
    second = np.array([[0, 1, 1, 0], [0, 0, 0, 0]], dtype=bool)
    iou = intersection_over_union(first, second)
    assert iou[0] == pytest.approx(1 / 3)
    assert math.isnan(iou[1])  # empty union


def test_hand_derived_precision_selectivity_and_agreement():
    # Selective map keeps R >= 1: (0,1,1)=2 and (1,0,0)=1, neither moving.
    selective = np.where(RELEVANCE >= 1, RELEVANCE, 0)
    frame = compute_clip_metrics(
        video="v_hand",
        relevance={"gradcam": np.ones_like(RELEVANCE), "dtd": torch.from_numpy(RELEVANCE)},
        selective={("dtd", 1): selective},
        flow=hand_flow(),
        taus=[1.0],
        top_q=[0.25],
    )
    assert list(frame.columns) == list(TIDY_COLUMNS)
    nan = math.nan
    assert value(frame, "chance", tau=1.0) == pytest.approx(2 / 8)
    # DTD baseline: 1 of 4 positive voxels moves; weighted 0.5 / 4; top-2 (2.0, 1.0) none moves.
    base = dict(method="dtd", variant="baseline", n=nan)
    assert value(frame, "relevant_fraction", **base) == pytest.approx(4 / 8)
    assert value(frame, "precision", tau=1.0, **base) == pytest.approx(1 / 4)
    assert value(frame, "weighted_precision", tau=1.0, **base) == pytest.approx(0.5 / 4)
    assert value(frame, "topq_precision", tau=1.0, q=0.25, **base) == pytest.approx(0.0)
    # A dense map: precision collapses to chance, as the issue warns.
    dense = dict(method="gradcam", variant="baseline")
    assert value(frame, "precision", tau=1.0, **dense) == pytest.approx(value(frame, "chance", tau=1.0))
    # Selective: 2 of 4 positive voxels kept, 3 of the 4 units of positive relevance.
    sel = dict(method="dtd", variant="selective", n=1.0)
    assert value(frame, "precision", tau=1.0, **sel) == pytest.approx(0.0)
    assert value(frame, "selectivity_voxels", **sel) == pytest.approx(2 / 4)
    assert value(frame, "selectivity_relevance", **sel) == pytest.approx(3 / 4)
    # Agreement listed once per pair, in paper order: DTD (4 voxels) inside Grad-CAM (8).
    agreement = frame[frame["metric"] == "iou"]
    assert list(zip(agreement["method"], agreement["other_method"])) == [("dtd", "gradcam")]
    assert value(frame, "iou", method="dtd", other_method="gradcam") == pytest.approx(4 / 8)
    # Top-2 of DTD = 2 voxels; constant Grad-CAM's top set is all 8 (ties) -> 2 / 8.
    assert value(frame, "topq_iou", method="dtd", other_method="gradcam", q=0.25) == pytest.approx(2 / 8)
    assert frame["video"].eq("v_hand").all() and frame["clip"].eq(0).all()


def test_undefined_ratios_are_nan():
    relevance = np.stack([RELEVANCE[0], np.zeros_like(RELEVANCE[0])])  # clip 1: all-zero map
    flow = np.concatenate([hand_flow(), np.zeros_like(hand_flow())])  # clip 1: nothing moves
    still = np.concatenate([np.zeros_like(hand_flow()), np.zeros_like(hand_flow())])
    frame = compute_clip_metrics(
        video="v",
        relevance={"dtd": relevance},
        selective={("dtd", 2.0): np.zeros_like(relevance)},
        flow=flow,
        taus=[1.0],
        top_q=[0.25],
    )
    precision = frame[(frame["metric"] == "precision") & (frame["variant"] == "baseline")]
    assert precision["value"].iloc[0] == pytest.approx(0.25) and math.isnan(precision["value"].iloc[1])
    chance = frame[frame["metric"] == "chance"]["value"].to_numpy()
    assert chance[0] == pytest.approx(0.25) and math.isnan(chance[1])
    selective = frame[frame["variant"] == "selective"].set_index(["metric", "clip"])["value"]
    assert math.isnan(selective[("precision", 0)])  # empty selective map
    assert selective[("selectivity_voxels", 0)] == 0.0  # it kept nothing of a non-empty baseline
    assert math.isnan(selective[("selectivity_voxels", 1)])  # baseline empty too
    # No moving voxel at all: every precision is NaN, even of a non-empty map.
    frame = compute_clip_metrics(
        video="v", relevance={"dtd": RELEVANCE}, selective={}, flow=still[:1], taus=[1.0], top_q=[0.25]
    )
    assert frame[frame["metric"].str.contains("precision|chance")]["value"].isna().all()


def test_timing_accuracy_and_several_taus():
    relevance = np.stack([RELEVANCE[0], RELEVANCE[0]])
    flow = np.concatenate([hand_flow(), hand_flow()])
    frame = compute_clip_metrics(
        video="v",
        relevance={"dtd": relevance},
        selective={("dtd", 1.0): relevance},
        flow=flow,
        taus=[0.4, 1.0, 3.0],
        top_q=[0.25],
        seconds={"dtd": np.array([2.0, 4.0])},
        selective_seconds={"dtd": np.array([0.5, 1.0])},
        labels=np.array([3, -1]),
        predicted=np.array([3, 0]),
    )
    base = dict(method="dtd", variant="baseline")
    # tau 0.4: (0,1,1)=0.5 now moves too -> 2 of 4 positives; tau 3: only (0,0,0).
    assert value(frame[frame["clip"] == 0], "precision", tau=0.4, **base) == pytest.approx(2 / 4)
    assert value(frame[frame["clip"] == 0], "precision", tau=3.0, **base) == pytest.approx(1 / 4)
    times = frame[frame["metric"] == "seconds"].pivot(index="clip", columns="variant", values="value")
    assert times["baseline"].tolist() == [2.0, 4.0] and times["selective"].tolist() == [2.5, 5.0]
    assert frame[frame["metric"] == "overhead"]["value"].tolist() == [0.25, 0.25]
    correct = frame[frame["metric"] == "correct"]
    assert correct["clip"].tolist() == [0] and correct["value"].tolist() == [1.0]  # label -1 unknown


def test_rejects_mismatched_inputs_with_named_reason():
    with pytest.raises(VideoXAIError, match=r"relevance\[dtd\].*differs"):
        compute_clip_metrics(
            video="v", relevance={"dtd": RELEVANCE[:, :1]}, selective={}, flow=hand_flow(), taus=[1.0], top_q=[0.05]
        )
    with pytest.raises(VideoXAIError, match="without its baseline"):
        compute_clip_metrics(
            video="v",
            relevance={"dtd": RELEVANCE},
            selective={("gradcam", 1.0): RELEVANCE},
            flow=hand_flow(),
            taus=[1.0],
            top_q=[0.05],
        )
    with pytest.raises(VideoXAIError, match="NaN"):
        compute_clip_metrics(
            video="v", relevance={"dtd": RELEVANCE * np.nan}, selective={}, flow=hand_flow(), taus=[1.0], top_q=[0.05]
        )
    with pytest.raises(VideoXAIError, match=r"seconds\[dtd\].*per clip"):
        compute_clip_metrics(
            video="v",
            relevance={"dtd": RELEVANCE},
            selective={},
            flow=hand_flow(),
            taus=[1.0],
            top_q=[0.05],
            seconds={"dtd": np.ones(3)},
        )


def test_tau_scales_with_resolution():
    assert tau_for_resolution(112) == 1.0 and tau_for_resolution(224) == 2.0
    with pytest.raises(VideoXAIError):
        tau_for_resolution(0)


def test_paper_method_order():
    assert ordered_methods(["zeta", "guided_gradcam", "dtd", "alpha", "gradcam"]) == [
        "dtd",
        "gradcam",
        "guided_gradcam",
        "alpha",
        "zeta",
    ]


def test_a_video_of_ten_clips_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    clips, shape = 10, (10, 16, 112, 112)
    flow = rng.normal(0, 1.5, (*shape, 2)).astype(np.float16)
    methods = ["dtd", "gradcam", "guided_backprop", "guided_gradcam"]
    relevance = {m: rng.normal(size=shape).astype(np.float32) for m in methods}
    selective = {
        (m, n): np.where(rng.random(shape) < 0.1, relevance[m], 0).astype(np.float32)
        for m in methods
        for n in (1.0, 2.0, 3.0)
    }
    # Its speed is measured by benchmarks, not asserted here (a busy machine would fail it).
    frame = compute_clip_metrics(
        video="v", relevance=relevance, selective=selective, flow=flow, taus=[0.5, 1.0, 2.0], top_q=[0.05]
    )
    # Direct float64 computation of the weighted precision of one clip.
    moving = np.hypot(flow[3, ..., 0].astype(np.float64), flow[3, ..., 1].astype(np.float64)) > 1.0
    positive = np.maximum(relevance["guided_backprop"][3].astype(np.float64), 0)
    expected = (positive * moving).sum() / positive.sum()
    got = value(frame[frame["clip"] == 3], "weighted_precision", method="guided_backprop", variant="baseline", tau=1.0)
    assert got == pytest.approx(expected, rel=1e-5)
    # per clip: 3 chance + motion_compensated + border_margin; per map (4 baselines, 12 selective)
    # relevant_fraction and, per tau, precision, weighted, top-q and recall; per selective map and
    # tau the two size-matched controls; selectivity (2 per selective map); IoU and top-q IoU of
    # the 6 method pairs in each of the 4 variants
    assert len(frame) == clips * (5 + 16 * (1 + 3 * 4) + 12 * 3 * 2 + 12 * 2 + 4 * 6 * 2)


def test_border_margin_leaves_out_exactly_the_band():
    # One clip, T=1, 6x6 frames, margin 1: the interior is rows/cols 1..4, 16 voxels; the band 20.
    #   moving (|flow| = 3): band (0,0), (5,5), (0,3); interior (2,2), (3,3), (1,4)
    #   relevance > 0: band (0,0)=5, (5,5)=1, (2,0)=4; interior (2,2)=1, (4,1)=2
    flow = np.zeros((1, 1, 6, 6, 2), np.float32)
    for y, x in [(0, 0), (5, 5), (0, 3), (2, 2), (3, 3), (1, 4)]:
        flow[0, 0, y, x] = [3, 0]
    relevance = np.zeros((1, 1, 6, 6), np.float32)
    for (y, x), r in {(0, 0): 5, (5, 5): 1, (2, 0): 4, (2, 2): 1, (4, 1): 2}.items():
        relevance[0, 0, y, x] = r
    common = dict(video="v", relevance={"dtd": relevance}, selective={}, taus=[1.0], top_q=[0.05])
    whole = compute_clip_metrics(flow=flow, **common)
    band = compute_clip_metrics(flow=flow, border_margin=1, **common)
    keys = dict(method="dtd", variant="baseline", tau=1.0)
    # whole frame: 6 of 36 move; 3 of 5 positive voxels move; 5 + 1 + 1 of 13 relevance
    assert value(whole, "chance", tau=1.0) == pytest.approx(6 / 36)
    assert value(whole, "precision", **keys) == pytest.approx(3 / 5)
    assert value(whole, "weighted_precision", **keys) == pytest.approx(7 / 13)
    # interior only: 3 of 16 move; 1 of 2 positive voxels moves; 1 of 3 relevance
    assert value(band, "chance", tau=1.0) == pytest.approx(3 / 16)
    assert value(band, "precision", **keys) == pytest.approx(1 / 2)
    assert value(band, "weighted_precision", **keys) == pytest.approx(1 / 3)
    # top 5 % of the interior's 16 voxels is its single largest, (4,1) = 2, which does not move
    assert value(band, "topq_precision", q=0.05, **keys) == 0.0
    # over the whole frame it is ceil(0.05 * 36) = 2 voxels, (0,0) = 5 (moves) and (2,0) = 4 (still)
    assert value(whole, "topq_precision", q=0.05, **keys) == 0.5
    # the whole map still counts for everything that is not motion: 5 of 36 voxels are relevant
    assert value(band, "relevant_fraction", method="dtd", variant="baseline") == pytest.approx(5 / 36)
    # the settings are recorded per clip
    assert value(band, "border_margin") == 1 and value(band, "motion_compensated") == 0
    assert value(whole, "border_margin") == 0
    compensated = compute_clip_metrics(flow=flow, motion="compensated", **common)
    assert value(compensated, "motion_compensated") == 1
    with pytest.raises(VideoXAIError, match="leaves nothing"):
        compute_clip_metrics(flow=flow, border_margin=3, **common)
    with pytest.raises(VideoXAIError, match="border_margin"):
        compute_clip_metrics(flow=flow, border_margin=-1, **common)
    with pytest.raises(VideoXAIError, match="motion"):
        compute_clip_metrics(flow=flow, motion="camera", **common)
