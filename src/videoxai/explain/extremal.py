"""Extremal perturbation in 3D (Fong et al. 2019) and its frequency-modulated form, FEP (Lin et al. 2021).

A mask over (T, H, W) is kept at reduced resolution, ``ceil(T / s_t) x ceil(H / s) x ceil(W / s)``
for ``mask_stride = (s_t, s, s)``, with values in [0, 1], and upsampled trilinearly (smooth) to
the clip. The clip is *preserved* inside the mask and blurred (``perturbation="blur"``: each
frame, Gaussian of ``blur_sigma`` px) or faded to the preprocessed zero (``"fade"``) outside::

    x_m = m ⊙ x + (1 − m) ⊙ x̃

and the mask maximises the target's logit under an area constraint of fraction ``area`` (the
ranking regulariser of Fong et al.: the sorted mask values should equal a step of ``area``·M
ones and zeros)::

    loss = − logit_k(x_m) + λ_i · mean((sort(m) − r_area)²),   λ_i growing geometrically
    from ``area_weight`` / 100 to ``area_weight`` over the iterations

Optimiser: gradient descent with momentum (0.9), each clip's step normalised by its largest
|gradient| (scale free across models) and the mask clamped to [0, 1]. A linear optimiser keeps
what the modulation does: for ``fep`` (``dct=True``) the gradient of the low-resolution mask is
modulated in frequency at every step,

    g ← IDCT( L ⊙ DCT(g) ),    L(k) = 1 if ‖k / n‖ ≤ cutoff else attenuation

with an orthonormal DCT-II over (t, h, w) and ‖k / n‖ the Euclidean norm of the frequency
indices each divided by the axis length (0 = DC, about 1.7 = highest in all three axes); so
the mask moves only along smooth (low-frequency) directions. ``extremal_perturbation`` is the
same code with the modulation off. The relevance is the final upsampled mask, in [0, 1].

Cost: ``iterations`` forward + backward passes per batch of clips (default 30; about 30 times
Grad-CAM's cost, see ``benchmarks/results/cpu-extra-methods.md``). Written by hand because no
maintained library does extremal perturbation for 5-D video input (TorchRay's is 2-D).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.explain.base import Explainer, resolve_target
from videoxai.explain.extra_common import blur_frames, check_positive_int

PERTURBATIONS = ("blur", "fade")


def dct_matrix(length: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``(length, length)``: row k is the k-th cosine basis vector."""
    index = torch.arange(length, dtype=torch.float64)
    matrix = torch.cos(math.pi * (index[None, :] + 0.5) * index[:, None] / length) * math.sqrt(2.0 / length)
    matrix[0] /= math.sqrt(2.0)
    return matrix.to(device=device, dtype=dtype)


def dct3(volume: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Orthonormal DCT-II (or its inverse) over the last three axes of ``(..., t, h, w)``."""
    mats = [dct_matrix(size, volume.device, volume.dtype) for size in volume.shape[-3:]]
    if inverse:
        mats = [matrix.T for matrix in mats]
    return torch.einsum("...abc,ia,jb,kc->...ijk", volume, *mats)


def low_pass(shape: tuple[int, int, int], cutoff: float, attenuation: float = 0.0, device=None) -> torch.Tensor:
    """Frequency gains ``(t, h, w)``: 1 where ‖(k_t / t, k_h / h, k_w / w)‖ ≤ cutoff, else ``attenuation``."""
    axes = [torch.arange(size, dtype=torch.float32, device=device) / size for size in shape]
    grid = torch.meshgrid(*axes, indexing="ij")
    radius = torch.sqrt(sum(axis**2 for axis in grid))
    return torch.where(radius <= cutoff + 1e-9, 1.0, float(attenuation))


def modulate(gradient: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """IDCT(gains ⊙ DCT(gradient)) over the last three axes."""
    return dct3(dct3(gradient) * gains, inverse=True)


def area_reference(cells: int, area: float, device=None) -> torch.Tensor:
    """Sorted (descending) target of the ranking regulariser: round(area · cells) ones, then zeros."""
    reference = torch.zeros(cells, device=device)
    reference[: int(round(area * cells))] = 1.0
    return reference


def _triple(value, name: str) -> tuple[int, int, int]:
    values = (value,) * 3 if isinstance(value, int) else tuple(value)
    if len(values) != 3 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise VideoXAIError(f"{name} must be a positive integer or three of them (t, h, w), got {value!r}")
    return values


class ExtremalPerturbation(Explainer):
    """Extremal perturbation over (T, H, W); see the module docstring for every option."""

    name = "extremal_perturbation"
    dct = False

    def __init__(
        self,
        model: nn.Module,
        spec=None,
        area: float = 0.1,
        iterations: int = 30,
        mask_stride=(2, 8, 8),
        perturbation: str = "blur",
        blur_sigma: float = 10.0,
        learning_rate: float = 0.1,
        area_weight: float = 300.0,
        cutoff: float = 0.3,
        attenuation: float = 0.0,
    ):
        super().__init__(model, spec)
        if not 0.0 < float(area) < 1.0:
            raise VideoXAIError(f"{self.name}: area must lie in (0, 1), got {area!r}")
        if perturbation not in PERTURBATIONS:
            raise VideoXAIError(f"{self.name}: perturbation must be one of {list(PERTURBATIONS)}, got {perturbation!r}")
        if not float(cutoff) >= 0.0 or not 0.0 <= float(attenuation) <= 1.0:
            raise VideoXAIError(
                f"{self.name}: need cutoff >= 0 and 0 <= attenuation <= 1, got {cutoff!r}, {attenuation!r}"
            )
        for option, value in (
            ("learning_rate", learning_rate),
            ("area_weight", area_weight),
            ("blur_sigma", blur_sigma),
        ):
            if not float(value) > 0.0:
                raise VideoXAIError(f"{self.name}: {option} must be positive, got {value!r}")
        self.area = float(area)
        self.iterations = check_positive_int(iterations, "iterations", self.name)
        self.mask_stride = _triple(mask_stride, f"{self.name}: mask_stride")
        self.perturbation = perturbation
        self.blur_sigma = float(blur_sigma)
        self.learning_rate = float(learning_rate)
        self.area_weight = float(area_weight)
        self.cutoff = float(cutoff)
        self.attenuation = float(attenuation)

    def _attribute(self, inputs, target):
        with torch.no_grad():
            logits = self.model(inputs)
        resolved = resolve_target(target, logits)
        size = tuple(inputs.shape[2:])
        cells = tuple(math.ceil(length / stride) for length, stride in zip(size, self.mask_stride))
        perturbed = blur_frames(inputs, self.blur_sigma) if self.perturbation == "blur" else torch.zeros_like(inputs)
        batch = inputs.shape[0]
        mask = torch.full((batch, 1, *cells), 0.5, device=inputs.device)
        velocity = torch.zeros_like(mask)
        reference = area_reference(math.prod(cells), self.area, inputs.device)
        gains = low_pass(cells, self.cutoff, self.attenuation, inputs.device) if self.dct else None
        for step in range(self.iterations):
            progress = step / max(self.iterations - 1, 1)
            weight = self.area_weight * 100.0 ** (progress - 1.0)
            mask.requires_grad_(True)
            full = F.interpolate(mask, size=size, mode="trilinear", align_corners=False)
            blended = full * inputs + (1.0 - full) * perturbed
            score = self.model(blended).to(torch.float32).gather(1, resolved[:, None])[:, 0]
            ranked = mask.flatten(1).sort(dim=1, descending=True).values
            area_loss = (ranked - reference).square().mean(dim=1)
            loss = (-score + weight * area_loss).sum()  # clips are independent: one backward for all
            (gradient,) = torch.autograd.grad(loss, mask)
            mask = mask.detach()
            if gains is not None:
                gradient = modulate(gradient, gains)
            scale = gradient.flatten(1).abs().amax(dim=1).clamp_min(1e-12)
            velocity = 0.9 * velocity + gradient / scale[:, None, None, None, None]
            mask = (mask - self.learning_rate * velocity).clamp_(0.0, 1.0)
        relevance = F.interpolate(mask, size=size, mode="trilinear", align_corners=False)[:, 0]
        return relevance, logits, resolved


class FrequencyExtremalPerturbation(ExtremalPerturbation):
    """FEP: extremal perturbation with the mask's gradient low-passed in DCT space at every step."""

    name = "fep"
    dct = True
