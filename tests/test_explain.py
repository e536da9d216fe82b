"""The four explanation methods on tiny deterministic 3D CNNs, against captum and by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.explain import METHODS, Explanation, get_explainer
from videoxai.models.spec import ModelSpec

captum_attr = pytest.importorskip("captum.attr")

CLASSES = 5
SHAPE = (3, 3, 6, 12, 12)  # (N, C, T, H, W)


class SamePaddedConv(nn.Module):
    """Pads with F.pad before a plain Conv3d, like the I3D port's TF "SAME" units."""

    def __init__(self, in_channels, out_channels, kernel, bias):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, bias=bias)

    def forward(self, x):
        return self.conv(F.pad(x, (1, 2, 1, 2, 0, 1)))  # asymmetric, as TF SAME with even sizes


class TinyNet(nn.Module):
    """Conv3d / ReLU / max- and average pooling / a concatenated two-branch block / Linear."""

    cam_layer = "relu3"

    def __init__(self, bias: bool = True, padded_stem: bool = False):
        super().__init__()
        if padded_stem:
            self.stem = SamePaddedConv(3, 4, (2, 4, 4), bias)
        else:
            self.stem = nn.Conv3d(3, 4, 3, padding=1, bias=bias)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool3d((1, 2, 2))
        self.branch_a = nn.Conv3d(4, 3, 1, bias=bias)
        self.relu_a = nn.ReLU()
        self.branch_b = nn.Conv3d(4, 3, 3, padding=1, bias=bias)
        self.relu_b = nn.ReLU()
        self.conv3 = nn.Conv3d(6, 6, 3, padding=1, bias=bias)
        self.relu3 = nn.ReLU()
        self.pool3 = nn.AvgPool3d(2)
        self.fc1 = nn.Linear(6 * 3 * 3 * 3, 8, bias=bias)
        self.relu_fc = nn.ReLU()
        self.fc2 = nn.Linear(8, CLASSES, bias=bias)

    def forward(self, x):
        x = self.pool1(self.relu1(self.stem(x)))
        x = torch.cat([self.relu_a(self.branch_a(x)), self.relu_b(self.branch_b(x))], dim=1)
        x = self.pool3(self.relu3(self.conv3(x)))
        return self.fc2(self.relu_fc(self.fc1(x.flatten(1))))


class FailingNet(TinyNet):
    def forward(self, x):
        super().forward(x)
        raise RuntimeError("boom after the forward pass")


def make_model(seed: int = 0, **kwargs) -> nn.Module:
    torch.manual_seed(seed)
    model = TinyNet(**kwargs).eval()
    if kwargs.get("bias", True):
        with torch.no_grad():  # positive and negative biases, like BatchNorm folded into convolutions
            for module in model.modules():
                if isinstance(module, (nn.Conv3d, nn.Linear)):
                    module.bias.uniform_(-0.2, 0.2)
    return model


def make_inputs(seed: int = 1, shape=SHAPE) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=generator) * 2 - 1  # inside the bounds [-1, 1]


SPEC = ModelSpec(
    name="tiny", num_frames=6, size=12, class_names=tuple("abcde"), scale=1 / 127.5, offset=-1.0
)  # value_range = [-1, 1] per channel


def hook_count(model: nn.Module) -> int:
    return sum(
        len(module._forward_hooks)
        + len(module._forward_pre_hooks)
        + len(module._backward_hooks)
        + len(getattr(module, "_backward_pre_hooks", {}))
        for module in model.modules()
    )


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """Largest absolute difference relative to the reference's largest magnitude."""
    return ((value - reference).abs().max() / reference.abs().max().clamp_min(1e-30)).item()


def relative_l2_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    return ((value - reference).norm() / reference.norm().clamp_min(1e-30)).item()


def test_spec_range_is_minus_one_to_one():
    low, high = SPEC.value_range
    torch.testing.assert_close(low, -torch.ones(3))
    torch.testing.assert_close(high, torch.ones(3))


@pytest.mark.parametrize("method", METHODS)
def test_output_contract_and_no_hooks_left(method):
    model = make_model()
    inputs = make_inputs()
    result = get_explainer(method, model, spec=SPEC).attribute(inputs)
    assert isinstance(result, Explanation)
    assert result.relevance.shape == (3, 6, 12, 12) and result.relevance.dtype == torch.float32
    assert result.logits.shape == (3, CLASSES) and result.logits.dtype == torch.float32
    assert not result.logits.requires_grad and not result.relevance.requires_grad
    assert result.target.dtype == torch.int64
    with torch.no_grad():
        plain = model(inputs)
    torch.testing.assert_close(result.logits, plain)
    assert torch.equal(result.target, plain.argmax(1))
    assert result.method == method
    assert hook_count(model) == 0
    assert all(parameter.grad is None for parameter in model.parameters())


@pytest.mark.parametrize("method", METHODS)
def test_hooks_removed_after_an_exception(method):
    model = FailingNet()
    with pytest.raises(RuntimeError, match="boom"):
        get_explainer(method, model, spec=SPEC).attribute(make_inputs())
    assert hook_count(model) == 0
    model = make_model()
    with pytest.raises(RuntimeError):  # a wrong frame size fails in fc1, after hooks on every convolution
        get_explainer(method, model, spec=SPEC).attribute(torch.zeros(1, 3, 6, 10, 10))
    assert hook_count(model) == 0


@pytest.mark.parametrize("padded_stem", [False, True])
def test_dtd_conserves_the_target_logit_without_bias(padded_stem):
    """z+ conserves relevance wherever a neuron has positive evidence, so for a positive target logit."""
    model = make_model(bias=False, padded_stem=padded_stem)
    inputs = make_inputs()
    with torch.no_grad():
        logits = model(inputs)
    # besides top-1, each clip's smallest positive logit: a target that is not the winner
    smallest_positive = torch.where(logits > 0, logits, torch.inf).argmin(1)
    for target in (None, smallest_positive):
        result = get_explainer("dtd", model, spec=SPEC).attribute(inputs, target=target)
        logit = result.logits.gather(1, result.target[:, None])[:, 0]
        assert torch.all(logit > 0)
        total = result.relevance.flatten(1).sum(1)
        assert torch.all((total - logit).abs() <= 1e-4 * logit.abs().clamp_min(1.0)), (total, logit)
    assert hook_count(model) == 0


def test_dtd_first_layer_is_zbox_with_bounds():
    """By hand for a one-convolution network: R_i = (x_i w_i - l w_i^+ - h w_i^-) / Σ(...) · z."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(1, 1, (1, 1, 2), bias=True), nn.Flatten())
    inputs = torch.tensor([[[[[0.5, -0.25]]]]])
    weight = model[0].weight.detach().flatten()
    result = get_explainer("dtd", model, low=-1.0, high=1.0).attribute(inputs, target=0)
    low, high = -1.0, 1.0
    numerator = inputs.flatten() * weight - low * weight.clamp(min=0) - high * weight.clamp(max=0)
    expected = numerator / numerator.sum() * result.logits[0, 0]
    torch.testing.assert_close(result.relevance.flatten(), expected, rtol=1e-5, atol=1e-6)


def test_dtd_explicit_bounds_and_errors():
    model = make_model()
    inputs = make_inputs()
    from_spec = get_explainer("dtd", model, spec=SPEC).attribute(inputs)
    explicit = get_explainer("dtd", model, low=[-1.0, -1.0, -1.0], high=1.0).attribute(inputs)
    torch.testing.assert_close(from_spec.relevance, explicit.relevance)
    with pytest.raises(VideoXAIError, match="spec= or low=/high="):
        get_explainer("dtd", model)
    with pytest.raises(VideoXAIError, match="follow no such layer"):  # a BatchNorm before any convolution
        get_explainer("dtd", nn.Sequential(nn.BatchNorm3d(3), nn.Conv3d(3, 2, 1)), spec=SPEC)
    with pytest.raises(VideoXAIError, match="does not take"):
        get_explainer("dtd", model, spec=SPEC, autocast="bf16")


def test_gradcam_matches_captum():
    model = make_model()
    inputs = make_inputs()
    result = get_explainer("gradcam", model).attribute(inputs)
    reference = captum_attr.LayerGradCam(model, model.relu3).attribute(
        inputs, target=result.target, relu_attributions=True
    )
    reference = F.interpolate(reference, size=inputs.shape[2:], mode="trilinear", align_corners=False)[:, 0]
    assert reference.abs().max() > 0
    assert relative_error(result.relevance, reference) < 1e-5


def test_gradcam_default_layer_for_a_generic_model():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv3d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv3d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Linear(4, CLASSES),
    ).eval()
    explainer = get_explainer("gradcam", model)
    assert explainer.layer_name == "3"  # the ReLU after the last Conv3d
    explicit = get_explainer("gradcam", model, layer="2").attribute(make_inputs())
    assert explicit.relevance.shape == (3, 6, 12, 12)
    with pytest.raises(VideoXAIError, match="not a module"):
        get_explainer("gradcam", model, layer="nope")


def test_guided_backprop_matches_captum():
    model = make_model()
    inputs = make_inputs()
    result = get_explainer("guided_backprop", model).attribute(inputs, target=torch.tensor([0, 2, 4]))
    reference = captum_attr.GuidedBackprop(model).attribute(inputs, target=torch.tensor([0, 2, 4])).sum(1)
    assert reference.abs().max() > 0
    assert relative_error(result.relevance, reference) < 1e-5
    assert hook_count(model) == 0


def test_guided_gradcam_matches_captum():
    model = make_model()
    inputs = make_inputs()
    result = get_explainer("guided_gradcam", model).attribute(inputs, target=1)
    reference = (
        captum_attr.GuidedGradCam(model, model.relu3).attribute(inputs, target=1, interpolate_mode="trilinear").sum(1)
    )
    assert reference.abs().max() > 0
    assert relative_error(result.relevance, reference) < 1e-5


@pytest.mark.parametrize("method", METHODS)
def test_batch_equals_one_by_one(method):
    model = make_model()
    inputs = make_inputs()
    explainer = get_explainer(method, model, spec=SPEC)
    batched = explainer.attribute(inputs)
    for index in range(inputs.shape[0]):
        single = explainer.attribute(inputs[index : index + 1])
        assert torch.equal(single.target, batched.target[index : index + 1])
        scale = batched.relevance[index].abs().max().clamp_min(1e-30)
        assert ((single.relevance[0] - batched.relevance[index]).abs().max() / scale).item() < 1e-5


def test_targets_and_errors():
    model = make_model()
    inputs = make_inputs()
    explainer = get_explainer("gradcam", model)
    assert explainer.attribute(inputs, target=2).target.tolist() == [2, 2, 2]
    assert explainer.attribute(inputs, target=torch.tensor([4, 3, 0])).target.tolist() == [4, 3, 0]
    with pytest.raises(VideoXAIError, match=r"\[0, 5\)"):
        explainer.attribute(inputs, target=5)
    with pytest.raises(VideoXAIError, match="one class per clip"):
        explainer.attribute(inputs, target=torch.tensor([1, 2]))
    with pytest.raises(VideoXAIError, match=r"\(N, C, T, H, W\)"):
        explainer.attribute(inputs[0])
    with pytest.raises(VideoXAIError, match="dtd.*gradcam.*guided_backprop.*guided_gradcam"):
        get_explainer("lime", model)
    with pytest.raises(VideoXAIError, match="autocast"):
        get_explainer("gradcam", model, autocast="fp8")
    assert hook_count(model) == 0


@pytest.mark.parametrize("method", ["gradcam", "guided_backprop", "guided_gradcam"])
def test_bf16_autocast_is_close_to_fp32(method):
    model = make_model()
    inputs = make_inputs()
    reference = get_explainer(method, model).attribute(inputs, target=1)
    for mode in ("bf16", "tf32"):
        result = get_explainer(method, model, autocast=mode).attribute(inputs, target=1)
        assert result.relevance.dtype == torch.float32 and result.logits.dtype == torch.float32
        # bf16 keeps ~3 significant digits; a guided ReLU whose gradient flips sign changes single
        # voxels a lot, so the whole map is compared (relative L2), not its worst voxel
        assert relative_l2_error(result.relevance, reference.relevance) < 0.1
    assert hook_count(model) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", METHODS)
def test_cuda_matches_cpu(method):
    model = make_model()
    inputs = make_inputs()
    cpu = get_explainer(method, model, spec=SPEC).attribute(inputs, target=1)
    model.cuda()
    gpu = get_explainer(method, model, spec=SPEC).attribute(inputs.cuda(), target=1)
    assert gpu.relevance.device.type == "cuda"
    assert relative_error(gpu.relevance.cpu(), cpu.relevance) < 1e-4
    assert hook_count(model) == 0


def _smoke(model, spec, shape):
    generator = torch.Generator().manual_seed(3)
    low, high = spec.value_range
    inputs = low.view(1, 3, 1, 1, 1) + torch.rand(shape, generator=generator) * (high - low).view(1, 3, 1, 1, 1)
    for method in METHODS:
        result = get_explainer(method, model, spec=spec).attribute(inputs)
        assert result.relevance.shape == (shape[0],) + shape[2:]
        assert torch.isfinite(result.relevance).all() and result.relevance.abs().max() > 0
        assert hook_count(model) == 0
        if method == "dtd":
            # biases are left out of every rule, so each layer hands on all of its relevance
            logit = result.logits.gather(1, result.target[:, None])[:, 0]
            assert torch.all(logit > 0)
            total = result.relevance.flatten(1).sum(1)
            torch.testing.assert_close(total, logit, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_smoke_quarter_width_c3d():
    c3d = pytest.importorskip("videoxai.models.c3d")
    torch.manual_seed(0)
    model, spec = c3d.load_c3d(random_init=True, width=0.25, num_classes=7)
    _smoke(model, spec, (1, 3, 16, 112, 112))


@pytest.mark.slow
def test_smoke_i3d_small_input(i3d_model):
    """I3D (TF SAME padding, -inf max-pool padding, concatenation, folded BN) on an 8x64x64 clip."""
    model, spec = i3d_model
    _smoke(model, spec, (1, 3, 8, 64, 64))
