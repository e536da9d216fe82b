"""torchvision's video networks (R3D-18, MC3-18, R(2+1)D-18, S3D) by name, canonized for DTD.

Random weights (no weight hub is reachable here), with BatchNorm statistics and affine
parameters set as training would leave them (one pass in train mode over random clips), so
that BatchNorm merging is exercised with non-trivial numbers and activations have a realistic
scale. Small inputs keep every test at a few seconds on a CPU; S3D needs 14 x 224 x 224.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.explain import ALL_METHODS, METHODS, get_explainer
from videoxai.explain.canonizers import canonized, unmergeable_batchnorms
from videoxai.explain.dtd import DTD
from videoxai.models import input_geometry, load

captum_attr = pytest.importorskip("captum.attr")

RESNETS = ("r3d_18", "mc3_18", "r2plus1d_18")
# S3D only runs at 224 x 224 pixels: tens of seconds per test on a CPU
S3D = pytest.param("s3d", marks=pytest.mark.slow)
SMALL = (2, 3, 8, 32, 32)  # (N, C, T, H, W) for the ResNets
S3D_SMALL = (1, 3, 14, 224, 224)  # the smallest clip S3D's final 2x7x7 pooling accepts
CLASSES = 5


def trained_like(model: nn.Module, shape, seed: int = 0) -> nn.Module:
    """Give every BatchNorm random affine parameters and the statistics of one train-mode pass."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm3d):
                module.momentum = None  # cumulative average: the statistics of exactly this pass
                module.reset_running_stats()
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.uniform_(-0.1, 0.1, generator=generator)
        model.train()
        model(clips((2,) + tuple(shape[1:]), seed + 100))
    return model.eval()


def clips(shape, seed: int = 1) -> torch.Tensor:
    """Model input inside the torchvision value range (about [-1.9, 2.7] per channel)."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def network(arch: str, seed: int = 0):
    torch.manual_seed(seed)
    model, spec = load(f"torchvision:{arch}", num_classes=CLASSES)
    shape = S3D_SMALL if arch == "s3d" else SMALL
    return trained_like(model, shape, seed), spec, shape


def hook_count(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._backward_hooks)
        + len(getattr(m, "_backward_pre_hooks", {}))
        for m in model.modules()
    )


def snapshot(model: nn.Module) -> dict:
    """Everything a canonizer could change: tensors (cloned), their identity, eps, modules, forwards."""
    return {
        "state": {key: value.clone() for key, value in model.state_dict().items()},
        "ids": {name: id(value) for name, value in model.named_parameters()},
        "eps": [module.eps for module in model.modules() if isinstance(module, nn.BatchNorm3d)],
        "modules": [name for name, _ in model.named_modules()],
        "instance_forwards": sum("forward" in vars(module) for module in model.modules()),
    }


def assert_unchanged(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert after["ids"] == before["ids"] and after["eps"] == before["eps"]
    assert after["modules"] == before["modules"] and after["instance_forwards"] == before["instance_forwards"] == 0
    assert after["state"].keys() == before["state"].keys()
    assert all(torch.equal(after["state"][key], before["state"][key]) for key in before["state"])
    assert hook_count(model) == 0


@pytest.mark.parametrize("arch", RESNETS + (S3D,))
def test_dtd_conserves_the_target_logit(arch):
    """Biases are left out of every rule (docs/explain.md), so all of the logit reaches the input."""
    model, spec, shape = network(arch)
    inputs = clips(shape)
    before = snapshot(model)
    with torch.no_grad():
        plain = model(inputs)
    result = get_explainer("dtd", model, spec=spec).attribute(inputs)
    torch.testing.assert_close(result.logits, plain, rtol=1e-4, atol=1e-5)  # the canonized model is the same function
    logit = result.logits.gather(1, result.target[:, None])[:, 0]
    assert torch.all(logit > 0)
    error = ((result.relevance.flatten(1).sum(1) - logit).abs() / logit.abs()).max().item()
    assert error < 1e-3, error
    assert result.relevance.shape == (shape[0],) + tuple(shape[2:])
    assert_unchanged(model, before)


@pytest.mark.parametrize("arch", RESNETS + (S3D,))
def test_fast_dtd_matches_zennit(arch):
    """The fast pass (the default) against zennit's composite, the oracle: BatchNorm merged,
    residual sums, in-place ReLUs, (2+1)D and separable convolutions; per clip
    max |fast − zennit| / max |zennit| < 1e-5, with bias ignored and included."""
    model, spec, shape = network(arch)
    inputs = clips(shape)
    before = snapshot(model)
    for bias in ("ignore", "include"):
        fast = get_explainer("dtd", model, spec=spec, bias=bias).attribute(inputs)
        oracle = DTD(model, spec=spec, bias=bias, implementation="zennit").attribute(inputs)
        assert torch.equal(fast.target, oracle.target)
        scale = oracle.relevance.flatten(1).abs().max(1).values
        assert torch.all(scale > 0)
        error = ((fast.relevance - oracle.relevance).flatten(1).abs().max(1).values / scale).max().item()
        assert error < 1e-5, (bias, error)
    assert_unchanged(model, before)


@pytest.mark.parametrize("arch", RESNETS)
def test_without_the_residual_canonizer_relevance_is_not_conserved(arch):
    """The plain gradient through `out += identity` copies the relevance to both summands."""
    from videoxai.explain.canonizers import ExactMergeBatchNorm

    model, spec, shape = network(arch)
    inputs = clips(shape)
    explainer = get_explainer("dtd", model, spec=spec)
    low, high = explainer.bounds_at_first_layer(inputs)
    composite = explainer.composite(low, high)
    composite.canonizers = [ExactMergeBatchNorm()]
    inputs = inputs.requires_grad_(True)
    with composite.context(model) as hooked:
        logits = hooked(inputs)
        start = torch.zeros_like(logits).scatter_(1, logits.argmax(1, keepdim=True), 1.0) * logits.detach()
        (relevance,) = torch.autograd.grad(logits, inputs, grad_outputs=start)
    logit = logits.detach().max(1).values
    assert ((relevance.flatten(1).sum(1) - logit).abs() / logit).min() > 0.05


@pytest.mark.parametrize("arch", RESNETS + (S3D,))
def test_canonizers_are_undone_also_after_an_exception(arch):
    model, spec, shape = network(arch)
    inputs = clips(shape)
    before = snapshot(model)
    with torch.no_grad():
        plain = model(inputs)
    with pytest.raises(RuntimeError, match="inside"):
        with canonized(model):
            assert all(module.eps == 0 for module in model.modules() if isinstance(module, nn.BatchNorm3d))
            sums = [name for name, _ in model.named_modules() if name.endswith("canonizer_sum")]
            assert len(sums) == (0 if arch == "s3d" else 8)  # one per residual block
            with torch.no_grad():
                torch.testing.assert_close(model(inputs), plain, rtol=1e-4, atol=1e-5)
            raise RuntimeError("failure inside the canonized block")
    assert_unchanged(model, before)
    with torch.no_grad():
        assert torch.equal(model(inputs), plain)
    # DTD failing after its forward pass (a target out of range) leaves nothing behind either
    with pytest.raises(VideoXAIError, match="target"):
        get_explainer("dtd", model, spec=spec).attribute(inputs, target=CLASSES)
    assert_unchanged(model, before)


def test_every_batchnorm_of_the_four_networks_is_merged():
    for arch in RESNETS + ("s3d",):
        model, _ = load(f"torchvision:{arch}", num_classes=CLASSES)
        assert unmergeable_batchnorms(model) == []
    stranded = nn.Sequential(nn.Conv3d(3, 4, 1), nn.ReLU(), nn.BatchNorm3d(4))
    assert unmergeable_batchnorms(stranded) == ["2"]


@pytest.mark.parametrize("arch", RESNETS)
def test_gradcam_and_guided_backprop_match_captum(arch):
    model, spec, shape = network(arch)
    inputs = clips(shape)
    gradcam = get_explainer("gradcam", model, spec=spec)
    assert gradcam.layer_name == "layer4"
    result = gradcam.attribute(inputs)
    reference = captum_attr.LayerGradCam(model, model.layer4).attribute(
        inputs, target=result.target, relu_attributions=True
    )
    reference = F.interpolate(reference, size=shape[2:], mode="trilinear", align_corners=False)[:, 0]
    assert reference.abs().max() > 0
    assert ((result.relevance - reference).abs().max() / reference.abs().max()).item() < 1e-5
    guided = get_explainer("guided_backprop", model, spec=spec).attribute(inputs, target=torch.tensor([0, 3]))
    reference = captum_attr.GuidedBackprop(model).attribute(inputs, target=torch.tensor([0, 3])).sum(1)
    assert reference.abs().max() > 0
    assert ((guided.relevance - reference).abs().max() / reference.abs().max()).item() < 1e-5
    assert hook_count(model) == 0


@pytest.mark.parametrize("method", METHODS)
def test_batch_equals_one_by_one(method):
    model, spec, shape = network("r2plus1d_18")
    inputs = clips(shape)
    batch = get_explainer(method, model, spec=spec).attribute(inputs).relevance
    single = torch.cat([get_explainer(method, model, spec=spec).attribute(clip[None]).relevance for clip in inputs])
    # convolution kernels differ with the batch size, so the float rounding does (1e-5 of the peak here)
    assert ((batch - single).abs().max() / single.abs().max()).item() < 1e-4


# cheap settings so every method runs in seconds on an 8 x 32 x 32 clip
CHEAP = {
    "occlusion": {"size": 16, "stride": 16, "temporal_size": 8, "temporal_stride": 8},
    "flow_occlusion": {"size": 16, "stride": 16, "temporal_size": 8, "temporal_stride": 8},
    "flow_occlusion_approx": {"size": 16, "stride": 16, "temporal_size": 8, "temporal_stride": 8},
    "fep": {"iterations": 2},
    "extremal_perturbation": {"iterations": 2},
}


@pytest.mark.slow
@pytest.mark.parametrize("arch", RESNETS)
def test_every_method_runs_on_the_resnets(arch):
    model, spec, shape = network(arch)
    inputs = clips((1,) + tuple(shape[1:]))
    for method in ALL_METHODS:
        result = get_explainer(method, model, spec=spec, **CHEAP.get(method, {})).attribute(inputs)
        assert result.relevance.shape == (1,) + tuple(shape[2:]), method
        assert torch.isfinite(result.relevance).all() and result.relevance.abs().max() > 0, method
        assert hook_count(model) == 0, method


def test_saliency_tubes_is_the_classifier_weighted_last_block():
    """By hand: Σ_c w_{k,c} · layer4_c, upsampled; its mean plus the bias is the logit."""
    model, spec, shape = network("r3d_18")
    inputs = clips((1,) + tuple(shape[1:]))
    result = get_explainer("saliency_tubes", model, spec=spec).attribute(inputs, target=2)
    captured = []
    handle = model.layer4.register_forward_hook(lambda module, args, output: captured.append(output))
    with torch.no_grad():
        logits = model(inputs)
    handle.remove()
    small = torch.einsum("c,cthw->thw", model.fc.weight[2], captured[0][0])
    assert torch.allclose(small.mean() + model.fc.bias[2], logits[0, 2], atol=1e-5)
    expected = F.interpolate(small[None, None], size=shape[2:], mode="trilinear", align_corners=False)[0]
    torch.testing.assert_close(result.relevance, expected.detach())


def test_loader_weights_classes_and_geometry(tmp_path):
    torch.manual_seed(3)
    original, _ = load("torchvision:r2plus1d_18", num_classes=7)
    path = tmp_path / "finetuned.pth"
    torch.save(original.state_dict(), path)
    names = tmp_path / "classes.txt"
    names.write_text("\n".join(f"action {index}" for index in range(7)) + "\n")
    model, spec = load("torchvision:r2plus1d_18", weights=path, class_names=names)  # num_classes from the file
    inputs = clips((1, 3, 8, 32, 32))
    with torch.no_grad():
        assert torch.equal(model(inputs), original(inputs))
    assert spec.class_names[6] == "action 6" and spec.num_classes == 7 and len(spec.weights_sha256) == 64
    assert (spec.num_frames, spec.size, spec.resize_hw) == (16, 112, (128, 171))
    torch.testing.assert_close(spec.value_range[0], (0 - torch.tensor(spec.mean)) / torch.tensor(spec.std))
    _, default = load("torchvision:r3d_18")
    assert default.num_classes == 400 and default.class_names[0] == "abseiling"
    for arch in RESNETS + ("s3d",):
        _, arch_spec = load(f"torchvision:{arch}", num_classes=2)
        geometry = input_geometry(f"torchvision:{arch}")
        assert (geometry["size"], tuple(geometry["resize_hw"]), geometry["resize_short_side"]) == (
            arch_spec.size,
            arch_spec.resize_hw,
            arch_spec.resize_short_side,
        )
    assert input_geometry("c3d") is None


def test_loader_errors_name_the_problem(tmp_path):
    path = tmp_path / "r3d.pth"
    torch.save(load("torchvision:r3d_18", num_classes=3)[0].state_dict(), path)
    with pytest.raises(VideoXAIError, match="weights do not fit"):
        load("torchvision:mc3_18", weights=path)  # the (2+1)D stem has other shapes
    with pytest.raises(VideoXAIError, match="wrong shapes"):
        load("torchvision:r3d_18", weights=path, num_classes=4)
    with pytest.raises(VideoXAIError, match="unknown torchvision video model"):
        load("torchvision:resnet50")
    with pytest.raises(VideoXAIError, match="takes the options"):
        load("torchvision:r3d_18", fold_batchnorm=True)
    names = tmp_path / "two.txt"
    names.write_text("a\nb\n")
    with pytest.raises(VideoXAIError, match="2 class names for a model with 3"):
        load("torchvision:r3d_18", weights=path, class_names=names)
    with pytest.raises(VideoXAIError, match="at least 14"):
        load("torchvision:s3d", num_frames=8)
    pickled = tmp_path / "model.pth"
    torch.save(load("torchvision:r3d_18", num_classes=3)[0], pickled)  # a whole module, not a state dict
    with pytest.raises(VideoXAIError, match="refused"):
        load("torchvision:r3d_18", weights=pickled)


@pytest.mark.slow
def test_cli_explains_with_a_saved_r2plus1d_18(tmp_path, capsys):
    import cv2
    import numpy as np

    from videoxai.cli import main

    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    for index in range(20):
        frame = np.full((120, 160, 3), 30, dtype=np.uint8)
        frame[40:80, 10 + 4 * index : 50 + 4 * index] = 230
        writer.write(frame)
    writer.release()
    torch.manual_seed(0)
    weights = tmp_path / "w.pth"
    torch.save(load("torchvision:r2plus1d_18", num_classes=4)[0].state_dict(), weights)
    out = tmp_path / "x.mp4"
    code = main(
        [
            "explain",
            str(video),
            "--model",
            "torchvision:r2plus1d_18",
            "--weights",
            str(weights),
            "--method",
            "dtd",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "1 clip(s) x 16 frames, method dtd" in capsys.readouterr().out
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 16
    capture.release()


def test_batchnorms_that_cannot_be_merged_are_named():
    assert unmergeable_batchnorms(nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4, affine=False)).eval()) == ["1"]
    assert unmergeable_batchnorms(nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4)).train()) == ["1"]
    spec = load("torchvision:r3d_18", num_classes=2)[1]
    with pytest.raises(VideoXAIError, match=r"cannot be merged; call model.eval\(\)"):
        get_explainer("dtd", load("torchvision:r3d_18", num_classes=2)[0].train(), spec=spec)


def test_dtd_merging_batchnorm_equals_dtd_on_the_folded_i3d():
    """The canonizer's merge against the I3D loader's own fold, on random BatchNorm statistics."""
    from videoxai.models.i3d import InceptionI3d, fold_batchnorm

    torch.manual_seed(0)
    unfolded = InceptionI3d(num_classes=CLASSES, batch_norm=True).eval()
    with torch.no_grad():
        for module in unfolded.modules():
            if isinstance(module, nn.BatchNorm3d):
                module.bias.uniform_(-0.5, 0.5)
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    folded = fold_batchnorm(unfolded).eval()
    inputs = torch.rand(1, 3, 8, 64, 64) * 2 - 1
    merged = get_explainer("dtd", unfolded, low=-1.0, high=1.0).attribute(inputs, target=1)
    reference = get_explainer("dtd", folded, low=-1.0, high=1.0).attribute(inputs, target=1)
    assert ((merged.relevance - reference.relevance).abs().max() / reference.relevance.abs().max()).item() < 1e-3
    assert hook_count(unfolded) == 0 and all(
        module.eps == 1e-3 for module in unfolded.modules() if isinstance(module, nn.BatchNorm3d)
    )
