"""The paper's methods from one shared forward pass equal each method's own ``attribute``."""

from __future__ import annotations

import pytest
import torch
from test_dtd_fast import NegativeInputNet, instance_forwards, worst_relative_error
from test_explain import SPEC, hook_count, make_inputs, make_model
from torch import nn

from videoxai.explain import METHODS, get_explainer
from videoxai.explain.shared import explain_together, joining

TOLERANCE = 1e-6  # the same operations on the same activations: only the order of a few sums differs


def compare(model, spec, inputs, target=None, methods=METHODS, **options):
    explainers = {method: get_explainer(method, model, spec=spec, **options.get(method, {})) for method in methods}
    together = explain_together(explainers, inputs, target=target)
    alone = {method: explainers[method].attribute(inputs, target=target) for method in together}
    for method, result in together.items():
        reference = alone[method]
        assert torch.equal(result.target, reference.target), method
        torch.testing.assert_close(result.logits, reference.logits, rtol=0, atol=0)
        assert reference.relevance.abs().max() > 0, method
        assert result.relevance.shape == reference.relevance.shape and result.method == method
        assert worst_relative_error(result.relevance, reference.relevance) < TOLERANCE, method
        assert result.seconds > 0
    assert hook_count(model) == 0 and instance_forwards(model) == 0
    assert all(parameter.grad is None for parameter in model.parameters())
    return together


@pytest.mark.parametrize("padded_stem", [False, True])
def test_tiny_network_all_four(padded_stem):
    together = compare(make_model(padded_stem=padded_stem), SPEC, make_inputs())
    assert set(together) == set(METHODS)


def test_given_targets_and_bias_include():
    model = make_model()
    together = compare(model, SPEC, make_inputs(), target=torch.tensor([4, 0, 2]), dtd={"bias": "include"})
    assert together["dtd"].target.tolist() == [4, 0, 2]


def test_other_activations_and_own_forwards():
    """ELU (plain gradient, Pass in LRP), a convolution subclass with its own forward, adaptive pooling."""
    torch.manual_seed(4)
    model = NegativeInputNet().eval()
    together = compare(
        model, SPEC, make_inputs(), methods=METHODS, gradcam={"layer": "relu"}, guided_gradcam={"layer": "relu"}
    )
    assert set(together) == set(METHODS)


def test_who_joins():
    model = make_model()
    explainers = {method: get_explainer(method, model, spec=SPEC) for method in METHODS}
    assert joining(explainers) == list(METHODS)
    explainers["gradcam"] = get_explainer("gradcam", model, autocast="bf16")
    explainers["dtd"].implementation = "zennit"
    assert joining(explainers) == ["guided_backprop", "guided_gradcam"]
    assert joining({"gradcam": get_explainer("gradcam", model)}) == []  # nothing to share
    other = make_model(seed=3)
    assert joining({"gradcam": get_explainer("gradcam", model), "dtd": get_explainer("dtd", other, spec=SPEC)}) == []
    with_batchnorm = nn.Sequential(nn.Conv3d(3, 4, 3), nn.BatchNorm3d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    explainers = {method: get_explainer(method, with_batchnorm.eval(), spec=SPEC) for method in ("dtd", "gradcam")}
    assert joining(explainers) == []  # DTD would merge the BatchNorm, which the others must not see


def test_c3d():
    c3d = pytest.importorskip("videoxai.models.c3d")
    torch.manual_seed(0)
    model, spec = c3d.load_c3d(random_init=True, width=0.125, num_classes=7)
    low, high = spec.value_range
    inputs = low.view(1, 3, 1, 1, 1) + torch.rand(2, 3, 16, 112, 112) * (high - low).view(1, 3, 1, 1, 1)
    assert set(compare(model, spec, inputs)) == set(METHODS)


def test_i3d():
    from videoxai.models.i3d import InceptionI3d

    torch.manual_seed(0)
    model = InceptionI3d(num_classes=5).eval()
    inputs = torch.rand(2, 3, 8, 64, 64) * 2 - 1
    together = compare(model, None, inputs, dtd={"low": -1.0, "high": 1.0})
    assert set(together) == set(METHODS)


def test_a_call_the_rules_cannot_take_leaves_every_method_to_the_caller():
    from test_dtd_fast import KeywordNet

    torch.manual_seed(1)
    model = KeywordNet().eval()
    explainers = {method: get_explainer(method, model, spec=SPEC, layer="stem") for method in ("gradcam",)}
    explainers["dtd"] = get_explainer("dtd", model, spec=SPEC)
    assert joining(explainers) == ["gradcam", "dtd"]
    assert explain_together(explainers, make_inputs()) == {}
    assert hook_count(model) == 0 and instance_forwards(model) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_all_four():
    model = make_model().cuda()
    assert set(compare(model, SPEC, make_inputs().cuda())) == set(METHODS)
