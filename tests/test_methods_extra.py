"""Saliency Tubes, occlusion (fixed, flow-following, first-order), extremal perturbation (plain
and DCT-modulated) and Class Feature Pyramids on tiny models with hand-checkable answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from videoxai.core.errors import VideoXAIError
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
        value = sum(
            inputs[:, :, t, rows, cols].sum(dim=(1, 2, 3))
            for t in range(inputs.shape[2])
            for rows, cols in [self.square(t)]
        )
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
    return all(
        not module._forward_hooks and not module._backward_hooks and not module._forward_pre_hooks
        for module in model.modules()
    )


def test_registry_keeps_the_papers_four_and_adds_the_rest():
    assert METHODS == ("dtd", "gradcam", "guided_backprop", "guided_gradcam")
    for name in (
        "saliency_tubes",
        "occlusion",
        "flow_occlusion",
        "flow_occlusion_approx",
        "fep",
        "extremal_perturbation",
        "cfp",
    ):
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


def test_mask_sums_and_painting_by_inclusion_exclusion_equal_the_dense_masks():
    from videoxai.explain.occlusion import MaskSet

    rng = np.random.default_rng(0)
    frames, height, width = 3, 12, 10
    top = rng.integers(0, height, (7, 3, frames))
    left = rng.integers(0, width, (7, 3, frames))
    boxes = np.stack(
        [
            top,
            np.minimum(top + rng.integers(0, 8, top.shape), height),
            left,
            np.minimum(left + rng.integers(0, 8, left.shape), width),
        ],
        axis=-1,
    )
    boxes[0, 1, 0] = 0  # an absent member
    masks = MaskSet(boxes)
    dense = masks.dense(0, 7, height, width).double()  # (7, T, H, W), overlapping members
    volume = torch.rand(frames, height, width, dtype=torch.float64)
    torch.testing.assert_close(masks.sums(volume), torch.einsum("mthw,thw->m", dense, volume))
    torch.testing.assert_close(masks.areas(frames, height, width), dense.sum(dim=(1, 2, 3)))
    weights = torch.rand(7, dtype=torch.float64)
    torch.testing.assert_close(masks.paint(weights, frames, height, width), torch.einsum("m,mthw->thw", weights, dense))


@pytest.mark.parametrize("method", ["occlusion", "flow_occlusion", "flow_occlusion_approx"])
def test_occlusion_maximum_lies_in_the_only_region_that_matters(method):
    region = (slice(0, 8), slice(16, 24), slice(8, 16))
    model = RegionModel(region, scale=5e-4)
    inputs = torch.ones(2, 3, 8, 32, 32)
    explainer = get_explainer(method, model, size=8, stride=4, temporal_size=8, temporal_stride=4, batch_size=16)
    flow = np.zeros((2, 8, 32, 32, 2), np.float32)
    result = (
        explainer.attribute(inputs, target=0, flow=flow) if method in FLOW_METHODS else explainer.attribute(inputs, 0)
    )
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
    mask = (
        get_explainer("fep", model, cutoff=0.0, iterations=5, mask_stride=(2, 4, 4))
        .attribute(torch.ones(1, 3, 4, 16, 16), 0)
        .relevance
    )
    assert mask.max() - mask.min() < 1e-6 and mask.max() != 0.5
    with pytest.raises(VideoXAIError, match="area must lie in"):
        get_explainer("fep", model, area=1.5)
    with pytest.raises(VideoXAIError, match="does not take option"):
        get_explainer("extremal_perturbation", model, cutoff=0.2)


# ---------------------------------------------------------------- Class Feature Pyramids


class Chain(nn.Module):
    """1x1x1 conv (3 -> 4) -> ReLU -> 1x1x1 conv (4 -> 3) -> ReLU -> global mean -> Linear (3 -> 2), no biases."""

    cam_layer = "relu2"
    classifier_layer = "fc"

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 4, 1, bias=False)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv3d(4, 3, 1, bias=False)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(3, 2, bias=False)
        with torch.no_grad():
            # on a clip of ones, conv1's channels are the row sums: pooled = [1, 2, 1, 1]
            self.conv1.weight.copy_(torch.tensor([[1.0, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 1]])[..., None, None, None])
            self.conv2.weight.copy_(
                torch.tensor([[1.0, 0.2, 0, 0.7], [0, 0, 1, 0], [0, 1, 0, 0]])[..., None, None, None]
            )
            self.fc.weight.copy_(torch.tensor([[1.0, 0, 0.5], [0, 1, 0]]))

    def forward(self, inputs):
        hidden = self.relu2(self.conv2(self.relu1(self.conv1(inputs))))
        return self.fc(hidden.mean(dim=(2, 3, 4)))


def test_cfp_keeps_the_kernels_derived_by_hand():
    model = Chain().eval()
    explainer = get_explainer("cfp", model, depth=1, theta=0.6)
    assert explainer.layer_names == ("conv2", "conv1")
    result = explainer.attribute(torch.ones(1, 3, 2, 4, 4), target=0)
    # class 0 weights [1, 0, 0.5] -> keep conv2 kernel 0; its scores pooled · w = [1, 0.4, 0, 0.7]
    # -> normalised [1, 0.4, 0, 0.7] -> keep conv1 kernels 0 and 3
    assert result.kept[0].tolist() == [[True, False, False]]
    assert result.kept[1].tolist() == [[True, False, False, True]]
    # constant maps, each divided by its maximum: relevance 1 everywhere
    torch.testing.assert_close(result.relevance, torch.ones(1, 2, 4, 4))
    assert result.maps[1][0, 0, 0, 0].item() == pytest.approx(1.0 + 1.0)  # A1_0 + A1_3
    assert no_hooks_left(model)


def test_cfp_relevance_is_the_mean_of_the_normalised_layer_maps():
    model = Chain().eval()
    inputs = torch.ones(1, 3, 2, 4, 4)
    inputs[0, 0, 1, 2, 3] = 3.0  # changes conv1 channels 0 and 1 there
    result = get_explainer("cfp", model, depth=1, theta=0.6).attribute(inputs, target=0)
    hidden = torch.relu(model.conv1(inputs))
    deep = torch.relu(model.conv2(hidden))[:, 0]
    shallow = hidden[:, 0] + hidden[:, 3]
    expected = (deep / deep.max() + shallow / shallow.max()) / 2
    torch.testing.assert_close(result.relevance, expected.detach())


def test_cfp_pyramid_arrays_and_figure(tmp_path):
    from videoxai.explain.cfp import plot_pyramid, pyramid_arrays

    result = get_explainer("cfp", Chain().eval(), depth=1).attribute(torch.ones(2, 3, 2, 4, 4), target=0)
    arrays = pyramid_arrays(result)
    assert arrays["cfp/pyramid/layers"].tolist() == ["conv2", "conv1"]
    assert arrays["cfp/pyramid/kept_1"].shape == (2, 4) and arrays["cfp/pyramid/kept_1"].dtype == bool
    figure = plot_pyramid(result, clip=1, path=tmp_path / "pyramid.png")
    assert (tmp_path / "pyramid.png").stat().st_size > 0
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_cfp_connecting_weights_of_an_inception_block_compose_its_branches():
    from videoxai.explain.cfp import connecting_weights, default_layers
    from videoxai.models.i3d import InceptionBlock, InceptionI3d

    torch.manual_seed(0)
    block = InceptionBlock(8, (2, 3, 4, 3, 4, 2))
    matrix = connecting_weights(block)
    assert matrix.shape == (2 + 4 + 4 + 2, 8)
    summed = lambda unit: unit.conv.weight.detach().sum(dim=(2, 3, 4))  # noqa: E731
    torch.testing.assert_close(matrix[:2], summed(block.Branch_0.Conv3d_0a_1x1))
    torch.testing.assert_close(matrix[2:6], summed(block.Branch_1.Conv3d_0b_3x3) @ summed(block.Branch_1.Conv3d_0a_1x1))
    torch.testing.assert_close(matrix[10:], summed(block.Branch_3.Conv3d_0b_1x1))
    assert default_layers(InceptionI3d(num_classes=5), 3) == ("Mixed_5c", "Mixed_5b", "Mixed_4f", "Mixed_4e")


def test_cfp_on_c3d_walks_the_conv_chain_with_grad_cam_class_weights():
    from videoxai.models.c3d import C3D

    torch.manual_seed(0)
    model = C3D(num_classes=5, width=0.25).eval()
    explainer = get_explainer("cfp", model)
    assert explainer.layer_names == ("conv5b", "conv5a", "conv4b", "conv4a")
    result = explainer.attribute(torch.randn(1, 3, 16, 112, 112), target=1)
    assert result.relevance.shape == (1, 16, 112, 112) and len(result.kept) == 4
    assert all(keep.any() for keep in result.kept) and result.kept[0].shape == (1, 128)
    assert no_hooks_left(model)


@pytest.mark.parametrize("method", ["saliency_tubes", "cfp", "occlusion", "fep"])
def test_every_extra_method_has_a_selective_variant(method):
    from videoxai.motion.selective import selective_relevance

    model = TinyGAP().eval()
    options = {
        "occlusion": dict(size=4, stride=4, temporal_size=2, temporal_stride=2),
        "fep": dict(iterations=3, mask_stride=(2, 2, 2)),
        "cfp": dict(layers=("conv",), depth=0),
    }.get(method, {})
    result = get_explainer(method, model, **options).attribute(torch.randn(1, 3, 4, 8, 8))
    selective = selective_relevance(result.relevance, n=[1, 4])
    assert selective.maps.shape == (2, 1, 4, 8, 8)


def test_saliency_tubes_on_i3d_average_to_the_logit_at_16x224(i3d_model):
    # at 16 x 224 x 224 Mixed_5c is (2, 7, 7) = the average pool's kernel, so logit = w · mean(A) + b;
    # trilinear upsampling by the integer factors 8 and 32 keeps the mean
    model, spec = i3d_model
    clips = np.random.default_rng(0).integers(0, 256, (1, 16, 224, 224, 3), dtype=np.uint8)
    result = get_explainer("saliency_tubes", model, spec=spec).attribute(spec.preprocess(clips))
    bias = model.logits.bias.detach()[result.target]
    expected = result.logits.gather(1, result.target[:, None])[:, 0]
    torch.testing.assert_close(result.relevance.mean(dim=(1, 2, 3)) + bias, expected, rtol=1e-4, atol=1e-4)
    assert no_hooks_left(model)
