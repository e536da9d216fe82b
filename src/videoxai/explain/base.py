"""What every explanation method shares: the result type, input and target checks, precision.

An explainer is *model + method (+ options)*; ``attribute(inputs, target)`` registers what it
needs on the model for that one call and always removes it, also when the call fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from videoxai.core.errors import VideoXAIError

AUTOCAST_MODES = (None, "bf16", "tf32")


@dataclass
class Explanation:
    """One relevance volume per clip, and what it explains.

    Attributes:
        relevance: float32 ``(N, T, H, W)`` on the inputs' device, summed over colour channels,
            sign kept.
        logits: float32 ``(N, K)``, detached, from the forward pass the explanation used.
        target: int64 ``(N,)``, the explained class per clip.
        method: the method's name (one of ``videoxai.explain.METHODS``).
        seconds: wall time of the whole ``attribute`` call (CUDA synchronised).
    """

    relevance: torch.Tensor
    logits: torch.Tensor
    target: torch.Tensor
    method: str = ""
    seconds: float = 0.0

    def extra_arrays(self) -> tuple[dict, dict]:
        """What this method stores in the explain shard beside the relevance: ``(per_clip,
        shared)`` dicts of NumPy arrays, those of ``per_clip`` with one entry per clip along
        axis 0. None for most methods; Class Feature Pyramids store their pyramid."""
        return {}, {}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def check_inputs(inputs: torch.Tensor) -> torch.Tensor:
    """Validate model input ``(N, C, T, H, W)`` float and return it as float32, detached."""
    if not isinstance(inputs, torch.Tensor):
        raise VideoXAIError(f"inputs must be a torch.Tensor (N, 3, T, H, W), got {type(inputs).__name__}")
    if inputs.ndim != 5:
        raise VideoXAIError(f"inputs must be (N, C, T, H, W) clips, got shape {tuple(inputs.shape)}")
    if not inputs.is_floating_point():
        raise VideoXAIError(f"inputs must be preprocessed float clips, got dtype {inputs.dtype}")
    if inputs.shape[0] == 0:
        raise VideoXAIError("inputs hold no clip (N = 0)")
    return inputs.detach().to(torch.float32)


def resolve_target(target: int | torch.Tensor | None, logits: torch.Tensor) -> torch.Tensor:
    """Target class per clip as int64 ``(N,)`` on the logits' device; ``None`` means top-1."""
    if logits.ndim != 2:
        raise VideoXAIError(f"the model must return logits (N, K), got shape {tuple(logits.shape)}")
    batch, classes = logits.shape
    if target is None:
        return logits.detach().argmax(dim=1)
    if isinstance(target, int):
        resolved = torch.full((batch,), target, dtype=torch.int64, device=logits.device)
    else:
        resolved = torch.as_tensor(target).to(device=logits.device, dtype=torch.int64).reshape(-1)
        if resolved.numel() == 1 and batch > 1:
            resolved = resolved.expand(batch).clone()
        if resolved.numel() != batch:
            raise VideoXAIError(f"target: need one class per clip ({batch}), got {resolved.numel()}")
    if resolved.min() < 0 or resolved.max() >= classes:
        raise VideoXAIError(f"target: classes must lie in [0, {classes}), got {resolved.tolist()}")
    return resolved


def one_hot(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """``(N, K)`` in the logits' dtype with 1 at each clip's target class."""
    return torch.zeros_like(logits).scatter_(1, target[:, None], 1.0)


def check_autocast(mode: str | None) -> str | None:
    if mode not in AUTOCAST_MODES:
        raise VideoXAIError(f"autocast: use one of {list(AUTOCAST_MODES)}, got {mode!r}")
    return mode


@contextmanager
def _tf32(device: torch.device) -> Iterator[None]:
    """Allow TF32 in CUDA matmuls and convolutions for the block; restore the settings after.

    TF32 is a CUDA (Ampere and later) format: on the CPU this changes nothing.
    """
    if device.type != "cuda":
        yield
        return
    matmul = torch.backends.cuda.matmul
    conv = getattr(torch.backends.cudnn, "conv", None)
    if hasattr(matmul, "fp32_precision") and conv is not None and hasattr(conv, "fp32_precision"):
        saved = (matmul.fp32_precision, conv.fp32_precision)
        matmul.fp32_precision, conv.fp32_precision = "tf32", "tf32"
        try:
            yield
        finally:
            matmul.fp32_precision, conv.fp32_precision = saved
    else:  # torch before the fp32_precision API
        saved = (matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@contextmanager
def precision(mode: str | None, device: torch.device) -> Iterator[None]:
    """Run the forward pass in fp32 (``None``), bfloat16 autocast (``"bf16"``) or TF32 (``"tf32"``)."""
    if mode is None:
        yield
    elif mode == "bf16":
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
    else:
        with _tf32(device):
            yield


def resolve_layer(model: nn.Module, layer: str | None) -> tuple[str, nn.Module]:
    """The module whose output Grad-CAM uses, by dotted name, or the model's default.

    Default: ``model.cam_layer`` when the model declares it (the shipped models do: the last
    convolutional block's post-ReLU output). Otherwise, in module registration order, the
    module right after the last ``Conv3d`` if it is a ReLU (the block's activation), else that
    last ``Conv3d`` itself.
    """
    if layer is None:
        layer = getattr(model, "cam_layer", None)
    if layer is None:
        leaves = [(name, module) for name, module in model.named_modules() if not any(module.children())]
        conv_positions = [index for index, (_, module) in enumerate(leaves) if isinstance(module, nn.Conv3d)]
        if not conv_positions:
            raise VideoXAIError(f"{type(model).__name__} has no Conv3d: pass layer='dotted.module.name'")
        last = conv_positions[-1]
        if last + 1 < len(leaves) and isinstance(leaves[last + 1][1], nn.ReLU):
            last += 1
        return leaves[last]
    try:
        return layer, model.get_submodule(layer)
    except AttributeError:
        raise VideoXAIError(f"layer {layer!r} is not a module of {type(model).__name__}") from None


class Explainer:
    """Base class: subclasses implement ``_attribute(inputs, target) -> (relevance, logits, target)``.

    ``relevance`` may keep the channel axis ``(N, C, T, H, W)`` or not; it is summed over C here.
    """

    name = ""

    def __init__(self, model: nn.Module, spec=None):
        if not isinstance(model, nn.Module):
            raise VideoXAIError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.spec = spec

    def attribute(self, inputs: torch.Tensor, target: int | torch.Tensor | None = None) -> Explanation:
        """Explain clips ``(N, C, T, H, W)`` float32 for one target class each (default top-1).

        Returns an :class:`Explanation` with relevance float32 ``(N, T, H, W)`` on the inputs'
        device, logits float32 ``(N, K)`` and target int64 ``(N,)``.
        """
        inputs = check_inputs(inputs)
        synchronize(inputs.device)
        start = time.perf_counter()
        relevance, logits, resolved = self._attribute(inputs, target)
        if relevance.ndim == 5:
            relevance = relevance.sum(dim=1)
        relevance = relevance.detach().to(torch.float32)
        synchronize(inputs.device)
        seconds = time.perf_counter() - start
        return Explanation(relevance, logits.detach().to(torch.float32), resolved, self.name, seconds)

    def _attribute(self, inputs: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    __call__ = attribute
