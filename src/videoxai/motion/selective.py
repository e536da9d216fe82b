"""Selective relevance (Hiley et al. 2020, §3): keep the relevance that changes over time.

The temporal gradient of a relevance volume is taken with the 3x3x3 Sobel kernel that
differentiates along time::

    G_t = h'_t * R,   h'_t = [-1, 0, 1] (t)  ⊗  [1, 2, 1] (y)  ⊗  [1, 2, 1] (x)

Voxels whose temporal gradient is large compared with the clip's spread are kept::

    mask = |G_t| > n · σ,   σ = std(|G_t|) over the clip's (T, H, W),   selective map = R ⊙ mask

That is the default σ convention, ``sigma="abs"``. The paper's text leaves open which spread σ
is and whether the test is two-sided, and the authors' public code has used three readings, all
offered here (the study's ``selective.sigma``; :data:`SIGMAS`):

* ``abs`` (default): ``|G_t| > n · std(|G_t|)``, the authors' later code.
* ``signed``: ``|G_t| > n · std(G_t)``, σ of the signed gradient, the test still two-sided.
  ``std(G_t) ≥ std(|G_t|)`` always (their variances differ by ``E[|G_t|]² - E[G_t]² ≥ 0``), so
  this mask is a subset of ``abs``'s; the two are equal when G_t has one sign in the clip.
* ``one_sided``: ``G_t > n · std(G_t)``, the signed test: only relevance that rises over time
  (with this module's sign, below). A subset of ``signed``'s mask. The authors' early code
  (2020) thresholds the signed gradient so, but with a kernel whose sign is opposite to this
  one (``F.conv3d``, a cross-correlation, with ``+1`` on the earlier frame), so it kept relevance
  that falls over time; here the sign follows ``h'_t`` above: rising relevance passes.

Conventions (all derivable by hand, see tests/test_selective.py):

* The kernel is applied as a cross-correlation, so ``G_t[t] ∝ R[t+1] - R[t-1]``: positive where
  relevance grows with time. Only ``|G_t|`` enters the ``abs`` and ``signed`` masks; the
  ``one_sided`` mask keeps the positive side alone.
* The kernel is not normalised (its weights sum to 16 in absolute value per side); σ scales
  with it, so the mask does not depend on that choice.
* σ is the population standard deviation (divide by the number of voxels), as numpy's ``std``.
* The comparison is strict, so a clip with ``G_t == 0`` everywhere (relevance constant in
  time) has an empty mask for every n.
* Borders are padded by replication in all three dimensions by default; zero padding makes the
  first and last frames look like sudden changes and is kept only for parity with the paper's
  original code (``padding="zeros"``).

Two definitions are offered by :func:`selective_from_settings` (the study's ``selective.mode``):

* ``paper`` (the default): the mask above, with the σ convention the settings name.
* ``margin``: the paper's mask with a temporal and a spatial margin removed,
  ``mask ∧ interior``, where ``interior`` is False in the first and last ``frames`` frames and
  in the ``pixels``-wide band along the frame border. G_t and σ are the paper's (computed on the
  whole clip), so the margin mask is always a subset of the paper's. The margin is where a 3D
  CNN's zero padding makes the relevance of a perfectly static clip change over time (see
  docs/static_control.md): every voxel kept there on a frozen clip is an artifact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from videoxai.core.errors import VideoXAIError

PADDINGS = ("replicate", "zeros")
MODES = ("paper", "margin")
# σ conventions: abs = |G_t| > n·std(|G_t|) (default), signed = |G_t| > n·std(G_t),
# one_sided = G_t > n·std(G_t) (rising relevance only).
SIGMAS = ("abs", "signed", "one_sided")
# Margin of the ``margin`` mode when the settings give none: the two frames at either end and a
# border band of 16/224 of the frame (16 pixels for I3D, 8 for C3D's 112), where I3D's padding
# artifacts sit on frozen clips (docs/static_control.md). pixels None = that share of the frame.
DEFAULT_MARGIN = {"frames": 2, "pixels": None}
BORDER_SHARE = 16 / 224


def default_border(size: int) -> int:
    """The border band's width in pixels for frames of ``size`` pixels: 16/224 of it, at least 1."""
    return max(1, round(int(size) * BORDER_SHARE))


@dataclass
class SelectiveResult:
    """Temporal gradient, per-clip σ and one mask/map per σ multiplier n.

    Attributes:
        gradient: float32 ``(N, T, H, W)``, the temporal Sobel gradient G_t.
        sigma: float32 ``(N,)``, the σ used: population std over each clip's (T, H, W) of
            ``|G_t|`` (convention ``abs``) or of ``G_t`` (``signed``, ``one_sided``).
        n: the σ multipliers, in the order given.
        masks: bool ``(len(n), N, T, H, W)``, ``|G_t| > n · σ`` (``G_t > n · σ`` for ``one_sided``).
        maps: float32 ``(len(n), N, T, H, W)``, relevance ⊙ mask.
    """

    gradient: torch.Tensor
    sigma: torch.Tensor
    n: tuple[float, ...]
    masks: torch.Tensor
    maps: torch.Tensor


def _smooth_(volume: torch.Tensor, dim: int) -> torch.Tensor:
    """[1, 2, 1] along ``dim`` of an already padded volume; the dimension shrinks by 2."""
    length = volume.shape[dim] - 2
    smoothed = volume.narrow(dim, 0, length) + volume.narrow(dim, 2, length)
    return smoothed.add_(volume.narrow(dim, 1, length), alpha=2.0)


def temporal_gradient(relevance: torch.Tensor, padding: str = "replicate") -> torch.Tensor:
    """G_t of relevance ``(N, T, H, W)`` float, as float32 ``(N, T, H, W)`` on the same device.

    The 3x3x3 kernel is separable, so it is applied as three 1-D passes over one padded copy
    (about 9 instead of 27 multiply-adds per voxel), time first so that the later passes touch
    fewer frames; the result equals ``F.conv3d`` with the full kernel to rounding.
    """
    if padding not in PADDINGS:
        raise VideoXAIError(f"unknown padding {padding!r}: use one of {list(PADDINGS)}")
    if relevance.ndim != 4:
        raise VideoXAIError(f"relevance must be (N, T, H, W), got shape {tuple(relevance.shape)}")
    volume = relevance.to(torch.float32).unsqueeze(1)  # (N, 1, T, H, W): F.pad's 3-D modes need 5-D
    if padding == "replicate":
        padded = F.pad(volume, (1, 1, 1, 1, 1, 1), mode="replicate")
    else:
        padded = F.pad(volume, (1, 1, 1, 1, 1, 1), mode="constant", value=0.0)
    difference = padded[:, :, 2:] - padded[:, :, :-2]  # (N, 1, T, H+2, W+2)
    return _smooth_(_smooth_(difference, dim=3), dim=4).squeeze(1)


def _as_multipliers(n: float | Iterable[float]) -> tuple[float, ...]:
    values = (float(n),) if isinstance(n, (int, float)) else tuple(float(value) for value in n)
    if not values:
        raise VideoXAIError("n: give at least one σ multiplier")
    if any(value < 0 or value != value for value in values):
        raise VideoXAIError(f"n: σ multipliers must be non-negative numbers, got {values}")
    return values


def selective_relevance(
    relevance: torch.Tensor,
    n: float | Iterable[float] = 4.0,
    padding: str = "replicate",
    sigma: str = "abs",
) -> SelectiveResult:
    """Selective relevance of a batch of explanations, for one or several σ multipliers.

    Args:
        relevance: float ``(N, T, H, W)``, any device; computed in float32 on that device.
        n: σ multiplier or a list of them (paper: 4). G_t and σ are computed once for all.
        padding: ``"replicate"`` (default) or ``"zeros"`` (parity with the original code).
        sigma: the σ convention (module docstring): ``"abs"`` (default, ``|G_t| > n·std(|G_t|)``),
            ``"signed"`` (``|G_t| > n·std(G_t)``) or ``"one_sided"`` (``G_t > n·std(G_t)``).
    Returns:
        :class:`SelectiveResult` with ``masks``/``maps`` of shape ``(len(n), N, T, H, W)``.
    """
    if sigma not in SIGMAS:
        raise VideoXAIError(f"selective.sigma: unknown σ convention {sigma!r}, use one of {list(SIGMAS)}")
    multipliers = _as_multipliers(n)
    relevance = relevance.detach().to(torch.float32)
    gradient = temporal_gradient(relevance, padding)
    magnitude = gradient.abs()
    spread = magnitude if sigma == "abs" else gradient
    tested = gradient if sigma == "one_sided" else magnitude
    sigmas = spread.flatten(1).std(dim=1, correction=0)  # (N,)
    factors = torch.tensor(multipliers, dtype=torch.float32, device=relevance.device)
    thresholds = factors[:, None] * sigmas[None, :]  # (len(n), N)
    masks = tested.unsqueeze(0) > thresholds[:, :, None, None, None]
    maps = relevance.unsqueeze(0) * masks
    return SelectiveResult(gradient=gradient, sigma=sigmas, n=multipliers, masks=masks, maps=maps)


def interior_mask(shape: tuple[int, int, int], frames: int, pixels: int) -> torch.Tensor:
    """bool ``(T, H, W)``: False in the first and last ``frames`` frames and in the
    ``pixels``-wide band along the frame border, True elsewhere.

    Raises:
        VideoXAIError: a negative margin, or one that leaves no interior.
    """
    length, height, width = (int(size) for size in shape)
    frames, pixels = int(frames), int(pixels)
    if frames < 0 or pixels < 0:
        raise VideoXAIError(f"selective.margin: frames and pixels must be non-negative, got {frames}, {pixels}")
    if 2 * frames >= length or 2 * pixels >= min(height, width):
        raise VideoXAIError(
            f"selective.margin: frames={frames}, pixels={pixels} leave no interior in a clip of "
            f"{length} x {height} x {width}"
        )
    interior = torch.zeros((length, height, width), dtype=torch.bool)
    interior[frames : length - frames, pixels : height - pixels, pixels : width - pixels] = True
    return interior


def selective_from_settings(relevance: torch.Tensor, settings: dict) -> SelectiveResult:
    """Selective relevance as the study's ``selective`` configuration section asks for it.

    Every stage that computes selective maps (the per-video selective rule, the ground-truth
    benchmark, the static control) goes through here, so an option added to that section
    reaches all of them at once.

    Args:
        relevance: float ``(N, T, H, W)``.
        settings: the ``selective`` section: ``n``, ``padding``, ``sigma`` (the σ convention,
            :data:`SIGMAS`, default ``abs``), ``mode`` (``paper``, the default, is
            :func:`selective_relevance` unchanged; ``margin`` removes the ``margin`` =
            ``{frames, pixels}`` band from every mask and map); missing keys take the defaults.
    Returns:
        :class:`SelectiveResult`; in ``margin`` mode ``gradient`` and ``sigma`` are the paper's.
    """
    mode = settings.get("mode", "paper")
    if mode not in MODES:
        raise VideoXAIError(f"selective.mode: unknown mode {mode!r}, use one of {list(MODES)}")
    result = selective_relevance(
        relevance,
        n=settings.get("n", [4.0]),
        padding=settings.get("padding", "replicate"),
        sigma=settings.get("sigma", "abs"),
    )
    if mode == "paper":
        return result
    margin = {**DEFAULT_MARGIN, **(settings.get("margin") or {})}
    shape = tuple(relevance.shape[1:])
    pixels = default_border(min(shape[1:])) if margin["pixels"] is None else margin["pixels"]
    interior = interior_mask(shape, margin["frames"], pixels).to(result.masks.device)
    masks = result.masks & interior
    maps = relevance.detach().to(torch.float32).unsqueeze(0) * masks
    return SelectiveResult(gradient=result.gradient, sigma=result.sigma, n=result.n, masks=masks, maps=maps)


__all__ = [
    "DEFAULT_MARGIN",
    "BORDER_SHARE",
    "MODES",
    "PADDINGS",
    "SIGMAS",
    "SelectiveResult",
    "default_border",
    "interior_mask",
    "selective_from_settings",
    "selective_relevance",
    "temporal_gradient",
]
