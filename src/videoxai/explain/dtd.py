"""Deep Taylor Decomposition (Montavon et al. 2017) as LRP with zennit's rules, as in the paper.

Two implementations of the same rules (``implementation``): ``"fast"`` (default), the LRP pass of
:mod:`videoxai.explain.lrp` at about the cost of a gradient, and ``"zennit"``, zennit's hooks, the
reference the tests compare the fast pass with (``DTD(...)`` takes it; the study config does not).

Rules (as a zennit ``SpecialFirstLayerMapComposite`` assigns them):

* first convolution: z^B (``ZBox``) with bounds = the model's preprocessed input range;
* every other convolution and linear layer: z+ (``ZPlus``);
* ReLU (any activation): relevance passes through (``Pass``);
* average pooling (also adaptive): proportional to the inputs (``Norm``);
* residual additions made explicit by the canonizers (zennit ``Sum``): proportional to the
  summands (``Norm``), so the shortcut and the branch share the relevance instead of each
  getting all of it (a negative branch gets negative relevance, and the shortcut more than
  all of it: the sum is conserved, not the sign);
* max pooling, concatenation, padding, flatten: no rule, so the gradient applies, which is
  winner-take-all for max pooling and a plain split/crop for the others.

Canonizers (:mod:`videoxai.explain.canonizers`) run for the duration of each call: every
BatchNorm is merged into the convolution or linear layer right before it, and the residual
additions of torchvision's video ResNet blocks become ``Sum`` modules. Both are undone afterwards,
also when the call fails. A BatchNorm that follows no such layer cannot be merged, and DTD
refuses the model, naming it.

The relevance entering the network is the target logit itself (one-hot ⊙ logits), so for a
bias-free ReLU network the input relevance sums to the target logit (conservation).

Biases (option ``bias``, see docs/explain.md): z+ is derived for ReLU networks whose biases are
non-positive, where a neuron's relevance comes only from its inputs. Networks with positive
biases (any network once its BatchNorm is merged into the convolutions, I3D included) need a
convention:

* ``bias="ignore"`` (default; the paper's reference implementation): biases are left out of
  every z+ denominator (``zero_params=["bias"]``), so each layer hands all of its relevance to
  its inputs and the input relevance sums to the target logit;
* ``bias="include"`` (zennit's default): a neuron's positive bias joins its z+ denominator
  ``z_j = sum_i x_i w_ij^+ + b_j^+`` and keeps the share ``b_j^+ / z_j`` of its relevance, so
  the input relevance sums to less than the logit (negative biases change nothing).

The first layer's z^B rule is the same under both: there the bias cancels in the denominator.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn
from zennit.composites import SpecialFirstLayerMapComposite
from zennit.layer import Sum
from zennit.rules import Norm, Pass, ZBox, ZPlus
from zennit.types import Activation, AvgPool, Convolution

from videoxai.core.errors import VideoXAIError
from videoxai.explain.base import Explainer, one_hot, resolve_target
from videoxai.explain.canonizers import canonized, unmergeable_batchnorms, video_canonizers
from videoxai.explain.lrp import ParameterCache, PassState, dtd_rules, rules_attached

BIAS_CONVENTIONS: tuple[str, ...] = ("ignore", "include")
IMPLEMENTATIONS: tuple[str, ...] = ("fast", "zennit")


class _Stop(Exception):
    """Raised by a pre-hook to end a forward pass once the first convolution's input is known."""


def _channel_bounds(value, channels: int, what: str) -> torch.Tensor:
    tensor = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
    if tensor.numel() == 1:
        tensor = tensor.expand(channels)
    if tensor.numel() != channels:
        raise VideoXAIError(f"DTD {what}: need 1 or {channels} values (one per channel), got {tensor.numel()}")
    return tensor


class DTD(Explainer):
    """DTD relevance; bounds from ``spec.value_range`` or explicit ``low=``/``high=`` (float or per
    channel); ``bias`` is ``"ignore"`` (default) or ``"include"``; ``implementation`` is ``"fast"``
    (default) or ``"zennit"`` (module docstring)."""

    name = "dtd"

    def __init__(
        self,
        model: nn.Module,
        spec=None,
        low: float | Sequence[float] | torch.Tensor | None = None,
        high: float | Sequence[float] | torch.Tensor | None = None,
        stabilizer: float = 1e-6,
        bias: str = "ignore",
        implementation: str = "fast",
    ):
        super().__init__(model, spec)
        if bias not in BIAS_CONVENTIONS:
            raise VideoXAIError(f"DTD bias: use one of {list(BIAS_CONVENTIONS)}, got {bias!r}")
        if implementation not in IMPLEMENTATIONS:
            raise VideoXAIError(f"DTD implementation: use one of {list(IMPLEMENTATIONS)}, got {implementation!r}")
        self.bias = bias
        self.implementation = implementation
        self.cache = ParameterCache()
        if (low is None) != (high is None):
            raise VideoXAIError("DTD: give both low= and high=, or neither (then spec.value_range is used)")
        if low is None:
            if spec is None:
                raise VideoXAIError("DTD needs the input's value range for its z^B rule: pass spec= or low=/high=")
            low, high = spec.value_range
        self.low, self.high = low, high
        self.stabilizer = float(stabilizer)
        stranded = unmergeable_batchnorms(model)
        if stranded:
            raise VideoXAIError(
                f"DTD merges each BatchNorm (in eval mode, with running statistics and affine parameters) into "
                f"the convolution or linear layer right before it, but {stranded[:3]} follow no such layer (in module "
                "registration order) or cannot be merged; call model.eval(), fold them by hand, or use "
                "gradcam/guided_backprop"
            )
        self.first_conv_name = next(
            (name for name, module in model.named_modules() if isinstance(module, Convolution)), None
        )
        if self.first_conv_name is None:
            raise VideoXAIError(f"DTD: {type(model).__name__} has no convolution for the z^B rule")
        self.first_conv = model.get_submodule(self.first_conv_name)

    def bounds_at_first_layer(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z^B bounds shaped like the first convolution's input ``(1, C, T', H', W')``.

        Clips filled with the per-channel low (high) values are sent through whatever the
        model does before its first convolution (for I3D: TF "SAME" zero padding), so padded
        positions get low = high = 0 and, being constants, receive no relevance.
        """
        channels = inputs.shape[1]
        low = _channel_bounds(self.low, channels, "low").to(inputs.device)
        high = _channel_bounds(self.high, channels, "high").to(inputs.device)
        if torch.any(low > high):
            raise VideoXAIError(f"DTD: low must not exceed high, got low={low.tolist()} high={high.tolist()}")
        shape = (1, channels) + tuple(inputs.shape[2:])
        probe = torch.cat([low.view(1, -1, 1, 1, 1).expand(shape), high.view(1, -1, 1, 1, 1).expand(shape)])
        captured: list[torch.Tensor] = []

        def capture_and_stop(module, args):
            captured.append(args[0].detach())
            raise _Stop

        handle = self.first_conv.register_forward_pre_hook(capture_and_stop)
        try:
            with torch.no_grad():
                self.model(probe)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not captured:
            raise VideoXAIError(f"DTD: the first convolution {self.first_conv_name!r} was not called")
        return captured[0][:1], captured[0][1:2]

    def composite(self, low: torch.Tensor, high: torch.Tensor) -> SpecialFirstLayerMapComposite:
        ignore_bias = {"zero_params": ["bias"]}
        # zennit's ZPlus keeps the positive part of the bias in its denominator unless told to zero it
        zplus_bias = ignore_bias if self.bias == "ignore" else {}
        layer_map = [
            (Activation, Pass()),
            (AvgPool, Norm(stabilizer=self.stabilizer)),
            (Sum, Norm(stabilizer=self.stabilizer)),
            (Convolution, ZPlus(stabilizer=self.stabilizer, **zplus_bias)),
            (nn.Linear, ZPlus(stabilizer=self.stabilizer, **zplus_bias)),
        ]
        first_map = [(Convolution, ZBox(low=low, high=high, stabilizer=self.stabilizer, **ignore_bias))]
        return SpecialFirstLayerMapComposite(layer_map=layer_map, first_map=first_map, canonizers=video_canonizers())

    def _attribute(self, inputs, target):
        if self.implementation == "zennit":
            return self._attribute_zennit(inputs, target)
        return self._attribute_fast(inputs, target)

    def cached_bounds(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`bounds_at_first_layer`, computed once per clip shape and device (and again when
        a parameter of the model changes, as the rest of :attr:`cache`)."""
        self.cache.validate(self.model)  # before canonizing: the merged parameters are new tensors per call
        key = ("bounds at the first layer", tuple(inputs.shape[1:]), inputs.device)
        return self.cache.get("", key, lambda: self.bounds_at_first_layer(inputs))

    def _attribute_fast(self, inputs, target):
        low, high = self.cached_bounds(inputs)
        inputs = inputs.detach().requires_grad_(True)
        state = PassState()
        with torch.autocast(device_type=inputs.device.type, enabled=False), canonized(self.model):
            rules = dtd_rules(self.model, self.cache, low, high, self.stabilizer, self.bias == "include", state)
            with rules_attached(rules):
                logits = self.model(inputs)
                if not state.unsupported:
                    resolved = resolve_target(target, logits)
                    start = one_hot(resolved, logits) * logits.detach()
                    (relevance,) = torch.autograd.grad(logits, inputs, grad_outputs=start)
        if state.unsupported:
            warnings.warn(
                f"DTD: {sorted(set(state.unsupported))[:3]} take several inputs or change their input in place, "
                "which the fast pass cannot give a rule to; this call uses zennit's hooks instead",
                stacklevel=3,
            )
            return self._attribute_zennit(inputs, target)
        return relevance, logits, resolved

    def _attribute_zennit(self, inputs, target):
        low, high = self.bounds_at_first_layer(inputs)
        inputs = inputs.detach().requires_grad_(True)
        # DTD stays fp32: the rules divide by small sums, which bf16 would make unreliable
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            with self.composite(low, high).context(self.model) as hooked:
                logits = hooked(inputs)
                resolved = resolve_target(target, logits)
                start = one_hot(resolved, logits) * logits.detach()
                (relevance,) = torch.autograd.grad(logits, inputs, grad_outputs=start)
        return relevance, logits, resolved
