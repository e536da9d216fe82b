"""What the extra (non-paper) explanation methods share: capturing a layer, the classifier's class
weights, softmax scores in batches, and getting the clip's optical flow back.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.motion.flow import farneback_clips


@contextmanager
def captured_outputs(modules: dict[str, nn.Module]) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Record each named module's forward outputs for the block; the hooks are always removed."""
    outputs: dict[str, list[torch.Tensor]] = {name: [] for name in modules}
    handles = []
    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(lambda _m, _a, out, name=name: outputs[name].append(out)))
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def single_output(outputs: dict[str, list[torch.Tensor]], name: str, method: str) -> torch.Tensor:
    """The one 5-D output a hooked module produced during a forward pass."""
    found = outputs[name]
    if len(found) != 1 or not isinstance(found[0], torch.Tensor) or found[0].ndim != 5:
        raise VideoXAIError(
            f"{method}: layer {name!r} must run once per forward and return one (N, C, T, H, W) tensor; "
            f"it ran {len(found)} time(s)"
        )
    return found[0]


def get_module(model: nn.Module, name: str, what: str) -> nn.Module:
    try:
        return model.get_submodule(name)
    except AttributeError:
        raise VideoXAIError(f"{what} {name!r} is not a module of {type(model).__name__}") from None


def resolve_classifier(model: nn.Module, name: str | None) -> tuple[str, nn.Module]:
    """The final classifier by dotted name; default ``model.classifier_layer``, else the last
    ``nn.Linear`` or 1x1x1 ``nn.Conv3d`` in registration order."""
    if name is None:
        name = getattr(model, "classifier_layer", None)
    if name is not None:
        return name, get_module(model, name, "classifier")
    candidates = [
        (module_name, module)
        for module_name, module in model.named_modules()
        if isinstance(module, nn.Linear) or (isinstance(module, nn.Conv3d) and tuple(module.kernel_size) == (1, 1, 1))
    ]
    if not candidates:
        raise VideoXAIError(f"{type(model).__name__} has no nn.Linear or 1x1x1 nn.Conv3d classifier: pass classifier=")
    return candidates[-1]


def class_weight_matrix(classifier: nn.Module, channels: int, method: str, classifier_name: str) -> torch.Tensor | None:
    """The classifier's weights as float32 ``(K, channels)``, or ``None`` if its input is not
    one value per channel of the last convolutional block (no global pooling in between)."""
    if isinstance(classifier, nn.Conv3d):
        if tuple(classifier.kernel_size) != (1, 1, 1) or classifier.groups != 1:
            return None
        weight = classifier.weight.detach()[:, :, 0, 0, 0]
    elif isinstance(classifier, nn.Linear):
        weight = classifier.weight.detach()
    else:
        raise VideoXAIError(
            f"{method}: classifier {classifier_name!r} must be nn.Linear or a 1x1x1 nn.Conv3d, "
            f"got {type(classifier).__name__}"
        )
    if weight.shape[1] != channels:
        return None
    return weight.to(torch.float32)


def softmax_scores(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Softmax probability of ``target`` for each of ``inputs`` ``(B, C, T, H, W)``, float32 ``(B,)``,
    in forward passes of at most ``batch_size`` clips, without autograd (inference mode)."""
    scores = []
    with torch.inference_mode():
        for start in range(0, inputs.shape[0], batch_size):
            logits = model(inputs[start : start + batch_size]).to(torch.float32)
            scores.append(logits.softmax(dim=1).gather(1, target[start : start + batch_size, None])[:, 0])
    return torch.cat(scores)


def check_positive_int(value, name: str, method: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise VideoXAIError(f"{method}: {name} must be a positive integer, got {value!r}")
    return int(value)


def frames_from_inputs(inputs: torch.Tensor, spec) -> np.ndarray:
    """Undo ``spec.preprocess``: model input float ``(N, 3, T, H, W)`` -> uint8 ``(N, T, H, W, 3)`` RGB."""
    if spec is None:
        raise VideoXAIError(
            "need the clip's optical flow: pass flow= (N, T, H, W, 2) or build the explainer "
            "with spec= so that the frames can be recovered from the inputs"
        )
    mean = torch.tensor(spec.mean, dtype=torch.float32)
    std = torch.tensor(spec.std, dtype=torch.float32)
    pixels = inputs.detach().to("cpu", torch.float32).permute(0, 2, 3, 4, 1) * std + mean
    pixels = (pixels - spec.offset) / spec.scale
    return pixels.round().clamp(0, 255).to(torch.uint8).numpy()


def resolve_flow(flow, inputs: torch.Tensor, spec, method: str) -> np.ndarray:
    """The clips' flow as float32 ``(N, T, H, W, 2)`` NumPy (dx, dy), given or computed with
    Farnebäck (``videoxai.motion.flow``) from the frames recovered through ``spec``."""
    batch, _, frames, height, width = inputs.shape
    if flow is None:
        return farneback_clips(frames_from_inputs(inputs, spec))
    if isinstance(flow, torch.Tensor):
        flow = flow.detach().to("cpu", torch.float32).numpy()
    flow = np.asarray(flow, dtype=np.float32)
    if flow.shape != (batch, frames, height, width, 2):
        raise VideoXAIError(
            f"{method}: flow must be (N, T, H, W, 2) = {(batch, frames, height, width, 2)}, got {flow.shape}"
        )
    return flow


def gaussian_kernel(sigma: float, device) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    positions = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    kernel = torch.exp(-0.5 * (positions / sigma) ** 2)
    return kernel / kernel.sum()


def blur_frames(inputs: torch.Tensor, sigma: float = 10.0) -> torch.Tensor:
    """Each frame of ``(N, C, T, H, W)`` blurred spatially (separable Gaussian, reflect padding)."""
    if sigma <= 0:
        return inputs.clone()
    batch, channels, frames, height, width = inputs.shape
    kernel = gaussian_kernel(sigma, inputs.device)
    radius = len(kernel) // 2
    planes = inputs.to(torch.float32).permute(0, 2, 1, 3, 4).reshape(-1, 1, height, width)
    # reflect padding needs radius < size; replicate the rest
    mode = "reflect" if radius < min(height, width) else "replicate"
    planes = F.conv2d(F.pad(planes, (radius, radius, 0, 0), mode=mode), kernel.view(1, 1, 1, -1))
    planes = F.conv2d(F.pad(planes, (0, 0, radius, radius), mode=mode), kernel.view(1, 1, -1, 1))
    return planes.reshape(batch, frames, channels, height, width).permute(0, 2, 1, 3, 4).contiguous()
