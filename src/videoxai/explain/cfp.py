"""Class Feature Pyramids (Stergiou et al. 2019): which kernels, layer by layer, carry a class.

Starting from the target class's weights of the classifier, the kernels of the last layer whose
min-max-normalised weight is ≥ θ are kept. Then, for ``depth`` steps back through ``layers``
(deepest first), every kept kernel j of layer l scores the kernels i of layer l − 1 by

    s_ji = pooled(A_{l−1, i}) · w_ji

(pooled = the ReLU'd activation's mean over (t, h, w) for this clip; w_ji = the connecting weight
from i to j, see :func:`connecting_weights`), each kept kernel's scores are min-max normalised,
and the kernels of layer l − 1 with a normalised score ≥ θ for at least one kept j are kept.

Relevance: per layer, the kept kernels' activations summed over channels, upsampled trilinearly
to the clip and divided by their clip maximum; then averaged over the layers (each layer counts
the same). The kept kernels per layer come with the result (:class:`PyramidExplanation`), for
the explain shard (:func:`pyramid_arrays`) and the figure (:func:`plot_pyramid`).

Defaults: ``layers`` = I3D's last Inception blocks (``Mixed_5c``, ``Mixed_5b``, ``Mixed_4f``, …)
or, for other networks, the chain of ``Conv3d`` layers back from the last one (C3D:
``conv5b``, ``conv5a``, ``conv4b``, ``conv4a``). Where the classifier does not act on one
pooled value per channel of the first layer (C3D's ``fc8``), the class weights are that layer's
Grad-CAM channel weights (the target logit's gradient averaged over (t, h, w)), which for a
global-pooling classifier are its weights divided by the number of positions — the same after
normalisation.

Connecting weights of a block with several paths (Inception) are those of its linear paths:
each branch's convolution weights summed over the kernel's (t, h, w) and multiplied along the
branch, ReLUs and poolings taken as identity, branches stacked as in the concatenation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.data.shards import shard_key
from videoxai.explain.base import Explainer, Explanation, resolve_target
from videoxai.explain.extra_common import (
    captured_outputs,
    check_positive_int,
    class_weight_matrix,
    get_module,
    resolve_classifier,
    single_output,
)

I3D_BLOCKS = (
    "Mixed_5c",
    "Mixed_5b",
    "Mixed_4f",
    "Mixed_4e",
    "Mixed_4d",
    "Mixed_4c",
    "Mixed_4b",
    "Mixed_3c",
    "Mixed_3b",
)

# modules that keep each channel to itself: no connecting matrix (identity)
_CHANNELWISE = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Dropout,
    nn.Dropout3d,
    nn.Identity,
    nn.MaxPool3d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool3d,
    nn.ConstantPad3d,
    nn.ReplicationPad3d,
)


@dataclass
class PyramidExplanation(Explanation):
    """An :class:`Explanation` plus the pyramid.

    Attributes:
        layers: the module names, deepest first (``depth + 1`` of them).
        kept: per layer, bool ``(N, C_layer)``: the kernels kept for each clip.
        maps: per layer, float32 ``(N, t, h, w)``: the kept kernels' summed activations at the
            layer's own resolution.
    """

    layers: tuple[str, ...] = ()
    kept: list[torch.Tensor] = field(default_factory=list)
    maps: list[torch.Tensor] = field(default_factory=list)

    def extra_arrays(self) -> tuple[dict, dict]:
        """The pyramid with its maps (:func:`pyramid_arrays`): the layer names are shared by all
        clips, the kept kernels and maps are per clip."""
        arrays = pyramid_arrays(self, maps=True)
        layers = shard_key("explain", "layers", group="cfp")
        return {name: value for name, value in arrays.items() if name != layers}, {layers: arrays[layers]}


def connecting_weights(module: nn.Module) -> torch.Tensor | None:
    """float32 ``(C_out, C_in)`` weights from the module's input channels to its output channels
    along its linear paths, or ``None`` for a channel-wise module (identity)."""
    if isinstance(module, nn.Conv3d):
        if module.groups != 1:
            raise VideoXAIError(f"cfp: grouped convolutions are not supported ({module})")
        return module.weight.detach().to(torch.float32).sum(dim=(2, 3, 4))
    if isinstance(module, nn.Linear):
        return module.weight.detach().to(torch.float32)
    if isinstance(module, nn.BatchNorm3d):
        return torch.diag(module.weight.detach() / torch.sqrt(module.running_var + module.eps)).to(torch.float32)
    if isinstance(module, _CHANNELWISE):
        return None
    children = list(module.named_children())
    branches = [child for name, child in children if name.startswith("Branch_")]
    if branches:  # parallel paths, concatenated along channels
        return torch.cat([connecting_weights(branch) for branch in branches], dim=0)
    if children:  # sequential: compose in registration order
        matrix = None
        for _, child in children:
            step = connecting_weights(child)
            if step is not None:
                matrix = step if matrix is None else step @ matrix
        return matrix
    if not any(True for _ in module.parameters(recurse=False)):
        return None  # parameter-free leaf (padding, pooling, activation of another type)
    raise VideoXAIError(f"cfp: no connecting weights for a {type(module).__name__}; pass layers= of Conv3d names")


def default_layers(model: nn.Module, depth: int) -> tuple[str, ...]:
    """``depth + 1`` layer names, deepest first (see the module docstring)."""
    names = dict(model.named_modules())
    if all(name in names for name in I3D_BLOCKS[: depth + 1]):
        if depth + 1 > len(I3D_BLOCKS):
            raise VideoXAIError(f"cfp: I3D has {len(I3D_BLOCKS)} Inception blocks, depth {depth} needs {depth + 1}")
        return I3D_BLOCKS[: depth + 1]
    convolutions = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv3d)]
    if not convolutions:
        raise VideoXAIError(f"cfp: {type(model).__name__} has no Conv3d; pass layers=")
    chain = [convolutions[-1]]
    for name, module in reversed(convolutions[:-1]):
        if len(chain) == depth + 1:
            break
        if module.out_channels == chain[-1][1].in_channels:
            chain.append((name, module))
    if len(chain) < depth + 1:
        raise VideoXAIError(f"cfp: found only {len(chain)} chained Conv3d layers for depth {depth}; pass layers=")
    return tuple(name for name, _ in chain)


def _normalise_rows(scores: torch.Tensor) -> torch.Tensor:
    low = scores.amin(dim=-1, keepdim=True)
    high = scores.amax(dim=-1, keepdim=True)
    return (scores - low) / (high - low).clamp_min(1e-12)


class ClassFeaturePyramid(Explainer):
    """Class Feature Pyramid of ``depth`` steps back through ``layers`` with threshold ``theta``."""

    name = "cfp"

    def __init__(
        self,
        model: nn.Module,
        spec=None,
        layers=None,
        depth: int = 3,
        theta: float = 0.6,
        classifier: str | None = None,
    ):
        super().__init__(model, spec)
        self.depth = check_positive_int(depth, "depth", self.name) if depth != 0 else 0
        if not 0.0 <= float(theta) <= 1.0:
            raise VideoXAIError(f"cfp: theta must lie in [0, 1], got {theta!r}")
        self.theta = float(theta)
        self.layer_names = tuple(layers) if layers is not None else default_layers(model, self.depth)
        if len(self.layer_names) != self.depth + 1:
            raise VideoXAIError(f"cfp: depth {self.depth} needs {self.depth + 1} layers, got {list(self.layer_names)}")
        self.layers = {name: get_module(model, name, "cfp layer") for name in self.layer_names}
        self.classifier_name, self.classifier = resolve_classifier(model, classifier)
        self.connections = [connecting_weights(self.layers[name]) for name in self.layer_names[:-1]]
        self._pyramid: tuple[list, list] = ([], [])

    def attribute(self, inputs: torch.Tensor, target=None) -> PyramidExplanation:
        """As :meth:`Explainer.attribute`, returning a :class:`PyramidExplanation`."""
        result = super().attribute(inputs, target)
        kept, maps = self._pyramid
        self._pyramid = ([], [])
        return PyramidExplanation(
            result.relevance,
            result.logits,
            result.target,
            result.method,
            result.seconds,
            layers=self.layer_names,
            kept=kept,
            maps=maps,
        )

    __call__ = attribute

    def _attribute(self, inputs, target):
        with captured_outputs(self.layers) as outputs, torch.no_grad():
            logits = self.model(inputs)
        raw = [single_output(outputs, name, self.name) for name in self.layer_names]
        resolved = resolve_target(target, logits)
        weights = class_weight_matrix(self.classifier, raw[0].shape[1], self.name, self.classifier_name)
        if weights is not None:
            class_weights = weights.to(raw[0].device)[resolved]
        else:  # no weight per channel (C3D): Grad-CAM channel weights, from a second pass with gradients
            deepest = self.layer_names[0]
            with captured_outputs({deepest: self.layers[deepest]}) as graph_outputs:
                graph_logits = self.model(inputs.detach().requires_grad_(True))
            activation = single_output(graph_outputs, deepest, self.name)
            (gradient,) = torch.autograd.grad(graph_logits.gather(1, resolved[:, None]).sum(), activation)
            class_weights = gradient.to(torch.float32).mean(dim=(2, 3, 4))
        activations = [output.detach().to(torch.float32).clamp_min(0.0) for output in raw]
        pooled = [activation.mean(dim=(2, 3, 4)) for activation in activations]  # (N, C_l)
        kept = [_normalise_rows(class_weights) >= self.theta]
        for level, matrix in enumerate(self.connections):
            previous = pooled[level + 1]
            if matrix is None or matrix.shape != (activations[level].shape[1], previous.shape[1]):
                shape = None if matrix is None else tuple(matrix.shape)
                raise VideoXAIError(
                    f"cfp: {self.layer_names[level]!r} does not connect {previous.shape[1]} channels of "
                    f"{self.layer_names[level + 1]!r} to its {activations[level].shape[1]} (weights {shape})"
                )
            scores = _normalise_rows(matrix.to(previous.device)[None] * previous[:, None, :])  # (N, C_l, C_{l-1})
            kept.append(((scores >= self.theta) & kept[level][:, :, None]).any(dim=1))
        size = tuple(inputs.shape[2:])
        maps, relevance = [], torch.zeros((inputs.shape[0], *size), device=inputs.device)
        for activation, keep in zip(activations, kept):
            summed = torch.einsum("nc,ncthw->nthw", keep.to(activation.dtype), activation)
            maps.append(summed)
            upsampled = F.interpolate(summed[:, None], size=size, mode="trilinear", align_corners=False)[:, 0]
            peak = upsampled.flatten(1).amax(dim=1).clamp_min(1e-12)
            relevance += upsampled / peak[:, None, None, None]
        self._pyramid = ([keep.cpu() for keep in kept], [summed.cpu() for summed in maps])
        return relevance / len(activations), logits.detach(), resolved


def pyramid_arrays(explanation: PyramidExplanation, maps: bool = False) -> dict[str, np.ndarray]:
    """The pyramid as explain-shard datasets (names from :func:`videoxai.data.shards.shard_key`):
    ``cfp/pyramid/layers`` (str, depth + 1) and ``cfp/pyramid/kept_{level}`` bool ``(N, C_level)``,
    level 0 = deepest; with ``maps=True`` also ``cfp/pyramid/map_{level}`` float32 ``(N, t, h, w)``
    (the kept kernels' summed activation at the layer's resolution, what :func:`plot_pyramid` draws)."""
    arrays: dict[str, np.ndarray] = {
        shard_key("explain", "layers", group="cfp"): np.asarray(explanation.layers, dtype=object)
    }
    for level, keep in enumerate(explanation.kept):
        arrays[shard_key("explain", "kept_{level}", level=level, group="cfp")] = (
            keep.detach().cpu().numpy().astype(bool)
        )
        if maps:
            arrays[shard_key("explain", "map_{level}", level=level, group="cfp")] = (
                explanation.maps[level].detach().cpu().numpy().astype(np.float32)
            )
    return arrays


def pyramid_from_arrays(arrays, relevance, target) -> PyramidExplanation:
    """The :class:`PyramidExplanation` that :func:`pyramid_arrays` (with ``maps=True``) stored,
    e.g. read back from an explain shard, with relevance float ``(N, T, H, W)`` and target
    int ``(N,)``; logits are not stored and come back empty."""
    layers = tuple(str(name) for name in arrays[shard_key("explain", "layers", group="cfp")])
    kept_keys = [shard_key("explain", "kept_{level}", level=level, group="cfp") for level in range(len(layers))]
    map_keys = [shard_key("explain", "map_{level}", level=level, group="cfp") for level in range(len(layers))]
    missing = [key for key in map_keys if key not in arrays]
    if missing:
        raise VideoXAIError(f"the pyramid lacks {missing} (written without maps=True?)")
    relevance = torch.as_tensor(np.asarray(relevance), dtype=torch.float32)
    return PyramidExplanation(
        relevance=relevance,
        logits=torch.zeros(len(relevance), 0),
        target=torch.as_tensor(np.asarray(target), dtype=torch.int64),
        method="cfp",
        layers=layers,
        kept=[torch.as_tensor(np.asarray(arrays[key], dtype=bool)) for key in kept_keys],
        maps=[torch.as_tensor(np.asarray(arrays[key], dtype=np.float32)) for key in map_keys],
    )


def plot_pyramid(explanation: PyramidExplanation, clip: int = 0, frames: np.ndarray | None = None, path=None):
    """Figure of one clip's pyramid: per layer (deepest at the top) the kept kernels as a strip
    and the kept kernels' summed activation at the middle frame, over the frame if ``frames``
    uint8 ``(T, H, W, 3)`` is given. Saved to ``path`` if given; returns the figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    levels = len(explanation.layers)
    figure, axes = plt.subplots(
        levels, 2, figsize=(8, 2.2 * levels), squeeze=False, gridspec_kw={"width_ratios": [3, 1]}
    )
    size = tuple(explanation.relevance.shape[1:])
    middle = size[0] // 2
    for level, (name, keep, summed) in enumerate(zip(explanation.layers, explanation.kept, explanation.maps)):
        strip = keep[clip].numpy()[None].astype(float)
        axes[level, 0].imshow(strip, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
        axes[level, 0].set_yticks([])
        axes[level, 0].set_title(f"{name}: {int(strip.sum())} of {strip.shape[1]} kernels kept", fontsize=9)
        upsampled = F.interpolate(summed[clip][None, None], size=size, mode="trilinear", align_corners=False)[0, 0]
        if frames is not None:
            axes[level, 1].imshow(frames[middle])
        axes[level, 1].imshow(upsampled[middle].numpy(), cmap="jet", alpha=0.5 if frames is not None else 1.0)
        axes[level, 1].set_axis_off()
    axes[-1, 0].set_xlabel("kernel index")
    figure.suptitle(f"Class feature pyramid, class {int(explanation.target[clip])}", fontsize=10)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure
