"""Guided Grad-CAM (Selvaraju et al. 2017): Guided Backprop ⊙ upsampled Grad-CAM, per voxel.

Grad-CAM is one value per voxel, so multiplying before or after summing Guided Backprop over
colour channels gives the same map. Two forward passes: Grad-CAM needs the plain gradient at
its layer, which the guided ReLUs above that layer would change.
"""

from __future__ import annotations

from torch import nn

from videoxai.explain.base import Explainer
from videoxai.explain.gradcam import GradCAM
from videoxai.explain.guided_backprop import GuidedBackprop


class GuidedGradCAM(Explainer):
    name = "guided_gradcam"

    def __init__(self, model: nn.Module, spec=None, layer: str | None = None, autocast: str | None = None):
        super().__init__(model, spec)
        self.gradcam = GradCAM(model, spec, layer=layer, autocast=autocast)
        self.guided_backprop = GuidedBackprop(model, spec, autocast=autocast)

    def _attribute(self, inputs, target):
        cam, logits, resolved = self.gradcam._attribute(inputs, target)
        guided, _, _ = self.guided_backprop._attribute(inputs, resolved)
        return guided.sum(dim=1) * cam, logits, resolved
