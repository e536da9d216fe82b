"""Saliency Tubes, occlusion (fixed, flow-following, first-order), extremal perturbation (plain
and DCT-modulated) and Class Feature Pyramids on tiny models with hand-checkable answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from videoxai.errors import VideoXAIError
from videoxai.explain import ALL_METHODS, FLOW_METHODS, METHODS, get_explainer
from videoxai.explain.extra_common import frames_from_inputs
from videoxai.explain.occlusion import build_masks, seed_grid, track
from videoxai.models.spec import ModelSpec


class RegionModel(nn.Module):
    """Two classes: logit 0 = scale · Σ of the input inside a region (all channels), logit 1 = 0."""

    def __init__(self, region, scale=1.0):
        super().__init__()
        self.region = region
        self.scale = scale

    def forward(self, inputs):
        frames, rows, cols = self.region
        value = inputs[:, :, frames, rows, cols].sum(dim=(1, 2, 3, 4)) * self.scale
        return torch.stack([value, torch.zeros_like(value)], dim=1)


class PathModel(nn.Module):
    """Logit 0 = scale · Σ_t Σ of the input inside the square that moves 3 px to the right per frame."""

    def __init__(self, top=12, left=2, side=6, speed=3, scale=1e-3):
        super().__init__()
        self.top, self.left, self.side, self.speed, self.scale = top, left, side, speed, scale

    def square(self, t):
        left = self.left + self.speed * t
        return slice(self.top, self.top + self.side), slice(left, left + self.side)

    def forward(self, inputs):
        value = sum(inputs[:, :, t, rows, cols].sum(dim=(1, 2, 3)) for t in range(inputs.shape[2])
                    for rows, cols in [self.square(t)])
        value = value * self.scale
        return torch.stack([value, torch.zeros_like(value)], dim=1)


class TinyGAP(nn.Module):
    """conv (same size) -> ReLU -> global average pool -> classifier (Linear or 1x1x1 Conv3d)."""

    cam_layer = "relu"
    classifier_layer = "fc"

    def __init__(self, classes=3, conv_classifier=False):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv3d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv_classifier = conv_classifier
        self.fc = nn.Conv3d(4, classes, 1) if conv_classifier else nn.Linear(4, classes)

    def forward(self, inputs):
        pooled = self.relu(self.conv(inputs)).mean(dim=(2, 3, 4), keepdim=True)
        if self.conv_classifier:
            return self.fc(pooled).flatten(1)
        return self.fc(pooled.flatten(1))


def no_hooks_left(model):
    return all(not module._forward_hooks and not module._backward_hooks and not module._forward_pre_hooks
               for module in model.modules())


def test_registry_keeps_the_papers_four_and_adds_the_rest():
    assert METHODS == ("dtd", "gradcam", "guided_backprop", "guided_gradcam")
    for name in ("saliency_tubes", "occlusion", "flow_occlusion", "flow_occlusion_approx", "fep", "extremal_perturbation"):
        assert name in ALL_METHODS
    assert set(FLOW_METHODS) <= set(ALL_METHODS)
    with pytest.raises(VideoXAIError, match="does not take option"):
        get_explainer("occlusion", RegionModel((0, 0, 0)), bogus=1)
    with pytest.raises(VideoXAIError, match="size must be a positive integer"):
        get_explainer("occlusion", RegionModel((0, 0, 0)), size=0)


# ---------------------------------------------------------------- Saliency Tubes


@pytest.mark.parametrize("conv_classifier", [False, True])
def test_saliency_tubes_mean_plus_bias_is_the_logit(conv_classifier):
    # no pooling before the classifier but the global mean, and the map is at input resolution, so
    # mean(Σ_c w_c A_c) + b = w · mean(A) + b = logit exactly
    model = TinyGAP(conv_classifier=conv_classifier).eval()
    inputs = torch.randn(2, 3, 4, 6, 6)
    result = get_explainer("saliency_tubes", model).attribute(inputs, target=torch.tensor([2, 0]))
    assert result.relevance.shape == (2, 4, 6, 6) and result.relevance.dtype == torch.float32
    bias = model.fc.bias.detach()[result.target]
    expected = result.logits.gather(1, result.target[:, None])[:, 0]
    torch.testing.assert_close(result.relevance.mean(dim=(1, 2, 3)) + bias, expected, rtol=1e-5, atol=1e-5)
    assert no_hooks_left(model)


def test_saliency_tubes_refuses_c3d_with_the_reason():
    from videoxai.models.c3d import C3D

    model = C3D(num_classes=5, width=0.25).eval()
    with pytest.raises(VideoXAIError, match="global pooling.*fc8"):
        get_explainer("saliency_tubes", model).attribute(torch.zeros(1, 3, 16, 112, 112))
    assert no_hooks_left(model)


# ---------------------------------------------------------------- occlusion


def test_seeds_and_fixed_cuboids_by_hand():
    t0, y, x = seed_grid(4, 16, 16, stride=8, temporal_stride=2)
    assert t0.tolist() == [0] * 4 + [2] * 4 and y.tolist() == [4, 4, 12, 12] * 2 and x.tolist() == [4, 12] * 4
    masks = build_masks(4, 16, 16, size=8, stride=8, temporal_size=3, temporal_stride=2)
    assert len(masks) == 8
    dense = masks.dense(0, 8, 16, 16)
    # seed (t0=0, y=4, x=4): rows/cols [0, 8), frames [0, 3)
    assert dense[0, :3, :8, :8].all() and dense[0].sum() == 3 * 64
    # seed (t0=2, y=12, x=12): frames [2, 4) only (clipped at the clip's end)
    assert dense[7, 2:, 8:, 8:].all() and dense[7].sum() == 2 * 64


def test_tracking_follows_constant_flow_by_hand():
    flow = np.zeros((5, 20, 20, 2), np.float32)
    flow[..., 0] = 2.0  # 2 px right per frame
    flow[..., 1] = -1.0  # 1 px up per frame
    centres, present = track(flow, np.array([0, 2]), np.array([10, 10]), np.array([3, 3]), temporal_size=3)
    assert centres[0, :3].tolist() == [[10, 3], [9, 5], [8, 7]]
    assert present[0].tolist() == [True, True, True, False, False]
    assert centres[1, 2:].tolist() == [[10, 3], [9, 5], [8, 7]]  # starts moving at its first frame
    assert present[1].tolist() == [False, False, True, True, True]


def test_static_flow_merges_raster_neighbours_three_at_a_time():
    flow = np.zeros((4, 16, 16, 2), np.float32)
    masks = build_masks(4, 16, 16, size=4, stride=4, temporal_size=4, temporal_stride=4, flow=flow, merge=3)
    assert len(masks) == math.ceil(16 / 3)
    dense = masks.dense(0, 1, 16, 16)[0]
    # seeds 0, 1, 2 of the first row: columns [0, 12) of rows [0, 4) in every frame
    assert dense[:, :4, :12].all() and dense.sum() == 4 * 4 * 12


@pytest.mark.parametrize("method", ["occlusion", "flow_occlusion", "flow_occlusion_approx"])
def test_occlusion_maximum_lies_in_the_only_region_that_matters(method):
    region = (slice(0, 8), slice(16, 24), slice(8, 16))
    model = RegionModel(region, scale=5e-4)
    inputs = torch.ones(2, 3, 8, 32, 32)
    explainer = get_explainer(method, model, size=8, stride=4, temporal_size=8, temporal_stride=4, batch_size=16)
    flow = np.zeros((2, 8, 32, 32, 2), np.float32)
    result = explainer.attribute(inputs, target=0, flow=flow) if method in FLOW_METHODS else explainer.attribute(inputs, 0)
    assert result.relevance.shape == (2, 8, 32, 32)
    for clip in range(2):
        t, y, x = np.unravel_index(int(result.relevance[clip].argmax()), (8, 32, 32))
        assert 16 <= y < 24 and 8 <= x < 16
    # far from the region nothing changes the score
    assert result.relevance[:, :, :4, 24:].abs().max() < 1e-6


def test_first_order_approximation_matches_the_forward_passes_when_the_score_is_nearly_linear():
    region = (slice(0, 8), slice(16, 24), slice(8, 16))
    model = RegionModel(region, scale=1e-4)  # p = sigmoid(small): nearly linear in the input
    inputs = torch.ones(1, 3, 8, 32, 32)
    flow = np.zeros((1, 8, 32, 32, 2), np.float32)
    options = dict(size=8, stride=4, temporal_size=8, temporal_stride=4)
    exact = get_explainer("flow_occlusion", model, **options).attribute(inputs, 0, flow=flow).relevance
    approx = get_explainer("flow_occlusion_approx", model, **options).attribute(inputs, 0, flow=flow).relevance
    assert ((exact - approx).norm() / exact.norm()).item() < 0.01


def test_flow_occlusion_follows_the_moving_square_and_fixed_occlusion_does_not():
    model = PathModel()
    frames, size = 8, 32
    inputs = torch.zeros(1, 3, frames, size, size)
    flow = np.zeros((1, frames, size, size, 2), np.float32)
    for t in range(frames):
        rows, cols = model.square(t)
        inputs[0, :, t, rows, cols] = 1.0
        flow[0, t, rows, cols, 0] = model.speed  # the square's pixels move 3 px right per frame
    options = dict(size=8, stride=2, temporal_size=frames, temporal_stride=frames, batch_size=64)
    moving = get_explainer("flow_occlusion", model, merge=1, **options).attribute(inputs, 0, flow=flow).relevance[0]
    fixed = get_explainer("occlusion", model, **options).attribute(inputs, 0).relevance[0]
    moving_hits = fixed_hits = 0
    for t in range(frames):
        rows, cols = model.square(t)
        inside = torch.zeros(size, size, dtype=torch.bool)
        inside[rows, cols] = True
        moving_hits += bool(inside.flatten()[moving[t].argmax()])
        fixed_hits += bool(inside.flatten()[fixed[t].argmax()])
    assert moving_hits == frames
    assert fixed_hits < frames  # a fixed cuboid's map is the same in every frame


def test_flow_methods_need_flow_or_a_spec_and_compute_farneback_from_the_spec():
    model = RegionModel((slice(0, 4), slice(0, 8), slice(0, 8)), scale=1e-3)
    inputs = torch.rand(1, 3, 4, 16, 16)
    with pytest.raises(VideoXAIError, match="pass flow="):
        get_explainer("flow_occlusion", model, size=8, stride=8).attribute(inputs, 0)
    spec = ModelSpec(name="toy", num_frames=4, size=16, class_names=("a", "b"), scale=2 / 255, offset=-1.0)
    clips = np.random.default_rng(0).integers(0, 256, (1, 4, 16, 16, 3), dtype=np.uint8)
    preprocessed = spec.preprocess(clips)
    np.testing.assert_array_equal(frames_from_inputs(preprocessed, spec), clips)
    result = get_explainer("flow_occlusion", model, spec=spec, size=8, stride=8).attribute(preprocessed, 0)
    assert result.relevance.shape == (1, 4, 16, 16) and torch.isfinite(result.relevance).all()
    with pytest.raises(VideoXAIError, match=r"flow must be \(N, T, H, W, 2\)"):
        get_explainer("flow_occlusion", model).attribute(inputs, 0, flow=np.zeros((1, 4, 16, 16)))


# ---------------------------------------------------------------- extremal perturbation, FEP


def test_dct_is_orthonormal_and_matches_the_two_point_case_by_hand():
    from videoxai.explain.extremal import dct3, dct_matrix, low_pass, modulate

    matrix = dct_matrix(5)
    torch.testing.assert_close(matrix @ matrix.T, torch.eye(5), atol=1e-6, rtol=0)
    a, b = 3.0, 1.0
    torch.testing.assert_close(dct_matrix(2) @ torch.tensor([a, b]), torch.tensor([a + b, a - b]) / math.sqrt(2))
    volume = torch.randn(2, 1, 3, 4, 5)
    torch.testing.assert_close(dct3(dct3(volume), inverse=True), volume, atol=1e-5, rtol=0)
    # a constant passes any low-pass unchanged; a checkerboard (highest frequency) is removed
    gains = low_pass((3, 4, 5), cutoff=0.3)
    constant = torch.full((1, 1, 3, 4, 5), 2.0)
    torch.testing.assert_close(modulate(constant, gains), constant, atol=1e-5, rtol=0)
    t, y, x = torch.meshgrid(torch.arange(2), torch.arange(4), torch.arange(4), indexing="ij")
    checkerboard = ((-1.0) ** (t + y + x)).float()[None, None]
    assert modulate(checkerboard, low_pass((2, 4, 4), cutoff=0.3)).abs().max() < 1e-5


def test_extremal_perturbation_preserves_the_region_that_drives_the_logit():
    region = (slice(0, 2), slice(0, 8), slice(0, 8))  # 4 of the 32 low-resolution cells = area 0.125
    model = RegionModel(region, scale=0.01)
    inputs = torch.ones(1, 3, 4, 16, 16)
    options = dict(area=0.125, iterations=40, mask_stride=(2, 4, 4), perturbation="fade")
    mask = get_explainer("extremal_perturbation", model, **options).attribute(inputs, 0).relevance[0]
    inside = mask[region].mean().item()
    outside = (mask.sum() - mask[region].sum()).item() / (mask.numel() - mask[region].numel())
    assert inside > 0.7 and outside < 0.1
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    smooth = get_explainer("fep", model, **options).attribute(inputs, 0).relevance[0]
    assert smooth[region].mean() > 2 * (smooth.sum() - smooth[region].sum()) / (smooth.numel() - 128)


def test_fep_with_only_the_dc_component_moves_the_mask_uniformly():
    model = RegionModel((slice(0, 2), slice(0, 8), slice(0, 8)), scale=0.01)
    mask = get_explainer("fep", model, cutoff=0.0, iterations=5, mask_stride=(2, 4, 4)).attribute(
        torch.ones(1, 3, 4, 16, 16), 0).relevance
    assert mask.max() - mask.min() < 1e-6 and mask.max() != 0.5
    with pytest.raises(VideoXAIError, match="area must lie in"):
        get_explainer("fep", model, area=1.5)
    with pytest.raises(VideoXAIError, match="does not take option"):
        get_explainer("extremal_perturbation", model, cutoff=0.2)
