"""I3D (Carreira & Zisserman, CVPR 2017): Inception-v1 inflated to 3D, Kinetics-400 RGB stream.

The network is written from the paper's architecture and the endpoint names of DeepMind's
release (``Conv3d_1a_7x7`` ... ``Mixed_5c``, ``Logits``), so that checkpoint names map
one-to-one onto module names. Weights are DeepMind's RGB Kinetics-400 checkpoint, converted
once to safetensors by :mod:`videoxai.models.i3d_weights`.

Port facts that decide whether predictions match the original:

* TensorFlow ``'SAME'`` padding: output size ``ceil(in / stride)``; the total padding
  ``max((out - 1) * stride + kernel - in, 0)`` is split with the *extra* element at the end.
  Convolutions pad with zeros, max-pools ignore padded cells (we pad with ``-inf``).
* BatchNorm has no learned scale (gamma = 1) and epsilon 1e-3. By default it is folded into
  the preceding convolution (which then has a bias), because the explanation methods need a
  network made only of convolutions, ReLUs and pools. ``fold_batchnorm=False`` keeps real
  ``nn.BatchNorm3d`` modules, for checking the fold.
* Head: average pool (2, 7, 7) stride 1 VALID, 1x1x1 logits convolution with bias, mean of
  the logits over the remaining positions. The pool kernel is clamped to the feature size,
  so that 16-frame clips (feature depth 2) and smaller crops (e.g. 112 -> feature 4x4) work;
  at 64 x 224 x 224 this is exactly the original head.

Module conventions the explanation methods rely on: every ReLU is its own ``nn.ReLU``
instance, pools are modules, padding lives in small wrapper modules so every convolution is a
plain ``nn.Conv3d``, and modules are registered in forward order (the first ``nn.Conv3d`` is
the stem convolution).
"""

from __future__ import annotations

import math
import os
import sys
from collections import OrderedDict
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import sha256_of
from videoxai.models.spec import ModelSpec, read_class_names
from videoxai.models.weights import load_state_dict_file, load_strict

BATCHNORM_EPSILON = 1e-3
NUM_CLASSES = 400

# (Branch_0 1x1, Branch_1 1x1, Branch_1 3x3, Branch_2 1x1, Branch_2 3x3, Branch_3 1x1) output
# channels of each Inception block, as in the paper's Inception-v1 table.
INCEPTION_CHANNELS: dict[str, tuple[int, int, int, int, int, int]] = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}


def _triple(value: int | tuple[int, int, int]) -> tuple[int, int, int]:
    return (value, value, value) if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding that TensorFlow's ``'SAME'`` uses along one axis.

    >>> tf_same_padding(5, 3, 2), tf_same_padding(6, 3, 2)
    ((1, 1), (0, 1))
    """
    output = math.ceil(size / stride)
    total = max((output - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class TFSamePad3d(nn.Module):
    """Pads ``(N, C, T, H, W)`` so that a following VALID conv/pool behaves like TF ``'SAME'``.

    The padding depends on the input size, so it is computed in ``forward``. ``value`` is 0
    before convolutions and ``-inf`` before max-pools (TF's max-pool never picks a pad cell).
    """

    def __init__(self, kernel_size: int | tuple[int, int, int], stride: int | tuple[int, int, int], value: float = 0.0):
        super().__init__()
        self.kernel_size = _triple(kernel_size)
        self.stride = _triple(stride)
        self.value = value

    def padding_for(self, size_thw: tuple[int, int, int]) -> tuple[int, ...]:
        """``F.pad`` argument (W_before, W_after, H_before, H_after, T_before, T_after)."""
        pads: list[int] = []
        for size, kernel, stride in reversed(list(zip(size_thw, self.kernel_size, self.stride))):
            pads.extend(tf_same_padding(size, kernel, stride))
        return tuple(pads)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        pads = self.padding_for(tuple(inputs.shape[-3:]))
        if not any(pads):
            return inputs
        return F.pad(inputs, pads, mode="constant", value=self.value)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, value={self.value}"


class Unit3D(nn.Module):
    """TF-SAME padded ``nn.Conv3d`` -> [``nn.BatchNorm3d``] -> ``nn.ReLU``.

    With ``batch_norm=False`` (the folded form) the convolution carries a bias instead.
    Input ``(N, C_in, T, H, W)`` float32 -> ``(N, C_out, ceil(T/s), ceil(H/s), ceil(W/s))``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=1, stride=1, batch_norm: bool = False):
        super().__init__()
        self.pad = TFSamePad3d(kernel_size, stride, value=0.0)
        self.conv = nn.Conv3d(
            in_channels, out_channels, _triple(kernel_size), _triple(stride), padding=0, bias=not batch_norm
        )
        # TF momentum 0.999 is torch momentum 0.001; it only matters if someone trains.
        self.bn = nn.BatchNorm3d(out_channels, eps=BATCHNORM_EPSILON, momentum=0.001) if batch_norm else None
        self.relu = nn.ReLU()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.conv(self.pad(inputs))
        if self.bn is not None:
            outputs = self.bn(outputs)
        return self.relu(outputs)


class MaxPool3dSame(nn.Module):
    """``nn.MaxPool3d`` with TF ``'SAME'`` padding (pad cells are ``-inf``, so never selected).

    Input ``(N, C, T, H, W)`` -> ``(N, C, ceil(T/s), ceil(H/s), ceil(W/s))``, same dtype.
    """

    def __init__(self, kernel_size, stride):
        super().__init__()
        self.pad = TFSamePad3d(kernel_size, stride, value=float("-inf"))
        self.pool = nn.MaxPool3d(_triple(kernel_size), _triple(stride))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.pool(self.pad(inputs))


class InceptionBlock(nn.Module):
    """Inflated Inception module: four branches concatenated along channels.

    Branch_0: 1x1x1. Branch_1: 1x1x1 -> 3x3x3. Branch_2: 1x1x1 -> 3x3x3 (the 5x5 of
    Inception-v1 became 3x3x3 in I3D). Branch_3: 3x3x3 max-pool stride 1 -> 1x1x1.
    ``(N, C_in, T, H, W)`` -> ``(N, sum of branch outputs, T, H, W)``; the output is post-ReLU.
    """

    def __init__(self, in_channels: int, channels: tuple[int, int, int, int, int, int], batch_norm: bool = False):
        super().__init__()
        c0, c1a, c1b, c2a, c2b, c3 = channels
        self.out_channels = c0 + c1b + c2b + c3
        self.Branch_0 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(in_channels, c0, 1, batch_norm=batch_norm)))
        self.Branch_1 = nn.Sequential(
            OrderedDict(
                Conv3d_0a_1x1=Unit3D(in_channels, c1a, 1, batch_norm=batch_norm),
                Conv3d_0b_3x3=Unit3D(c1a, c1b, 3, batch_norm=batch_norm),
            )
        )
        self.Branch_2 = nn.Sequential(
            OrderedDict(
                Conv3d_0a_1x1=Unit3D(in_channels, c2a, 1, batch_norm=batch_norm),
                Conv3d_0b_3x3=Unit3D(c2a, c2b, 3, batch_norm=batch_norm),
            )
        )
        self.Branch_3 = nn.Sequential(
            OrderedDict(
                MaxPool3d_0a_3x3=MaxPool3dSame(3, 1),
                Conv3d_0b_1x1=Unit3D(in_channels, c3, 1, batch_norm=batch_norm),
            )
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [self.Branch_0(inputs), self.Branch_1(inputs), self.Branch_2(inputs), self.Branch_3(inputs)], dim=1
        )


class ClampedAvgPool3d(nn.AvgPool3d):
    """VALID average pool whose kernel shrinks to the input size where the input is smaller.

    A subclass of ``nn.AvgPool3d`` so that attribution libraries still recognise it as an
    average pool. ``(N, C, T, H, W)`` -> ``(N, C, T - kt + 1, H - kh + 1, W - kw + 1)`` with
    ``k = min(kernel_size, size)`` per axis.
    """

    def __init__(self, kernel_size=(2, 7, 7)):
        super().__init__(kernel_size=_triple(kernel_size), stride=1, padding=0)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        kernel = tuple(min(k, s) for k, s in zip(self.kernel_size, inputs.shape[-3:]))
        return F.avg_pool3d(inputs, kernel, stride=1, padding=0)


class InceptionI3d(nn.Module):
    """I3D RGB stream. Input float32 ``(N, 3, T, H, W)``, RGB in [-1, 1]; output raw logits
    float32 ``(N, num_classes)``.

    Native input is ``T = 64, H = W = 224`` (then ``Mixed_5c`` is ``(N, 1024, 8, 7, 7)``);
    any ``T, H, W >= 1`` runs (see :class:`ClampedAvgPool3d`).

    Attributes:
        cam_layer: module whose output is the last conv block's post-ReLU activations.
        classifier_layer: the 1x1x1 logits convolution; its output is ``(N, classes, T', H', W')``.
    """

    cam_layer: str = "Mixed_5c"
    classifier_layer: str = "logits"

    def __init__(self, num_classes: int = NUM_CLASSES, batch_norm: bool = False):
        super().__init__()
        self.batch_norm = batch_norm
        bn = batch_norm
        self.Conv3d_1a_7x7 = Unit3D(3, 64, 7, stride=2, batch_norm=bn)
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64, 1, batch_norm=bn)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, 3, batch_norm=bn)
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        channels = 192
        for name in (
            "Mixed_3b",
            "Mixed_3c",
            "Mixed_4b",
            "Mixed_4c",
            "Mixed_4d",
            "Mixed_4e",
            "Mixed_4f",
            "Mixed_5b",
            "Mixed_5c",
        ):
            # Registration order is forward order: the pools sit between 3c/4b and 4f/5b.
            if name == "Mixed_4b":
                self.MaxPool3d_4a_3x3 = MaxPool3dSame(3, 2)
            if name == "Mixed_5b":
                self.MaxPool3d_5a_2x2 = MaxPool3dSame(2, 2)
            block = InceptionBlock(channels, INCEPTION_CHANNELS[name], batch_norm=bn)
            setattr(self, name, block)
            channels = block.out_channels
        self.avg_pool = ClampedAvgPool3d((2, 7, 7))
        self.logits = nn.Conv3d(channels, num_classes, kernel_size=1, bias=True)
        self.num_classes = num_classes

    @staticmethod
    def check_input(inputs: torch.Tensor) -> None:
        """Raise :class:`VideoXAIError` unless ``inputs`` is a float ``(N, 3, T, H, W)`` tensor."""
        if not isinstance(inputs, torch.Tensor):
            raise VideoXAIError(
                f"I3D input must be a torch.Tensor of shape (N, 3, T, H, W), got {type(inputs).__name__}"
            )
        if inputs.ndim != 5 or inputs.shape[1] != 3 or min(inputs.shape) < 1:
            raise VideoXAIError(
                f"I3D input must have shape (N, 3, T, H, W) (RGB, channels first), got {tuple(inputs.shape)}"
            )
        if not inputs.is_floating_point():
            raise VideoXAIError(f"I3D input must be float RGB scaled to [-1, 1], got dtype {inputs.dtype}")

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``Mixed_5c`` output ``(N, 1024, ceil(T/8), ceil(H/32), ceil(W/32))``."""
        outputs = inputs
        for name, module in self.named_children():
            if name == "avg_pool":
                break
            outputs = module(outputs)
        return outputs

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        self.check_input(inputs)
        per_position = self.logits(self.avg_pool(self.features(inputs)))
        return per_position.mean(dim=(2, 3, 4))


def fold_batchnorm(model: InceptionI3d) -> InceptionI3d:
    """A BN-free copy of an unfolded model: each conv gets ``w * s`` and bias ``beta - mean * s``
    with ``s = gamma / sqrt(var + eps)``, computed in float64 and stored as float32."""
    if not model.batch_norm:
        raise ValueError("model has no BatchNorm to fold")
    folded = InceptionI3d(num_classes=model.num_classes, batch_norm=False)
    folded_modules = dict(folded.named_modules())
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, Unit3D):
                target = folded_modules[name]
                bn = module.bn
                scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
                weight = module.conv.weight.double() * scale.view(-1, 1, 1, 1, 1)
                bias = bn.bias.double() - bn.running_mean.double() * scale
                target.conv.weight.copy_(weight.float())
                target.conv.bias.copy_(bias.float())
        folded.logits.weight.copy_(model.logits.weight)
        folded.logits.bias.copy_(model.logits.bias)
    return folded.train(model.training)


_fold_batchnorm = fold_batchnorm  # the loader's ``fold_batchnorm`` argument shadows the function


def kinetics400_class_names() -> tuple[str, ...]:
    """The 400 Kinetics class names in the index order of the logits (alphabetical)."""
    text = (
        importlib_resources.files("videoxai.models").joinpath("data/kinetics400_labels.txt").read_text(encoding="utf-8")
    )
    names = read_class_names(text.splitlines())
    if len(names) != NUM_CLASSES:
        raise VideoXAIError(f"package data kinetics400_labels.txt has {len(names)} names, expected {NUM_CLASSES}")
    return names


def _state_from_file(path: Path) -> tuple[dict[str, torch.Tensor], str]:
    """State dict + sha256 from our safetensors/.pt, or straight from DeepMind's Flax ``.ckpt``."""
    from videoxai.models import i3d_weights  # here: i3d_weights imports this module's network

    if path.suffix == ".ckpt":
        if not path.is_file():
            raise VideoXAIError("weight file not found", path)
        return i3d_weights.flax_to_torch_state(i3d_weights.read_flax_checkpoint(path), path), sha256_of(path)
    return load_state_dict_file(path)


def load_i3d_kinetics400(
    weights: str | os.PathLike | None = None,
    fold_batchnorm: bool = True,
    resources: str | os.PathLike | None = None,
    fetch: bool = True,
    **options: Any,
) -> tuple[InceptionI3d, ModelSpec]:
    """Pretrained I3D (Kinetics-400, RGB) in eval mode, with its :class:`ModelSpec`.

    Args:
        weights: converted ``.safetensors`` (unfolded layout, as written by
            ``videoxai fetch-weights``), a folded-layout state dict, or DeepMind's original
            ``i3d-kinetics-400.ckpt`` (read with the restricted unpickler). ``None`` uses
            ``<resources>/models/i3d_kinetics400.safetensors`` and, when that is absent and
            ``fetch`` is true, downloads and converts it first (messages go to stderr).
        fold_batchnorm: fold BN into the convolutions (default; what explanation methods need).
            ``False`` keeps ``nn.BatchNorm3d`` modules.
        resources: directory for converted weights; default :func:`videoxai.core.paths.resources_dir`.
        fetch: allow the automatic download when ``weights`` is ``None``.

    Returns:
        ``(model, spec)``; the model maps float32 ``(N, 3, T, H, W)`` in [-1, 1] to logits
        float32 ``(N, 400)``. ``spec.weights_sha256`` is the sha256 of the file read.
    """
    if options:
        raise VideoXAIError(
            f"unknown option(s) for i3d_kinetics400: {', '.join(sorted(options))} "
            "(accepted: weights, fold_batchnorm, resources, fetch)"
        )
    from videoxai.models import i3d_weights  # here: i3d_weights imports this module's network

    if weights is None:
        path = i3d_weights.default_weights_path(resources)
        if not path.is_file():
            if not fetch:
                raise VideoXAIError(
                    "converted I3D weights not found; run `videoxai fetch-weights i3d_kinetics400`", path
                )
            print(f"videoxai: {path} not found; fetching and converting the I3D checkpoint once", file=sys.stderr)
            i3d_weights.fetch_i3d_kinetics400(resources=resources, log=sys.stderr)
    else:
        path = Path(weights)
    state, sha256 = _state_from_file(path)

    unfolded_layout = any(".bn." in key for key in state)
    if unfolded_layout:
        model = InceptionI3d(batch_norm=True)
        load_strict(model, state, path)
        if fold_batchnorm:
            model = _fold_batchnorm(model)
    else:
        if not fold_batchnorm:
            raise VideoXAIError(
                "weights are already BatchNorm-folded; cannot build the unfolded variant from them", path
            )
        model = InceptionI3d(batch_norm=False)
        load_strict(model, state, path)
    model.eval()

    spec = ModelSpec(
        name="i3d_kinetics400",
        num_frames=64,
        size=224,
        class_names=kinetics400_class_names(),
        resize_short_side=256,
        scale=1.0 / 127.5,
        offset=-1.0,
        weights_sha256=sha256,
        extra={"weights_path": str(path), "fold_batchnorm": fold_batchnorm, "source": i3d_weights.SOURCE_DESCRIPTION},
    )
    return model, spec


__all__ = [
    "InceptionI3d",
    "InceptionBlock",
    "Unit3D",
    "MaxPool3dSame",
    "TFSamePad3d",
    "ClampedAvgPool3d",
    "tf_same_padding",
    "fold_batchnorm",
    "kinetics400_class_names",
    "load_i3d_kinetics400",
]
