"""What a model expects as input, and how to turn decoded frames into that input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields

import numpy as np
import torch

from videoxai.core.errors import VideoXAIError


@dataclass(frozen=True)
class ModelSpec:
    """Preprocessing contract of a video classifier.

    Pixels are first scaled as ``x * scale + offset`` (x in 0..255, RGB) and then have
    ``mean`` subtracted per channel and are divided by ``std`` per channel, both given in
    the scaled units. ``value_range`` is the (low, high) of the preprocessed input per
    channel; DTD's z-box rule uses it as its bounds.

    Attributes:
        name: registry name or ``module:factory`` path.
        num_frames: the model's native clip length T.
        size: spatial crop size (square), H = W = size.
        resize_short_side: frames are resized so their short side is this, then centre-cropped
            to ``size``; ``None`` resizes straight to ``size`` x ``size``.
        resize_hw: if set, frames are resized to exactly (H, W) before cropping (C3D: 128 x 171).
        scale, offset: linear map from 0..255 to the model's value scale.
        mean, std: per-channel normalisation after scaling.
        class_names: one name per logit.
        weights_sha256: sha256 of the weights file that was loaded, if any.
    """

    name: str
    num_frames: int
    size: int
    class_names: tuple[str, ...]
    resize_short_side: int | None = None
    resize_hw: tuple[int, int] | None = None
    scale: float = 1.0
    offset: float = 0.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    weights_sha256: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def value_range(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel (low, high) of the preprocessed input, each float32 of shape (3,)."""
        mean = torch.tensor(self.mean, dtype=torch.float32)
        std = torch.tensor(self.std, dtype=torch.float32)
        low = (0.0 * self.scale + self.offset - mean) / std
        high = (255.0 * self.scale + self.offset - mean) / std
        return torch.minimum(low, high), torch.maximum(low, high)

    def with_weights(self, sha256: str | None) -> ModelSpec:
        return replace(self, weights_sha256=sha256)

    def preprocess(self, clips: np.ndarray | torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
        """Turn already resized and cropped uint8 clips into model input.

        Args:
            clips: uint8 ``(N, T, H, W, 3)`` RGB, or ``(T, H, W, 3)`` for one clip.
        Returns:
            float32 ``(N, 3, T, H, W)`` on ``device``.
        """
        tensor = torch.as_tensor(np.asarray(clips) if not isinstance(clips, torch.Tensor) else clips)
        if tensor.ndim == 4:
            tensor = tensor.unsqueeze(0)
        if tensor.ndim != 5 or tensor.shape[-1] != 3:
            raise VideoXAIError(
                f"expected uint8 clips of shape (N, T, H, W, 3) or (T, H, W, 3), got {tuple(tensor.shape)}",
                self.name,
            )
        tensor = tensor.to(device=device, dtype=torch.float32)
        tensor = tensor * self.scale + self.offset
        mean = torch.tensor(self.mean, dtype=torch.float32, device=tensor.device)
        std = torch.tensor(self.std, dtype=torch.float32, device=tensor.device)
        tensor = (tensor - mean) / std
        return tensor.permute(0, 4, 1, 2, 3).contiguous()

    def check_input(self, inputs: torch.Tensor) -> None:
        """Raise a clear error unless ``inputs`` is ``(N, 3, T, H, W)`` with this spec's H and W."""
        if inputs.ndim != 5 or inputs.shape[1] != 3:
            raise VideoXAIError(
                f"model input must be (N, 3, T, H, W) float, got shape {tuple(inputs.shape)}", self.name
            )
        if tuple(inputs.shape[-2:]) != (self.size, self.size):
            raise VideoXAIError(
                f"model input must be {self.size}x{self.size} pixels, got {tuple(inputs.shape[-2:])}",
                self.name,
            )


def read_class_names(lines: Sequence[str]) -> tuple[str, ...]:
    return tuple(line.strip() for line in lines if line.strip())


# The fields a config's model.spec may set; the others describe a loaded model, not its input.
USER_FIELDS: tuple[str, ...] = tuple(
    item.name for item in dataclass_fields(ModelSpec) if item.name not in ("name", "weights_sha256", "extra")
)


def spec_overrides(fields: dict) -> dict:
    """ModelSpec keyword arguments from a config's ``model.spec`` mapping.

    Lists become tuples; ``num_classes`` (names ``class_0`` ...) or ``class_names_file`` (one name
    a line) stand in for ``class_names``. Unknown keys raise :class:`VideoXAIError`.
    """
    fields = dict(fields or {})
    allowed = set(USER_FIELDS)
    num_classes = fields.pop("num_classes", None)
    names_file = fields.pop("class_names_file", None)
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise VideoXAIError(f"model.spec: unknown key(s) {unknown}; it takes {sorted(allowed)}")
    if names_file is not None:
        with open(names_file, encoding="utf-8") as handle:
            fields["class_names"] = read_class_names(handle)
    elif num_classes is not None and fields.get("class_names") is None:
        fields["class_names"] = tuple(f"class_{index}" for index in range(int(num_classes)))
    for key in ("resize_hw", "mean", "std", "class_names"):
        if fields.get(key) is not None:
            fields[key] = tuple(fields[key])
    return fields
