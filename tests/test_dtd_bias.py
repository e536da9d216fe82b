"""DTD's two bias conventions on a network small enough to compute by hand."""

import pytest
import torch
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.explain.dtd import DTD


def _net(head_bias: float) -> nn.Module:
    """Conv3d(1 -> 2, kernel = the whole 2x2x2 clip) -> ReLU -> flatten -> Linear(2 -> 2).

    Conv weights 0.1 and biases (0.2, -0.1) make both hidden units positive on inputs in [0, 1];
    the target row of the linear layer has positive weights (1, 2) and bias ``head_bias``.
    """
    torch.manual_seed(0)
    conv = nn.Conv3d(1, 2, kernel_size=2)
    head = nn.Linear(2, 2)
    with torch.no_grad():
        conv.weight.fill_(0.1)
        conv.bias.copy_(torch.tensor([0.2, -0.1]))
        head.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, 0.5]]))
        head.bias.copy_(torch.tensor([head_bias, 0.0]))
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten(), head).eval()


CLIP = torch.linspace(0.05, 0.95, 8).reshape(1, 1, 2, 2, 2)  # sum 4.0


def _hidden_and_logit(head_bias: float) -> tuple[torch.Tensor, float]:
    hidden = torch.relu(0.1 * CLIP.sum() + torch.tensor([0.2, -0.1]))  # (0.6, 0.3)
    return hidden, float(hidden @ torch.tensor([1.0, 2.0]) + head_bias)


@pytest.mark.parametrize("head_bias", [0.8, 0.0])
def test_ignore_conserves_the_logit(head_bias):
    hidden, logit = _hidden_and_logit(head_bias)
    result = DTD(_net(head_bias), low=0.0, high=1.0, bias="ignore").attribute(CLIP, target=0)
    assert logit == pytest.approx(1.2 + head_bias, abs=1e-6)
    assert float(result.logits[0, 0]) == pytest.approx(logit, abs=1e-5)
    assert float(result.relevance.sum()) == pytest.approx(logit, rel=1e-4)


def test_include_loses_the_positive_bias_share():
    # Positive weights: z+ of the target = 0.6 * 1 + 0.3 * 2 = 1.2, plus the bias 0.8 = the logit 2.0.
    # The bias keeps 0.8 / 2.0 of the relevance 2.0, so the hidden units (and, z^B conserving,
    # the input) get 2.0 * 1.2 / 2.0 = 1.2: the logit minus the bias.
    result = DTD(_net(0.8), low=0.0, high=1.0, bias="include").attribute(CLIP, target=0)
    assert float(result.logits[0, 0]) == pytest.approx(2.0, abs=1e-5)
    assert float(result.relevance.sum()) == pytest.approx(1.2, rel=1e-4)


def test_include_ignores_negative_biases_and_the_first_layer_bias():
    # A negative head bias is clamped out of z+, and the first (z^B) layer's bias cancels under
    # both conventions: the two give the same map.
    net = _net(-0.5)
    ignore = DTD(net, low=0.0, high=1.0, bias="ignore").attribute(CLIP, target=0)
    include = DTD(net, low=0.0, high=1.0, bias="include").attribute(CLIP, target=0)
    assert torch.allclose(ignore.relevance, include.relevance, atol=1e-6)
    assert float(include.relevance.sum()) == pytest.approx(0.7, rel=1e-4)


def test_include_distributes_like_ignore_only_scaled():
    # One output neuron with a positive bias: include is ignore times z+ / (z+ + b+) everywhere.
    ignore = DTD(_net(0.8), low=0.0, high=1.0, bias="ignore").attribute(CLIP, target=0).relevance
    include = DTD(_net(0.8), low=0.0, high=1.0, bias="include").attribute(CLIP, target=0).relevance
    assert torch.allclose(include, ignore * 1.2 / 2.0, atol=1e-6)


def test_unknown_bias_convention_is_refused():
    with pytest.raises(VideoXAIError, match="bias"):
        DTD(_net(0.0), low=0.0, high=1.0, bias="zennit")
