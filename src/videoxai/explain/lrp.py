"""DTD's LRP pass at about the cost of a gradient: one forward, one backward with rules per layer.

zennit attaches a rule to a layer with hooks: the layer's own backward still runs, and the rule
then re-runs the layer once per term with freshly modified parameters (z+: two forward and two
backward convolutions, z^B: three of each, the bounds term at the batch size) and replaces the
gradient. Here each rule is a ``torch.autograd.Function`` that *is* the layer's backward, so per
layer the pass costs the layer's forward, one forward with the positive weights (z) and one
backward-data convolution, nothing else:

* z+ (``ZPlus``): ``z = x⁺·w⁺ (+ b⁺ with bias "include") + x⁻·w⁻``, ``s = R / stabilise(z)``,
  ``R_in = x⁺·(w⁺ᵀ s) + x⁻·(w⁻ᵀ s)``; the x⁻ terms only where the input has negative values
  (after a ReLU it has none, and then they are exactly zero);
* z^B (``ZBox``, first layer): ``z = x·w − (l·w⁺ + h·w⁻)``, where the bracket depends only on
  the bounds and is computed once per input shape, at batch size 1; the three backward terms
  ``wᵀs, w⁺ᵀs, w⁻ᵀs`` come from one backward convolution with the three weights stacked;
* Norm (average pools, residual ``Sum``): ``R_in = x · ∂f/∂x ᵀ (R / stabilise(f(x)))``;
* Pass (activations): the relevance goes through unchanged;
* every other operation (max pooling, concatenation, padding, flatten, mean): its gradient.

That is zennit's arithmetic term by term (same stabiliser ``z + ε·sign(z)`` with sign(0) = 1,
same order of sums), so the maps agree with zennit's to float rounding; the tests keep zennit
as the oracle. The positive and negative parts of the weights are computed once per explainer
and reused until a parameter or buffer of the model changes (its storage or its version counter).

For the duration of a pass, each mapped module's ``forward`` is replaced by an instance
attribute that applies its rule; :func:`rules_attached` always restores them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from zennit.layer import Sum
from zennit.types import Activation, AvgPool, Convolution

_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def stabilise_(denominator: torch.Tensor, epsilon: float) -> torch.Tensor:
    """zennit's default stabiliser in place: ``z + ε`` where ``z >= 0``, ``z − ε`` where ``z < 0``."""
    return denominator.add_(torch.where(denominator < 0, -epsilon, epsilon))


def _plain_convolution(module: nn.Module) -> bool:
    """A ``Conv1d/2d/3d`` (or a subclass such as torchvision's ``Conv3DSimple``) that computes
    what the base class does, with integer padding and zero padding mode, so that its forward and
    backward-data are single ``aten`` calls with the module's geometry."""
    base = next((kind for kind in _CONVOLUTIONS if isinstance(module, kind)), None)
    return (
        base is not None
        and type(module).forward is base.forward
        and type(module)._conv_forward is base._conv_forward
        and module.padding_mode == "zeros"
        and not isinstance(module.padding, str)
    )


def _plain_linear(module: nn.Module) -> bool:
    return isinstance(module, nn.Linear) and type(module).forward is nn.Linear.forward


def _mkldnn_transposed_convolution() -> Callable | None:
    """oneDNN's transposed convolution (what a convolution's backward-data is), if this torch has it."""
    try:
        return torch.ops.mkldnn._convolution_transpose_pointwise
    except (AttributeError, RuntimeError):
        return None


_MKLDNN_TRANSPOSED = _mkldnn_transposed_convolution()


def _use_onednn(module: nn.Module, tensor: torch.Tensor) -> bool:
    """Whether the LRP pass computes this layer's z and backward-data with oneDNN directly.

    On the CPU, torch picks its own slow im2col kernels for 3x3x3 convolutions of one small clip
    (its heuristic predates 3D: e.g. C3D's conv1, conv4a, conv5a/b at batch 1, 2-4x slower than
    oneDNN here). The maps change only by float rounding (the tests compare with zennit's).
    """
    return (
        _MKLDNN_TRANSPOSED is not None
        and tensor.device.type == "cpu"
        and tensor.dtype == torch.float32
        and tensor.ndim == 5
        and torch.backends.mkldnn.is_available()
        and _plain_convolution(module)
    )


def _convolve(module: nn.Module, inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
    """``module``'s forward with ``weight``/``bias``, through oneDNN where :func:`_use_onednn`."""
    if _use_onednn(module, inputs):
        return torch.ops.aten.mkldnn_convolution(
            inputs.contiguous(), weight, bias, module.padding, module.stride, module.dilation, module.groups
        )
    return _forward_with(module, inputs, weight, bias)


def _transposed(module: nn.Module, relevance: torch.Tensor, inputs, weight: torch.Tensor) -> torch.Tensor:
    """:func:`_backward_data` (``inputs``: the input or its shape), through oneDNN where :func:`_use_onednn`."""
    if not _use_onednn(module, relevance):
        return _backward_data(module, relevance, inputs, weight)
    input_shape = inputs.shape if isinstance(inputs, torch.Tensor) else inputs
    kernel = weight.shape[2:]
    output_padding = [
        size - ((out - 1) * stride - 2 * pad + dilation * (k - 1) + 1)
        for size, out, stride, pad, dilation, k in zip(
            input_shape[2:], relevance.shape[2:], module.stride, module.padding, module.dilation, kernel
        )
    ]
    return _MKLDNN_TRANSPOSED(
        relevance.contiguous(),
        weight,
        None,
        list(module.padding),
        output_padding,
        list(module.stride),
        list(module.dilation),
        module.groups,
        "none",
        [],
        None,
    )


def _forward_with(
    module: nn.Module,
    inputs: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    original: Callable | None = None,
) -> torch.Tensor:
    """``module``'s forward on ``inputs`` with other parameter values (no change to the module);
    ``original``: its forward without a rule, for modules that are not plain layers."""
    if _plain_convolution(module):
        convolution = (F.conv1d, F.conv2d, F.conv3d)[inputs.ndim - 3]
        return convolution(inputs, weight, bias, module.stride, module.padding, module.dilation, module.groups)
    if _plain_linear(module):
        return F.linear(inputs, weight, bias)
    parameters = {"weight": weight}
    if getattr(module, "bias", None) is not None:
        parameters["bias"] = bias if bias is not None else torch.zeros_like(module.bias)
    with _own_forward(module, original or module.forward):
        return torch.func.functional_call(module, parameters, (inputs,))


@contextmanager
def _own_forward(module: nn.Module, original: Callable) -> Iterator[None]:
    """Calls of ``module`` inside the block run ``original``, its forward without the rule (a rule
    that re-runs its module through ``functional_call`` would otherwise recurse)."""
    with_rule = module.__dict__.get("forward")
    module.forward = original
    try:
        yield
    finally:
        if with_rule is None:
            del module.forward
        else:
            module.forward = with_rule


def _backward_data(module: nn.Module, relevance: torch.Tensor, inputs, weight: torch.Tensor) -> torch.Tensor:
    """``∂(module with weight)/∂x ᵀ · relevance`` for a plain convolution or linear layer, where x is
    ``inputs`` (the layer's input) or has the shape ``inputs``."""
    if _plain_linear(module):
        return relevance.matmul(weight)
    if not isinstance(inputs, torch.Tensor):  # only the shape matters for the data gradient
        inputs = relevance.new_empty(1).expand(inputs)
    return torch.ops.aten.convolution_backward(
        relevance,
        inputs,
        weight,
        None,
        list(module.stride),
        list(module.padding),
        list(module.dilation),
        False,
        [0] * (relevance.ndim - 2),
        module.groups,
        [True, False, False],
    )[0]


def _generic_backward(
    rule: Rule,
    terms: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]],
    relevance: torch.Tensor,
    subtract_after_first: bool = False,
) -> torch.Tensor:
    """The rule for any module through autograd on its own forward: ``terms`` are (input, weight,
    bias) triples; z is their outputs' sum (or the first minus the rest, for z^B)."""
    with torch.enable_grad():
        inputs = [term_input.detach().requires_grad_(True) for term_input, _, _ in terms]
        outputs = [_forward_with(rule.module, x, w, b, rule.original) for x, (_, w, b) in zip(inputs, terms)]
        if subtract_after_first:
            z = outputs[0] - sum(outputs[1:])
        else:
            z = sum(outputs)
        scaled = relevance / stabilise_(z.detach().clone(), rule.epsilon)
        gradients = torch.autograd.grad(outputs, inputs, grad_outputs=[scaled] * len(outputs))
    products = [x.detach() * gradient for x, gradient in zip(inputs, gradients)]
    if subtract_after_first:
        return products[0] - sum(products[1:])
    return sum(products)


@dataclass
class ParameterCache:
    """Modified parameters (w⁺, w⁻, b⁺, stacked z^B weights, the z^B bounds term) per module name,
    valid while the model's parameters and buffers are the tensors, at the versions, they were
    when the cache was filled."""

    key: tuple = ()
    tensors: dict = field(default_factory=dict)

    @staticmethod
    def key_of(model: nn.Module) -> tuple:
        """Identity of every parameter and buffer's current values: storage, version, shape, dtype."""
        return tuple(
            (name, tensor.data_ptr(), tensor._version, tuple(tensor.shape), tensor.dtype, tensor.device)
            for name, tensor in (*model.named_parameters(), *model.named_buffers())
        )

    def validate(self, model: nn.Module) -> None:
        key = self.key_of(model)
        if key != self.key:
            self.key, self.tensors = key, {}

    def get(self, name: str, what, compute: Callable[[], object]):
        entry = (name, what)
        if entry not in self.tensors:
            with torch.no_grad():
                self.tensors[entry] = compute()
        return self.tensors[entry]


class PassState:
    """Shared by the rules of one forward pass: what their backward computes.

    ``mode`` is ``"lrp"`` (each rule's relevance), ``"gradient"`` (each layer's plain gradient) or
    ``"guided"`` (the gradient with guided ReLUs); a forward pass recorded with ``gradients=True``
    keeps what the two gradient modes need, so that one forward serves several backward passes.
    ``unsupported`` names the mapped modules whose call the rules could not take over.
    """

    def __init__(self, gradients: bool = False):
        self.mode = "lrp"
        self.gradients = gradients
        self.unsupported: list[str] = []


class Rule:
    """One layer's backward: its LRP rule, or (with ``state.gradients``) its gradient.

    ``needs_input`` / ``needs_output``: what the layer keeps from its forward for that.
    """

    needs_input = True
    needs_output = False

    def __init__(self, name: str, module: nn.Module, cache: ParameterCache, epsilon: float, state: PassState):
        self.name, self.module, self.cache, self.epsilon, self.state = name, module, cache, epsilon, state
        self.original: Callable = module.forward  # the module's forward without the rule

    def relevance(self, inputs: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def gradient(self, inputs, outputs, gradient: torch.Tensor, guided: bool) -> torch.Tensor:
        """The layer's own gradient (guided backprop changes only ReLUs), through autograd on its forward."""
        with torch.enable_grad():
            leaf = inputs.detach().requires_grad_(True)
            (result,) = torch.autograd.grad(self.original(leaf), leaf, grad_outputs=gradient)
        return result


class PassRule(Rule):
    """Activations: relevance passes unchanged; in the gradient modes, the activation's gradient, with
    guided backprop's ``· (upstream > 0)`` on ReLUs (zennit's ``ReLUGuidedBackprop``, which matches
    ``nn.ReLU`` and its subclasses)."""

    def __init__(self, name, module, cache, epsilon, state):
        super().__init__(name, module, cache, epsilon, state)
        self.guided = isinstance(module, nn.ReLU)
        self.plain_relu = self.guided and type(module).forward is nn.ReLU.forward
        self.needs_output = state.gradients and self.plain_relu
        self.needs_input = state.gradients and not self.plain_relu

    def relevance(self, inputs, relevance):
        return relevance

    def gradient(self, inputs, outputs, gradient, guided):
        if self.plain_relu:  # what autograd's ReLU backward computes, from the output
            result = torch.ops.aten.threshold_backward(gradient, outputs, 0)
        else:
            result = super().gradient(inputs, outputs, gradient, guided)
        return result * (gradient > 0) if guided and self.guided else result


class NormRule(Rule):
    """``R_in = x · ∂f/∂x ᵀ (R / stabilise(f(x)))`` for a parameter-free ``f`` (pools, sums)."""

    def relevance(self, inputs, relevance):
        with torch.enable_grad():
            leaf = inputs.detach().requires_grad_(True)
            z = self.original(leaf)
            scaled = relevance / stabilise_(z.detach().clone(), self.epsilon)
            (gradient,) = torch.autograd.grad(z, leaf, grad_outputs=scaled)
        return inputs * gradient  # the gradient of a sum is an expanded view: no in-place


class _WeightedRule(Rule):
    """Convolutions and linear layers: the positive and negative weights, cached; their gradient."""

    def weights(self, which: str) -> torch.Tensor:
        weight = self.module.weight
        if which == "+":
            return self.cache.get(self.name, "w+", lambda: weight.detach().clamp(min=0))
        return self.cache.get(self.name, "w-", lambda: weight.detach().clamp(max=0))

    def plain(self) -> bool:
        return _plain_convolution(self.module) or _plain_linear(self.module)

    def gradient(self, inputs, outputs, gradient, guided):
        if not self.plain():
            return super().gradient(inputs, outputs, gradient, guided)
        return _backward_data(self.module, gradient, inputs, self.module.weight.detach())


class ZPlusRule(_WeightedRule):
    """z+ with biases left out (``include_bias=False``) or their positive part in z."""

    def __init__(self, name, module, cache, epsilon, state, include_bias: bool):
        super().__init__(name, module, cache, epsilon, state)
        self.include_bias = include_bias

    def _positive_bias(self) -> torch.Tensor | None:
        bias = getattr(self.module, "bias", None)
        if not self.include_bias or bias is None:
            return None
        return self.cache.get(self.name, "b+", lambda: bias.detach().clamp(min=0))

    def relevance(self, inputs, relevance):
        positive_weight, positive_bias = self.weights("+"), self._positive_bias()
        has_negative = bool(inputs.amin() < 0)
        if not self.plain():
            terms = [(inputs.clamp(min=0), positive_weight, positive_bias)]
            if has_negative:
                terms.append((inputs.clamp(max=0), self.weights("-"), None))
            return _generic_backward(self, terms, relevance)
        positive_input = inputs.clamp(min=0) if has_negative else inputs
        z = _convolve(self.module, positive_input, positive_weight, positive_bias)
        if has_negative:
            negative_input = inputs.clamp(max=0)
            z = z + _convolve(self.module, negative_input, self.weights("-"), None)
        # every term of z+ is >= 0 (x⁺w⁺, b⁺, x⁻w⁻), so the stabiliser adds +ε everywhere
        scaled = torch.div(relevance, z.add_(self.epsilon), out=z)
        result = _transposed(self.module, scaled, inputs, positive_weight).mul_(positive_input)
        if has_negative:
            result += _transposed(self.module, scaled, inputs, self.weights("-")).mul_(negative_input)
        return result


class ZBoxRule(_WeightedRule):
    """z^B for the first layer with bounds ``low``/``high`` shaped like its input, batch size 1."""

    def __init__(self, name, module, cache, epsilon, state, low: torch.Tensor, high: torch.Tensor):
        super().__init__(name, module, cache, epsilon, state)
        self.low, self.high = low, high

    def relevance(self, inputs, relevance):
        weight = self.module.weight.detach()
        positive, negative = self.weights("+"), self.weights("-")
        low, high = self.low.to(inputs), self.high.to(inputs)
        if not _plain_convolution(self.module) or self.module.groups != 1:
            terms = [(inputs, weight, None), (low.expand_as(inputs), positive, None)]
            terms.append((high.expand_as(inputs), negative, None))
            return _generic_backward(self, terms, relevance, subtract_after_first=True)
        shape_key = ("bounds", tuple(inputs.shape[1:]), inputs.device, inputs.dtype)
        bounds_term = self.cache.get(
            self.name,
            shape_key,
            lambda: _forward_with(self.module, low, positive, None) + _forward_with(self.module, high, negative, None),
        )
        z = _convolve(self.module, inputs, weight, None).sub_(bounds_term)
        scaled = torch.div(relevance, stabilise_(z, self.epsilon), out=z)
        # one backward convolution for the three terms: their weights stacked along input channels
        stacked = self.cache.get(self.name, "w,w+,w-", lambda: torch.cat([weight, positive, negative], dim=1))
        channels = inputs.shape[1]
        shape = (inputs.shape[0], 3 * channels, *inputs.shape[2:])
        gradients = _transposed(self.module, scaled, shape, stacked)
        through_input, through_low, through_high = gradients.split(channels, dim=1)
        return through_input.mul_(inputs).sub_(through_low.mul_(low).add_(through_high.mul_(high)))


class _ApplyRule(torch.autograd.Function):
    """Forward: the module's own forward. Backward: the module's rule (or gradient) instead of autograd's."""

    @staticmethod
    def forward(ctx, inputs, rule: Rule, forward: Callable):
        outputs = forward(inputs)
        ctx.rule = rule
        in_place = outputs is inputs  # an in-place activation (torchvision's ReLU(inplace=True))
        if in_place:
            ctx.mark_dirty(inputs)
        ctx.save_for_backward(
            inputs if rule.needs_input and not in_place else None, outputs if rule.needs_output else None
        )
        return outputs

    @staticmethod
    def backward(ctx, upstream):
        inputs, outputs = ctx.saved_tensors
        rule = ctx.rule
        if rule.state.mode == "lrp":
            return rule.relevance(inputs, upstream), None, None
        return rule.gradient(inputs, outputs, upstream, guided=rule.state.mode == "guided"), None, None


def _rule_forward(rule: Rule, original: Callable) -> Callable:
    def forward(*args, **kwargs):
        tensors = [value for value in (*args, *kwargs.values()) if isinstance(value, torch.Tensor)]
        if not any(tensor.requires_grad for tensor in tensors):
            # no gradient reaches the clip through this call (zennit leaves such calls unhooked too)
            return original(*args, **kwargs)
        in_place_input = getattr(rule.module, "inplace", False) and rule.needs_input
        if len(args) != 1 or kwargs or not isinstance(args[0], torch.Tensor) or in_place_input:
            rule.state.unsupported.append(rule.name)
            return original(*args, **kwargs)
        return _ApplyRule.apply(args[0], rule, original)

    return forward


def dtd_rules(
    model: nn.Module,
    cache: ParameterCache,
    low: torch.Tensor,
    high: torch.Tensor,
    epsilon: float,
    include_bias: bool,
    state: PassState,
) -> list[Rule]:
    """The rule of every module, by type, in ``named_modules`` order as zennit's
    ``SpecialFirstLayerMapComposite`` assigns them: z^B for the first convolution, then Pass for
    activations, Norm for average pools and ``Sum``, z+ for convolutions and linear layers."""
    rules: list[Rule] = []
    first_seen = False
    for name, module in model.named_modules():
        if not first_seen and isinstance(module, Convolution):
            first_seen = True
            rules.append(ZBoxRule(name, module, cache, epsilon, state, low, high))
        elif isinstance(module, Activation):
            rules.append(PassRule(name, module, cache, epsilon, state))
        elif isinstance(module, (AvgPool, Sum)):
            rules.append(NormRule(name, module, cache, epsilon, state))
        elif isinstance(module, (Convolution, nn.Linear)):
            rules.append(ZPlusRule(name, module, cache, epsilon, state, include_bias))
    return rules


@contextmanager
def rules_attached(rules: list[Rule]) -> Iterator[None]:
    """Each rule's module applies its rule in backward for the block; restored on exit, also on errors."""
    saved: list[tuple[nn.Module, object]] = []
    try:
        for rule in rules:
            module = rule.module
            saved.append((module, module.__dict__.get("forward")))
            rule.original = module.forward
            module.forward = _rule_forward(rule, rule.original)
        yield
    finally:
        for module, previous in reversed(saved):
            if previous is None:
                del module.forward
            else:
                module.forward = previous


def guided_relu_rules(model: nn.Module, state: PassState) -> list[Rule]:
    """Rules for the ReLUs alone (plain or guided gradient), when no LRP pass shares the forward."""
    return [
        PassRule(name, module, ParameterCache(), 0.0, state)
        for name, module in model.named_modules()
        if isinstance(module, nn.ReLU)
    ]
