"""Grad-CAM for 3D CNNs (Selvaraju et al. 2017, applied to video as in Hiley et al. 2020).

Channel weights are the target logit's gradient w.r.t. a layer's activations averaged over
(T, H, W); the map is the ReLU of the weighted channel sum, upsampled trilinearly to the clip.
Written by hand because zennit has no Grad-CAM; captum's LayerGradCam is the test reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.explain.base import Explainer, check_autocast, precision, resolve_layer, resolve_target


def grad_cam_map(activation: torch.Tensor, gradient: torch.Tensor, size: tuple[int, int, int]) -> torch.Tensor:
    """Grad-CAM of layer activations and their gradients, both ``(N, C', t, h, w)``.

    Returns float32 ``(N, T, H, W)`` with ``(T, H, W) = size``: ReLU(Σ_c mean(grad_c) · A_c),
    upsampled trilinearly (``align_corners=False``).
    """
    activation = activation.to(torch.float32)
    gradient = gradient.to(torch.float32)
    weights = gradient.mean(dim=(2, 3, 4), keepdim=True)
    cam = torch.relu((weights * activation).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=tuple(size), mode="trilinear", align_corners=False)
    return cam[:, 0]


class GradCAM(Explainer):
    """Grad-CAM at ``layer`` (dotted module name; default: see :func:`resolve_layer`)."""

    name = "gradcam"

    def __init__(self, model: nn.Module, spec=None, layer: str | None = None, autocast: str | None = None):
        super().__init__(model, spec)
        self.layer_name, self.layer = resolve_layer(model, layer)
        self.autocast = check_autocast(autocast)

    def forward_with_activation(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(N, K)`` and the layer's output, captured by a hook removed before returning."""
        captured: list[torch.Tensor] = []

        def keep_output(module, args, output):
            captured.append(output)

        handle = self.layer.register_forward_hook(keep_output)
        try:
            with precision(self.autocast, inputs.device):
                # the input requires grad so that the graph exists even for frozen parameters
                logits = self.model(inputs.detach().requires_grad_(True))
        finally:
            handle.remove()
        if len(captured) != 1 or not isinstance(captured[0], torch.Tensor) or captured[0].ndim != 5:
            raise VideoXAIError(
                f"Grad-CAM layer {self.layer_name!r} must run once per forward and return one (N, C, T, H, W) "
                f"tensor; it ran {len(captured)} time(s)"
            )
        return logits, captured[0]

    def _attribute(self, inputs, target):
        logits, activation = self.forward_with_activation(inputs)
        resolved = resolve_target(target, logits)
        # clips are independent, so one backward of the summed target logits gives each its own gradient
        selected = logits.gather(1, resolved[:, None]).sum()
        (gradient,) = torch.autograd.grad(selected, activation)
        return grad_cam_map(activation.detach(), gradient, inputs.shape[2:]), logits, resolved
