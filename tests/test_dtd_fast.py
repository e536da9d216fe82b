"""The fast DTD pass against zennit's, the reference implementation (the oracle), layer type by layer type.

Agreement is measured per clip as max |fast − zennit| / max |zennit| and must stay below 1e-5
(float rounding: the two compute the same terms in the same order, but the fast pass computes the
z^B bounds term at batch size 1 and leaves out exact zeros).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_explain import SPEC, TinyNet, hook_count, make_inputs, make_model
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.explain.dtd import DTD

TOLERANCE = 1e-5


def worst_relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """max over clips of max |value − reference| / max |reference|, for relevance ``(N, T, H, W)``."""
    scale = reference.flatten(1).abs().max(1).values.clamp_min(1e-30)
    return ((value - reference).flatten(1).abs().max(1).values / scale).max().item()


def fast_and_oracle(model, inputs, target=None, **options):
    fast = DTD(model, **options).attribute(inputs, target=target)
    oracle = DTD(model, implementation="zennit", **options).attribute(inputs, target=target)
    assert torch.equal(fast.target, oracle.target)
    torch.testing.assert_close(fast.logits, oracle.logits, rtol=1e-6, atol=1e-6)
    assert oracle.relevance.abs().max() > 0
    return fast, oracle


def instance_forwards(model: nn.Module) -> int:
    return sum("forward" in vars(module) for module in model.modules())


@pytest.mark.parametrize("bias", ["ignore", "include"])
@pytest.mark.parametrize("padded_stem", [False, True])
def test_tiny_network_matches_zennit(bias, padded_stem):
    """Conv3d, ReLU, max and average pooling, concatenation, F.pad, Linear; biases of both signs."""
    model = make_model(padded_stem=padded_stem)
    fast, oracle = fast_and_oracle(model, make_inputs(), spec=SPEC, bias=bias)
    assert worst_relative_error(fast.relevance, oracle.relevance) < TOLERANCE
    assert hook_count(model) == 0 and instance_forwards(model) == 0


def test_the_options_reach_the_fast_pass():
    """Another stabiliser and bounds change the map the same way in both implementations."""
    model = make_model()
    inputs = make_inputs() * 0.5
    fast, oracle = fast_and_oracle(model, inputs, target=torch.tensor([1, 4, 0]), low=-0.5, high=0.5, stabilizer=0.1)
    assert worst_relative_error(fast.relevance, oracle.relevance) < TOLERANCE
    default = DTD(model, spec=SPEC).attribute(inputs, target=torch.tensor([1, 4, 0]))
    assert worst_relative_error(default.relevance, fast.relevance) > 1e-3


class NegativeInputNet(nn.Module):
    """Two convolutions with no ReLU between them, so the second's input has negative values (the
    x⁻·w⁻ terms of z+), an ELU (Pass), an adaptive average pool (Norm), and a convolution subclass
    with its own forward (the rule through autograd on that forward)."""

    class PaddedConv(nn.Conv3d):
        def forward(self, inputs):
            return super().forward(F.pad(inputs, (1, 1, 1, 1, 0, 0), value=0.25))

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv3d(3, 4, 3, padding=1)
        self.mix = nn.Conv3d(4, 5, 3, padding=1)
        self.act = nn.ELU()
        self.own = self.PaddedConv(5, 6, (1, 3, 3))
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool3d((2, 2, 2))
        self.head = nn.Linear(6 * 8, 5)

    def forward(self, inputs):
        hidden = self.relu(self.own(self.act(self.mix(self.stem(inputs)))))
        return self.head(self.pool(hidden).flatten(1))


@pytest.mark.parametrize("bias", ["ignore", "include"])
def test_negative_inputs_other_activations_and_own_forwards_match_zennit(bias):
    torch.manual_seed(4)
    model = NegativeInputNet().eval()
    inputs = make_inputs()
    captured = []
    handle = model.mix.register_forward_hook(lambda module, args, output: captured.append(args[0]))
    with torch.no_grad():
        model(inputs)
    handle.remove()
    assert captured[0].min() < 0 < captured[0].max()  # the x⁻ terms are exercised
    fast, oracle = fast_and_oracle(model, inputs, target=1, spec=SPEC, bias=bias)
    assert worst_relative_error(fast.relevance, oracle.relevance) < TOLERANCE
    assert hook_count(model) == 0 and instance_forwards(model) == 0


def test_changed_weights_invalidate_the_cached_positive_weights():
    model = make_model()
    inputs = make_inputs()
    explainer = DTD(model, spec=SPEC)
    before = explainer.attribute(inputs, target=2).relevance
    cached = dict(explainer.cache.tensors)
    again = explainer.attribute(inputs, target=2).relevance
    assert torch.equal(before, again)
    assert all(explainer.cache.tensors[key] is value for key, value in cached.items())  # reused, not rebuilt
    with torch.no_grad():
        model.conv3.weight.mul_(-1.0)  # in place: same storage, new version
    changed = explainer.attribute(inputs, target=2).relevance
    oracle = DTD(model, spec=SPEC, implementation="zennit").attribute(inputs, target=2).relevance
    assert worst_relative_error(changed, oracle) < TOLERANCE
    assert worst_relative_error(changed, before) > 1e-2
    model.fc1.weight = nn.Parameter(torch.randn_like(model.fc1.weight))  # a new tensor
    replaced = explainer.attribute(inputs, target=2).relevance
    oracle = DTD(model, spec=SPEC, implementation="zennit").attribute(inputs, target=2).relevance
    assert worst_relative_error(replaced, oracle) < TOLERANCE


def test_the_model_is_left_as_it_was_also_after_an_exception():
    model = make_model()
    state = {key: value.clone() for key, value in model.state_dict().items()}
    with pytest.raises(VideoXAIError, match="target"):
        DTD(model, spec=SPEC).attribute(make_inputs(), target=7)
    with pytest.raises(RuntimeError):
        DTD(model, spec=SPEC).attribute(torch.zeros(1, 3, 6, 10, 10))  # fails inside fc1
    assert hook_count(model) == 0 and instance_forwards(model) == 0
    assert all(torch.equal(value, state[key]) for key, value in model.state_dict().items())
    assert all(parameter.grad is None for parameter in model.parameters())


def test_unknown_implementation_is_refused():
    with pytest.raises(VideoXAIError, match="implementation"):
        DTD(TinyNet(), spec=SPEC, implementation="captum")


def test_c3d_matches_zennit():
    c3d = pytest.importorskip("videoxai.models.c3d")
    torch.manual_seed(0)
    model, spec = c3d.load_c3d(random_init=True, width=0.125, num_classes=7)
    low, high = spec.value_range
    generator = torch.Generator().manual_seed(2)
    inputs = low.view(1, 3, 1, 1, 1) + torch.rand((2, 3, 16, 112, 112), generator=generator) * (high - low).view(
        1, 3, 1, 1, 1
    )
    fast, oracle = fast_and_oracle(model, inputs, spec=spec)
    assert worst_relative_error(fast.relevance, oracle.relevance) < TOLERANCE


@pytest.mark.parametrize("batch_norm", [False, True])
def test_i3d_matches_zennit(batch_norm):
    """Random I3D (TF SAME padding, -inf max-pool padding, Inception concatenation, the clamped
    average pool and the mean over positions), folded or with BatchNorm the canonizer merges."""
    from videoxai.models.i3d import InceptionI3d

    torch.manual_seed(0)
    model = InceptionI3d(num_classes=5, batch_norm=batch_norm).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm3d):
                module.bias.uniform_(-0.5, 0.5)
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    inputs = torch.rand(2, 3, 8, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    fast, oracle = fast_and_oracle(model, inputs, target=torch.tensor([0, 3]), low=-1.0, high=1.0)
    assert worst_relative_error(fast.relevance, oracle.relevance) < TOLERANCE
    assert hook_count(model) == 0 and instance_forwards(model) == 0


class KeywordConv(nn.Conv3d):
    def forward(self, inputs, scale=1.0):
        return super().forward(inputs) * scale


class KeywordNet(nn.Module):
    """A convolution called with a keyword argument, which the fast pass does not take over."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv3d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv = KeywordConv(4, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, inputs):
        hidden = self.relu(self.conv(self.relu(self.stem(inputs)), scale=2.0))
        return self.head(hidden.mean(dim=(2, 3, 4)))


def test_a_call_the_fast_pass_cannot_take_falls_back_to_zennit():
    torch.manual_seed(1)
    model = KeywordNet().eval()
    inputs = make_inputs()
    with pytest.warns(UserWarning, match=r"\['conv'\].*zennit"):
        fast = DTD(model, spec=SPEC).attribute(inputs, target=0)
    oracle = DTD(model, spec=SPEC, implementation="zennit").attribute(inputs, target=0)
    assert oracle.relevance.abs().max() > 0
    assert torch.equal(fast.relevance, oracle.relevance)
    assert hook_count(model) == 0 and instance_forwards(model) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fast_pass_matches_zennit_and_the_cpu():
    model = make_model()
    inputs = make_inputs()
    cpu = DTD(model, spec=SPEC).attribute(inputs, target=1)
    model.cuda()
    fast, oracle = fast_and_oracle(model, inputs.cuda(), target=1, spec=SPEC)
    assert fast.relevance.device.type == "cuda"
    assert worst_relative_error(fast.relevance, oracle.relevance) < TOLERANCE
    assert worst_relative_error(fast.relevance.cpu(), cpu.relevance) < 1e-4
