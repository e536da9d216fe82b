"""Saliency Tubes (Stergiou et al. 2019): a class activation map for 3D CNNs, without gradients.

The target class's weights of the final classifier times the last convolutional block's
activations, summed over channels, upsampled trilinearly to the clip::

    S(t, h, w) = Σ_c w_{k,c} · A_c(t, h, w)

This is only defined where the classifier sees one pooled value per channel of that block
(global average pooling, then a linear or 1x1x1 classifier, as in I3D): then the mean of S over
(t, h, w) plus the bias is the logit. C3D's ``fc8`` follows ``fc6``/``fc7``, which mix positions
and channels, so it has no weight per channel and the method refuses it. The sign is kept.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.explain.base import Explainer, resolve_layer, resolve_target
from videoxai.explain.extra_common import captured_outputs, class_weight_matrix, resolve_classifier, single_output


def saliency_tube_map(
    activation: torch.Tensor, class_weights: torch.Tensor, size: tuple[int, int, int]
) -> torch.Tensor:
    """Σ_c w_c · A_c upsampled trilinearly (``align_corners=False``) to ``size`` = (T, H, W).

    Args:
        activation: ``(N, C, t, h, w)`` activations of the last convolutional block.
        class_weights: ``(N, C)`` classifier weights of each clip's target class.
    Returns:
        float32 ``(N, T, H, W)``.
    """
    cam = torch.einsum("nc,ncthw->nthw", class_weights.to(torch.float32), activation.to(torch.float32))
    if tuple(cam.shape[1:]) == tuple(size):
        return cam
    return F.interpolate(cam[:, None], size=tuple(size), mode="trilinear", align_corners=False)[:, 0]


class SaliencyTubes(Explainer):
    """Saliency Tubes at ``layer`` (default ``model.cam_layer``) with the weights of ``classifier``
    (default ``model.classifier_layer``)."""

    name = "saliency_tubes"

    def __init__(self, model: nn.Module, spec=None, layer: str | None = None, classifier: str | None = None):
        super().__init__(model, spec)
        self.layer_name, self.layer = resolve_layer(model, layer)
        self.classifier_name, self.classifier = resolve_classifier(model, classifier)

    def _attribute(self, inputs, target):
        with captured_outputs({self.layer_name: self.layer}) as outputs, torch.no_grad():
            logits = self.model(inputs)
        activation = single_output(outputs, self.layer_name, self.name)
        weights = class_weight_matrix(self.classifier, activation.shape[1], self.name, self.classifier_name)
        if weights is None:
            raise VideoXAIError(
                f"saliency_tubes needs a classifier that directly follows global pooling of layer "
                f"{self.layer_name!r} ({activation.shape[1]} channels), so that each channel has one class weight; "
                f"{type(self.model).__name__}'s {self.classifier_name!r} takes "
                f"{tuple(self.classifier.weight.shape[1:])} inputs (e.g. C3D's fc8 follows fc6/fc7, which mix "
                f"positions and channels). Use gradcam for such networks."
            )
        resolved = resolve_target(target, logits)
        class_weights = weights.to(activation.device)[resolved]
        return saliency_tube_map(activation, class_weights, inputs.shape[2:]), logits, resolved
