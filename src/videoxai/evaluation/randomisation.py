"""Model-parameter randomisation test for video explanations (cascading, top layer first).

Adebayo et al. (2018, "Sanity checks for saliency maps") ask whether an explanation depends on
the model at all: re-initialise the model's layers one after another, from the output down,
and compare each method's map with the map of the trained model. A map that stays similar
while the weights that produced the prediction are gone explains the input, not the model
(their finding for Guided Backprop). Evaluation libraries implement this for images only; this
module does it for 5-D video input ``(N, 3, T, H, W)`` and also for selective maps.

Pieces, each usable on its own:

* :func:`layer_groups`: the model's parameterised layers, grouped into levels (I3D: its 14
  named blocks; C3D: its 11 layers; torchvision's video ResNets: stem, each residual block, fc);
* :func:`randomise_group`: seeded re-initialisation of one level, in place;
* :func:`map_similarity`: Spearman rank correlation of ``|R|``, SSIM per frame averaged, and
  IoU of the top-q voxels between two maps;
* :func:`cascading_randomisation`: the whole test on a deep copy of the model (the caller's
  model is never changed), as tidy rows.

Similarity is undefined (NaN) when either map is empty (no voxel with ``R != 0``, as selective
maps of a randomised model often are); the rows say so in ``empty`` so a table can count them.
Spearman is also NaN when either map is constant over the clip.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.evaluation.metrics import intersection_over_union, top_fraction_mask
from videoxai.motion.selective import selective_from_settings

SIMILARITIES = ("spearman", "ssim", "iou")
# What each similarity (and so its mean over clips) can take: intervals are cut to it.
SIMILARITY_BOUNDS: dict[str, tuple[float, float]] = {"spearman": (-1.0, 1.0), "ssim": (-1.0, 1.0), "iou": (0.0, 1.0)}
# Columns of the rows :func:`cascading_randomisation` returns, in order.
COLUMNS = ("video", "clip", "method", "variant", "n", "depth", "layer", "target", *SIMILARITIES, "empty")
# SSIM as Wang et al. (2004): 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, maps in [0, 1].
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
DEFAULT_TOP_Q = 0.05

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LayerGroup:
    """One level of the cascade.

    Attributes:
        name: the block's qualified module name (``"Mixed_5c"``, ``"layer4.1"``, ``"3"``).
        modules: qualified names of the modules inside it that own parameters, in order.
    """

    name: str
    modules: tuple[str, ...]


def _owns_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def _has_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def _is_block(module: nn.Module) -> bool:
    """A module that holds parameterised sub-modules (an Inception or residual block), not a layer."""
    return any(_has_parameters(child) for child in module.children())


def _group(name: str, module: nn.Module) -> LayerGroup:
    prefix = f"{name}." if name else ""
    owners = [f"{prefix}{inner}".rstrip(".") for inner, sub in module.named_modules() if _owns_parameters(sub)]
    return LayerGroup(name=name, modules=tuple(owners))


GROUPINGS = ("blocks", "layers")


def layer_groups(model: nn.Module, grouping: str = "blocks") -> list[LayerGroup]:
    """The model's parameterised levels, from the input to the output (registration order).

    ``grouping="blocks"`` (default): a level is a direct child of the model that has parameters
    (I3D's ``Conv3d_1a_7x7`` … ``Mixed_5c``, ``logits``: 13 levels; C3D's ``conv1`` … ``fc8``: 11).
    A child that is a plain container (``nn.Sequential``/``nn.ModuleList``) of two or more blocks
    is split into those blocks, so torchvision's ``layer1`` … ``layer4`` become their residual
    blocks (10 levels for R3D-18) and S3D's ``features`` its stages (13). Parameter-free modules
    (pooling, ReLU) are no level. ``grouping="layers"``: every module that owns parameters is
    its own level (fine-grained; I3D has 58, so the test costs about four times as much).

    Raises:
        VideoXAIError: when the model has no parameters.
        ConfigurationError: for an unknown ``grouping``.
    """
    if grouping not in GROUPINGS:
        raise ConfigurationError(
            f"grouping must be one of {list(GROUPINGS)}, got {grouping!r}", "randomisation.grouping"
        )
    if grouping == "layers":
        groups = [
            LayerGroup(name=name, modules=(name,)) for name, module in model.named_modules() if _owns_parameters(module)
        ]
        if not groups:
            raise VideoXAIError(f"{type(model).__name__} has no parameters to randomise")
        return groups
    groups: list[LayerGroup] = []
    if _owns_parameters(model):
        groups.append(LayerGroup(name="", modules=("",)))  # a bare layer as the whole model
    for name, child in model.named_children():
        if not _has_parameters(child):
            continue
        blocks = [(inner, sub) for inner, sub in child.named_children() if _has_parameters(sub)]
        container = isinstance(child, (nn.Sequential, nn.ModuleList)) and not _owns_parameters(child)
        if container and sum(_is_block(sub) for _, sub in blocks) >= 2:
            groups.extend(_group(f"{name}.{inner}", sub) for inner, sub in blocks)
        else:
            groups.append(_group(name, child))
    if not groups:
        raise VideoXAIError(f"{type(model).__name__} has no parameters to randomise")
    return groups


def _group_seed(seed: int, index: int) -> int:
    # Each level gets its own stream, so a level's new weights do not depend on which other
    # levels were randomised before it (or on the device).
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def randomise_group(model: nn.Module, group: LayerGroup, seed: int, index: int = 0) -> None:
    """Re-initialise every parameter of ``group`` in ``model``, in place, reproducibly.

    A multi-dimensional ``weight`` and the ``bias`` beside it are drawn from U(−b, b) with
    b = 1/√fan_in, PyTorch's default init of convolutions and linear layers; any other parameter
    (a norm layer's scale and shift) is drawn from a normal with the original values' mean and
    standard deviation. Draws come from a CPU generator seeded by ``(seed, index)``, so the same
    seed gives the same weights on any device. Buffers (BatchNorm statistics) are kept.

    Args:
        index: the group's position in :func:`layer_groups` (part of the seed).
    """
    generator = torch.Generator().manual_seed(_group_seed(seed, index))
    modules = dict(model.named_modules())
    for module_name in group.modules:
        module = modules[module_name]
        own = dict(module.named_parameters(recurse=False))
        weight = own.get("weight")
        fan_in = weight[0].numel() if weight is not None and weight.ndim >= 2 else None
        with torch.no_grad():
            for name, parameter in own.items():
                if fan_in is not None and name in ("weight", "bias"):
                    bound = 1.0 / math.sqrt(max(fan_in, 1))
                    values = torch.empty(parameter.shape).uniform_(-bound, bound, generator=generator)
                else:
                    original = parameter.detach().float().cpu()
                    spread = float(original.std()) if original.numel() > 1 else 0.0
                    values = torch.randn(parameter.shape, generator=generator) * (spread or 1.0) + float(
                        original.mean()
                    )
                parameter.copy_(values.to(device=parameter.device, dtype=parameter.dtype))


def _flat_abs(relevance, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(relevance).detach().to(torch.float64)
    if tensor.ndim != 4:
        raise VideoXAIError(f"{name}: expected relevance (N, T, H, W), got shape {tuple(tensor.shape)}")
    return tensor.abs().reshape(tensor.shape[0], -1)


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1 … V of a 1-D tensor, tied values sharing the mean of their ranks."""
    unique, inverse, counts = torch.unique(values, sorted=True, return_inverse=True, return_counts=True)
    last = torch.cumsum(counts, 0).to(torch.float64)
    mean_rank = last - (counts.to(torch.float64) - 1.0) / 2.0
    return mean_rank[inverse]


def spearman_abs(first, second) -> np.ndarray:
    """Spearman rank correlation of ``|first|`` and ``|second|`` per clip over all voxels.

    Args:
        first, second: float ``(N, T, H, W)`` (numpy or torch).
    Returns:
        float64 ``(N,)``; NaN for a clip where either map is constant (no ranking to compare).
    """
    first, second = _flat_abs(first, "first"), _flat_abs(second, "second")
    if first.shape != second.shape:
        raise VideoXAIError(f"maps differ in shape: {tuple(first.shape)} vs {tuple(second.shape)}")
    result = np.full(first.shape[0], np.nan)
    for clip in range(first.shape[0]):
        ranks_a, ranks_b = _average_ranks(first[clip]), _average_ranks(second[clip])
        ranks_a, ranks_b = ranks_a - ranks_a.mean(), ranks_b - ranks_b.mean()
        denominator = torch.sqrt((ranks_a**2).sum() * (ranks_b**2).sum())
        if denominator > 0:
            result[clip] = float((ranks_a * ranks_b).sum() / denominator)
    return result


def _gaussian_window(device) -> torch.Tensor:
    offsets = torch.arange(SSIM_WINDOW, dtype=torch.float64, device=device) - (SSIM_WINDOW - 1) / 2
    weights = torch.exp(-(offsets**2) / (2 * SSIM_SIGMA**2))
    weights = weights / weights.sum()
    return (weights[:, None] * weights[None, :])[None, None]  # (1, 1, k, k)


def ssim_frames(first, second) -> np.ndarray:
    """Structural similarity of ``|first|`` and ``|second|``, per frame, averaged per clip.

    Each map's ``|R|`` is divided by its maximum over the clip (so SSIM compares where the
    relevance lies, not its scale; data range 1), then SSIM (Wang et al. 2004: Gaussian window
    11x11, sigma 1.5, K1 0.01, K2 0.03, "valid" windows only) is computed on every 2-D frame and
    averaged over the frames. Written here because scikit-image is no dependency of the project.

    Args:
        first, second: float ``(N, T, H, W)`` with ``H, W >= 11``.
    Returns:
        float64 ``(N,)``; a map that is zero everywhere is compared as all zeros.
    """
    a = torch.as_tensor(first).detach().to(torch.float64).abs()
    b = torch.as_tensor(second).detach().to(torch.float64).abs()
    if a.ndim != 4 or a.shape != b.shape:
        raise VideoXAIError(f"SSIM: need two maps (N, T, H, W) of one shape, got {tuple(a.shape)}, {tuple(b.shape)}")
    if min(a.shape[2:]) < SSIM_WINDOW:
        raise VideoXAIError(f"SSIM: frames must be at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {tuple(a.shape[2:])}")

    def scaled(volume):
        peak = volume.flatten(1).amax(dim=1).clamp_min(torch.finfo(torch.float64).tiny)
        return volume / peak[:, None, None, None]

    clips, frames, height, width = a.shape
    a = scaled(a).reshape(clips * frames, 1, height, width)
    b = scaled(b).reshape(clips * frames, 1, height, width)
    window = _gaussian_window(a.device)
    mean_a, mean_b = F.conv2d(a, window), F.conv2d(b, window)
    var_a = F.conv2d(a * a, window) - mean_a**2
    var_b = F.conv2d(b * b, window) - mean_b**2
    covariance = F.conv2d(a * b, window) - mean_a * mean_b
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    index = ((2 * mean_a * mean_b + c1) * (2 * covariance + c2)) / ((mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2))
    per_frame = index.flatten(1).mean(dim=1).reshape(clips, frames)
    return per_frame.mean(dim=1).cpu().numpy()


def top_iou(first, second, q: float = DEFAULT_TOP_Q) -> np.ndarray:
    """IoU of the top-``q`` fraction of voxels by ``|R|`` of two maps, per clip.

    ``k = ceil(q * T*H*W)``; each set is ``|R| >= (k-th largest |R|)`` among voxels with
    ``R != 0`` (ties at the threshold all kept; a map with fewer than ``k`` non-zero voxels
    gives just those), as :func:`videoxai.evaluation.metrics.top_fraction_mask` does for ``R > 0``.

    Args:
        first, second: float ``(N, T, H, W)``.
    Returns:
        float64 ``(N,)``; NaN where both sets are empty.
    """
    first_abs = _flat_abs(first, "first").reshape(torch.as_tensor(first).shape).numpy()
    second_abs = _flat_abs(second, "second").reshape(torch.as_tensor(second).shape).numpy()
    return intersection_over_union(top_fraction_mask(first_abs, q), top_fraction_mask(second_abs, q))


def map_similarity(original, other, top_q: float = DEFAULT_TOP_Q) -> dict[str, np.ndarray]:
    """All three similarities of two maps, per clip, with emptiness made explicit.

    Args:
        original, other: float ``(N, T, H, W)``.
    Returns:
        ``{"spearman", "ssim", "iou"}``: float64 ``(N,)`` each, NaN where ``empty``;
        ``"empty"``: bool ``(N,)``, True where either map has no voxel with ``R != 0``.
    """
    first = torch.as_tensor(original).detach()
    second = torch.as_tensor(other).detach()
    empty = ~(first.flatten(1).ne(0).any(dim=1) & second.flatten(1).ne(0).any(dim=1)).cpu().numpy()
    values = {
        "spearman": spearman_abs(first, second),
        "ssim": ssim_frames(first, second),
        "iou": top_iou(first, second, top_q),
    }
    for name in values:
        values[name][empty] = np.nan
    values["empty"] = empty
    return values


def _check_depths(depths: Sequence[int] | None, levels: int) -> list[int]:
    """The cascade depths to evaluate: every one (``None``), else the given ones plus the full depth."""
    if depths is None:
        return list(range(1, levels + 1))
    chosen = sorted({int(depth) for depth in depths})
    if any(depth < 1 for depth in chosen):
        raise ConfigurationError(f"depths must be at least 1, got {chosen}", "randomisation.depths")
    # Deeper than the model means "all of it"; the full cascade is always part of the curve.
    return sorted({min(depth, levels) for depth in chosen} | {levels})


def _maps(explainers: Mapping, inputs: torch.Tensor, target: torch.Tensor | None, share: bool) -> dict:
    """Every method's relevance ``(N, T, H, W)`` (CPU float32) and explained class for fixed inputs."""
    results: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for method in sorted(explainers, key=lambda name: name == "guided_gradcam"):  # its sources first
        if method == "guided_gradcam" and share:
            # Guided Grad-CAM is exactly Guided BP (summed over colours) times Grad-CAM for one target.
            results[method] = (results["guided_backprop"][0] * results["gradcam"][0], results["gradcam"][1])
            continue
        explanation = explainers[method].attribute(inputs, target=target)
        results[method] = (explanation.relevance.detach().float().cpu(), explanation.target.detach().cpu())
    return results


def _variants(relevance: torch.Tensor, selective: Mapping | None) -> list[tuple[str, float, torch.Tensor]]:
    """The baseline map and one selective map per configured n: ``(variant, n, map (N, T, H, W))``."""
    variants = [("baseline", math.nan, relevance)]
    if selective is not None:
        result = selective_from_settings(relevance, dict(selective))
        variants += [("selective", float(n), result.maps[index]) for index, n in enumerate(result.n)]
    return variants


def cascading_randomisation(
    model: nn.Module,
    inputs: torch.Tensor,
    explainers_for: Callable[[nn.Module], Mapping],
    *,
    selective: Mapping | None = None,
    depths: Sequence[int] | None = None,
    grouping: str = "blocks",
    seed: int = 0,
    top_q: float = DEFAULT_TOP_Q,
    share_guided_gradcam: bool = False,
    video: str = "",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The cascading model-parameter randomisation test on a batch of clips.

    A deep copy of ``model`` is explained as it is (depth 0), then its levels
    (:func:`layer_groups`) are re-initialised from the top down, one more at each depth
    (:func:`randomise_group`, seeded), and every method's map is recomputed for the class the
    trained model explained (the target stays fixed, so only the weights change). Each map,
    baseline and selective per n, is compared with its depth-0 counterpart (:func:`map_similarity`).

    Args:
        model: the trained model, in eval mode; never modified.
        inputs: float32 ``(N, 3, T, H, W)`` model input on the model's device.
        explainers_for: builds ``{method: Explainer}`` for a model (called once per depth, since
            explainers may keep state derived from the weights).
        selective: the study's ``selective`` settings (``n``, ``padding``); None = baseline only.
        depths: cascade depths to evaluate (None = every depth 1 … number of levels); the full
            cascade is always included.
        grouping: what a level is (:func:`layer_groups`).
        seed: seed of the re-initialisation.
        top_q: fraction of voxels for the top-q IoU.
        share_guided_gradcam: compute Guided Grad-CAM as Guided BP × Grad-CAM (same result when
            both are configured with the same layer and precision; see
            :func:`videoxai.explain.batched.shared_guided_gradcam`).
        video: the video id written in the rows.
    Returns:
        DataFrame with :data:`COLUMNS`: one row per clip, method, variant, n and depth
        (depth 0 included, where every defined similarity is 1); ``layer`` names the lowest level
        randomised at that depth ("" at depth 0), ``target`` the explained class.
    """
    copied = copy.deepcopy(model)
    copied.eval()
    groups = layer_groups(copied, grouping)
    evaluate = set(_check_depths(depths, len(groups)))
    with torch.no_grad():
        target = copied(inputs).argmax(dim=1)
    original = _maps(explainers_for(copied), inputs, target, share_guided_gradcam)
    originals = {method: _variants(relevance, selective) for method, (relevance, _) in original.items()}
    frames = []

    def compare(depth: int, layer: str, maps: dict) -> None:
        for method, (relevance, explained) in maps.items():
            for (variant, n, first), (_, _, second) in zip(originals[method], _variants(relevance, selective)):
                values = map_similarity(first, second, top_q)
                frames.append(
                    pd.DataFrame(
                        {
                            "video": video,
                            "clip": np.arange(len(first)),
                            "method": method,
                            "variant": variant,
                            "n": n,
                            "depth": depth,
                            "layer": layer,
                            "target": explained.numpy().astype(np.int64),
                            **{name: values[name] for name in SIMILARITIES},
                            "empty": values["empty"],
                        }
                    )
                )

    compare(0, "", original)
    for depth in range(1, len(groups) + 1):
        index = len(groups) - depth
        randomise_group(copied, groups[index], seed, index)
        if depth not in evaluate:
            continue
        if progress:
            progress(f"{video}: randomised {depth}/{len(groups)} levels (down to {groups[index].name})")
        compare(depth, groups[index].name, _maps(explainers_for(copied), inputs, target, share_guided_gradcam))
    return pd.DataFrame(pd.concat(frames, ignore_index=True), columns=list(COLUMNS))


__all__ = [
    "COLUMNS",
    "DEFAULT_TOP_Q",
    "GROUPINGS",
    "SIMILARITIES",
    "SIMILARITY_BOUNDS",
    "LayerGroup",
    "cascading_randomisation",
    "layer_groups",
    "map_similarity",
    "randomise_group",
    "spearman_abs",
    "ssim_frames",
    "top_iou",
]
