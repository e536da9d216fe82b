"""Static control (selective relevance on frozen clips) and the margin mode of selective relevance.

Every expected number is derived by hand in the test's docstring or comments.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.core.study_config import check_bands
from videoxai.data.copies import frozen_copy
from videoxai.evaluation.static_control import area_shares, artifact_rows, frame_profile, static_control_table
from videoxai.explain import get_explainer
from videoxai.explain.batched import StillCopies, explain_clips
from videoxai.models import load_configured
from videoxai.models.spec import ModelSpec
from videoxai.motion.selective import default_border, interior_mask, selective_from_settings, selective_relevance
from videoxai.report.static_control import write_static_control

TINY = {
    "name": "workflow_models:tiny_net",
    "weights": None,
    "options": {},
    "spec": {"num_frames": 8, "size": 16, "scale": 1 / 127.5, "offset": -1.0, "num_classes": 3},
}


def random_relevance(shape=(2, 8, 12, 12), seed=0):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


def test_default_settings_are_selective_relevance_with_its_defaults_exactly():
    relevance = random_relevance()
    for settings in ({}, {"n": [2.0, 4.0]}, {"n": [2.0, 4.0], "mode": "paper", "margin": {"frames": 3}}):
        ours = selective_from_settings(relevance, settings)
        paper = selective_relevance(relevance, n=settings.get("n", [4.0]))
        for name in ("gradient", "sigma", "masks", "maps"):
            assert torch.equal(getattr(ours, name), getattr(paper, name)), name


def test_margin_mode_is_the_paper_mask_without_the_band():
    relevance = random_relevance()
    paper = selective_relevance(relevance, n=[1.0, 2.0])
    margin = selective_from_settings(
        relevance, {"n": [1.0, 2.0], "mode": "margin", "margin": {"frames": 2, "pixels": 3}}
    )
    inside = np.zeros((8, 12, 12), dtype=bool)
    inside[2:6, 3:9, 3:9] = True  # frames 2..5 and pixels 3..8 of 0..11
    expected = paper.masks.numpy() & inside
    np.testing.assert_array_equal(margin.masks.numpy(), expected)
    np.testing.assert_array_equal(margin.maps.numpy(), relevance.numpy()[None] * expected)
    assert torch.equal(margin.sigma, paper.sigma) and torch.equal(margin.gradient, paper.gradient)
    assert expected.sum() > 0 and margin.masks.sum() < paper.masks.sum()


def test_margin_defaults_and_bad_settings():
    relevance = random_relevance(shape=(1, 8, 28, 28))
    result = selective_from_settings(relevance, {"n": [1.0], "mode": "margin"})
    # defaults: 2 frames and 16/224 of 28 pixels = 2 pixels
    assert default_border(28) == 2 and default_border(224) == 16 and default_border(112) == 8
    assert not result.masks[0, 0, :2].any() and not result.masks[0, 0, :, :, :2].any()
    assert torch.equal(interior_mask((8, 28, 28), 2, 2), torch.from_numpy(np.pad(np.ones((4, 24, 24), bool), 2)))
    with pytest.raises(VideoXAIError, match="selective.mode"):
        selective_from_settings(relevance, {"mode": "frozen"})
    with pytest.raises(VideoXAIError, match="no interior"):
        selective_from_settings(relevance, {"mode": "margin", "margin": {"frames": 4}})


def test_check_bands_names_the_key():
    config = {"model": {"name": "i3d_kinetics400"}, "clips": {"length": 16}}
    check_bands({**config, "selective": {"margin": {"frames": 7, "pixels": None}}, "static_control": {}})
    with pytest.raises(VideoXAIError, match="selective.margin.frames"):
        check_bands({**config, "selective": {"margin": {"frames": 8}}})
    with pytest.raises(VideoXAIError, match="selective.margin.pixels"):
        check_bands({**config, "selective": {"margin": {"pixels": 112}}})
    with pytest.raises(VideoXAIError, match="static_control.border"):
        check_bands({**config, "static_control": {"border": 120}})


def test_frozen_copy_repeats_the_middle_frame():
    clips = np.arange(2 * 5 * 2 * 2 * 3, dtype=np.uint8).reshape(2, 5, 2, 2, 3)
    frozen = frozen_copy(clips)
    assert frozen.shape == clips.shape and frozen.dtype == np.uint8
    for frame in range(5):
        np.testing.assert_array_equal(frozen[:, frame], clips[:, 2])
    with pytest.raises(VideoXAIError):
        frozen_copy(np.zeros(3))


class _Padded(nn.Module):
    """One temporal convolution with zero padding, summing three neighbouring frames of all
    colours with weight 1, averaged into one score; logits = (score, -score)."""

    def __init__(self, temporal: int = 3):
        super().__init__()
        self.conv = nn.Conv3d(3, 1, kernel_size=(temporal, 1, 1), padding=(temporal // 2, 0, 0), bias=False)
        nn.init.ones_(self.conv.weight)

    def forward(self, inputs):
        score = self.conv(inputs).mean(dim=(1, 2, 3, 4))
        return torch.stack([score, -score], dim=1)


def _frozen_guided_backprop(model, frames=16, size=8):
    spec = ModelSpec(name="padded", num_frames=frames, size=size, class_names=("a", "b"), scale=1 / 127.5, offset=-1.0)
    clip = np.full((1, frames, size, size, 3), 200, dtype=np.uint8)  # bright: class "a" wins
    clip[0, frames // 2, 2:5, 2:5] = 250  # any picture; only its middle frame matters
    frozen = frozen_copy(clip)
    return get_explainer("guided_backprop", model, spec=spec).attribute(spec.preprocess(frozen)).relevance


def test_zero_padding_makes_a_frozen_clip_look_like_motion_and_the_margin_removes_it():
    """Input gradient of the mean of a 3-frame sum: each interior frame enters 3 windows, the
    first and last frames only 2 (the third window sums the zero padding). So R[t] = 3c inside
    and 2c at t = 0, T-1, and G_t ∝ R[t+1] - R[t-1] (replicate padding) is c at t = 0, 1,
    -c at t = T-2, T-1 and 0 elsewhere. With T = 16, 4 of 16 frames carry |G_t| = g:
    σ = g·sqrt(0.25·0.75) = 0.433 g, so n = 2 keeps exactly those 4 frames: 25 % of the voxels
    and (2+3+3+2)/(2·2+14·3) = 10/46 of the positive relevance. A margin of 2 frames keeps nothing."""
    relevance = _frozen_guided_backprop(_Padded())
    profile = relevance[0].mean(dim=(1, 2)).numpy()
    np.testing.assert_allclose(profile / profile[5], [2 / 3] + [1] * 14 + [2 / 3], rtol=1e-5)
    paper = selective_from_settings(relevance, {"n": [2.0]})
    masks = {2.0: paper.masks[0].numpy()}
    rows = artifact_rows("v", "guided_backprop", relevance.numpy(), masks, definition="paper", edge=2, border=1)
    value = rows.set_index("metric")["value"]
    assert value["kept_voxels"] == pytest.approx(0.25)
    assert value["kept_relevance"] == pytest.approx(10 / 46, rel=1e-5)
    assert value["edge_frames"] == pytest.approx(1.0)  # all in the first/last 2 frames (25 % of the clip)
    assert value["border"] == pytest.approx(1 - 36 / 64)  # spread evenly over the frame
    remedied = selective_from_settings(relevance, {"n": [2.0], "mode": "margin", "margin": {"frames": 2, "pixels": 0}})
    assert remedied.masks.sum() == 0 and remedied.maps.abs().sum() == 0


def test_a_network_without_temporal_padding_keeps_nothing_on_a_frozen_clip():
    """A temporal kernel of 1 has no temporal padding: R is the same in every frame, G_t = 0,
    and the strict comparison |G_t| > n·σ = 0 keeps no voxel for any n."""
    relevance = _frozen_guided_backprop(_Padded(temporal=1))
    assert torch.equal(relevance[0, 0], relevance[0, 7])
    assert selective_from_settings(relevance, {"n": [0.5, 4.0]}).masks.sum() == 0


def test_explain_clips_explains_the_frozen_copies_in_the_same_batches(monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    model, spec = load_configured(TINY)
    clips = np.random.default_rng(0).integers(0, 256, (3, 8, 16, 16, 3), dtype=np.uint8)
    arrays = explain_clips(model, spec, clips, ["gradcam", "guided_backprop"], batch_size=2, stills=StillCopies())
    plain = explain_clips(model, spec, clips, ["gradcam", "guided_backprop"], batch_size=2)
    # the still copies explain the class their clip's first method explained, clip by clip
    frozen = explain_clips(
        model, spec, frozen_copy(clips), ["gradcam", "guided_backprop"], batch_size=2, target=plain["gradcam/target"]
    )
    for method in ("gradcam", "guided_backprop"):
        # batches mix a clip with a frozen one, so float sums may differ in the last bits
        np.testing.assert_allclose(arrays[f"{method}/relevance"], plain[f"{method}/relevance"], rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(
            arrays[f"static_control/{method}/relevance"], frozen[f"{method}/relevance"], rtol=1e-4, atol=1e-7
        )
        np.testing.assert_array_equal(arrays[f"static_control/{method}/target"], plain["gradcam/target"])
        # tiny_net pads time with zeros: its frozen-clip relevance does change over time
        relevance = torch.from_numpy(arrays[f"static_control/{method}/relevance"])
        assert not torch.equal(relevance[:, 0], relevance[:, 4])
        paper = selective_from_settings(relevance, {"n": [1.0]})
        margin = selective_from_settings(
            relevance, {"n": [1.0], "mode": "margin", "margin": {"frames": 2, "pixels": 2}}
        )
        assert (margin.masks <= paper.masks).all() and margin.masks.sum() < paper.masks.sum()


def _hand_rows(video, kept_frames):
    """One clip (1, 4, 8, 8) of relevance 1 with a mask of whole frames ``kept_frames``."""
    relevance = np.ones((1, 4, 8, 8), np.float32)
    relevance[0, 1] = -1.0  # negative relevance does not count in the share of positive relevance
    mask = np.zeros_like(relevance, dtype=bool)
    mask[0, kept_frames] = True
    return artifact_rows(video, "m", relevance, {4.0: mask}, definition="paper", edge=1, border=2)


def test_a_clip_without_positive_relevance_keeps_an_undefined_share_and_is_counted(tmp_path):
    """A frozen copy whose relevance is all negative (or zero) has no positive relevance to keep:
    its kept share is undefined, not 0 (0 would read as 'selective relevance kept nothing')."""
    relevance = -np.ones((1, 4, 8, 8), np.float32)
    mask = np.zeros_like(relevance, dtype=bool)
    mask[0, 0] = True
    nothing = artifact_rows("z", "m", relevance, {4.0: mask}, definition="paper", edge=1, border=2)
    value = nothing.set_index("metric")["value"]
    assert np.isnan(value["kept_relevance"]) and value["kept_voxels"] == 0.25
    table = static_control_table(pd.concat([_hand_rows("a", [0]), nothing]))
    (row,) = table.to_dict("records")
    # the mean is video a's 1/3 alone (with 0 for z it would be 1/6); both clips count elsewhere
    assert row["kept_relevance"] == pytest.approx(1 / 3) and row["no_positive"] == 1
    assert row["clips"] == 2 and row["kept_voxels"] == pytest.approx(0.25)
    markdown = write_static_control(table, tmp_path, "caption")[1].read_text()
    assert "Clips with no positive relevance" in markdown
    assert markdown.strip().splitlines()[-1].rstrip(" |").endswith("| 2 | 2 | 1")


def test_the_table_and_its_caption_take_the_study_bootstrap_settings():
    from videoxai.evaluation.stats import bootstrap_mean
    from videoxai.report.static_control import caption

    # kept relevance 1/3 (frame 0), 2/3 (frames 0 and 2 of the three positive ones) and 0 (nothing)
    rows = pd.concat([_hand_rows("a", [0]), _hand_rows("b", [0, 2]), _hand_rows("c", [])])
    settings = {"level": 0.5, "resamples": 50, "seed": 3, "method": "percentile"}
    (row,) = static_control_table(rows, bootstrap=settings).to_dict("records")
    expected = bootstrap_mean(
        [1 / 3, 2 / 3, 0.0], ["a", "b", "c"], level=0.5, resamples=50, seed=3, method="percentile"
    )
    assert (row["kept_relevance_low"], row["kept_relevance_high"]) == pytest.approx((expected.low, expected.high))
    (default,) = static_control_table(rows).to_dict("records")
    assert default["kept_relevance_high"] - default["kept_relevance_low"] > expected.high - expected.low
    text = caption({"edge_frames_area": 0.5, "border_area": 0.75}, 1, 2, None, settings)
    assert "[50% interval: percentile bootstrap resampling videos (50 resamples, seed 3)]" in text
    assert "95" not in text


def test_rows_and_table_on_hand_made_maps(tmp_path):
    rows = _hand_rows("a", [0])
    value = rows.set_index("metric")["value"]
    # 64 of 256 voxels kept; 64 of the 192 positive voxels; all in frame 0; 48 of the 64 per frame in the band
    assert value["kept_voxels"] == 0.25 and value["kept_relevance"] == pytest.approx(1 / 3)
    assert value["edge_frames"] == 1.0 and value["border"] == pytest.approx(48 / 64)
    assert area_shares((4, 8, 8), edge=1, border=2) == {"edge_frames_area": 0.5, "border_area": 0.75}
    empty = _hand_rows("b", []).set_index("metric")["value"]
    assert empty["kept_voxels"] == 0 and np.isnan(empty["edge_frames"])  # where nothing is kept, nothing sits
    table = static_control_table(pd.concat([rows, _hand_rows("b", [0]), _hand_rows("c", [2])]))
    (row,) = table.to_dict("records")
    # videos a, b keep 1/3 of their positive relevance, c (frame 2) also 1/3; frame 2 is no edge frame
    assert row["kept_relevance"] == pytest.approx(1 / 3)
    assert row["kept_relevance_low"] == pytest.approx(1 / 3) and row["kept_relevance_high"] == pytest.approx(1 / 3)
    assert row["edge_frames"] == pytest.approx(2 / 3) and row["videos"] == 3 and row["clips"] == 3
    assert row["edge_frames_low"] <= row["edge_frames"] <= row["edge_frames_high"]
    paths = write_static_control(table, tmp_path, "caption")
    assert [path.name for path in paths] == ["static_control.csv", "static_control.md", "static_control.tex"]
    assert "33.3 [33.3, 33.3]" in paths[1].read_text()
    assert pd.read_csv(paths[0])["kept_voxels"].iloc[0] == pytest.approx(0.25)
    profile = frame_profile([np.array([[[[True]], [[False]], [[True]], [[True]]]])])
    np.testing.assert_allclose(profile, [1 / 3, 0, 1 / 3, 1 / 3])
