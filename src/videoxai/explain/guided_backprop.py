"""Guided Backpropagation (Springenberg et al. 2015) with zennit's GuidedBackprop composite.

Every ``nn.ReLU`` passes back only positive gradients at positive inputs; the relevance is the
input gradient of the target logit, summed over colour channels.
"""

from __future__ import annotations

import torch
from torch import nn
from zennit.composites import GuidedBackprop as GuidedBackpropComposite

from videoxai.explain.base import Explainer, check_autocast, one_hot, precision, resolve_target


class GuidedBackprop(Explainer):
    name = "guided_backprop"

    def __init__(self, model: nn.Module, spec=None, autocast: str | None = None):
        super().__init__(model, spec)
        self.autocast = check_autocast(autocast)

    def _attribute(self, inputs, target):
        inputs = inputs.detach().requires_grad_(True)
        composite = GuidedBackpropComposite()
        # the context removes every hook on exit, also when the forward or backward raises
        with composite.context(self.model) as hooked:
            with precision(self.autocast, inputs.device):
                logits = hooked(inputs)
            resolved = resolve_target(target, logits)
            (gradient,) = torch.autograd.grad(logits, inputs, grad_outputs=one_hot(resolved, logits))
        return gradient, logits, resolved
