"""What the library knows about the input of each model it ships or names, without building one.

The workflow decodes videos to a model's input geometry while it builds its DAG, so these facts
live here, torch-free: the shipped models' geometry, and torchvision's video networks (their input
contract for the Kinetics-400 weights, the layers Grad-CAM and the classifier use). The networks
themselves are built in :mod:`videoxai.models`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SHIPPED_GEOMETRY: dict[str, dict] = {
    "i3d_kinetics400": {"size": 224, "resize_short_side": 256, "resize_hw": None},
    "c3d": {"size": 112, "resize_short_side": None, "resize_hw": [128, 171]},
}

PREFIX = "torchvision:"
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


@dataclass(frozen=True)
class Architecture:
    """What videoxai needs to know about one torchvision video network.

    Attributes:
        num_frames, size, resize_hw: the input contract (frames, square crop, resize before it).
        min_frames, min_size: the smallest input the network accepts (S3D's final 2x7x7 pooling).
        cam_layer: the last convolutional block, whose output Grad-CAM and Saliency Tubes use.
        classifier_layer: the final classifier, right after global pooling of ``cam_layer``.
    """

    num_frames: int
    size: int
    resize_hw: tuple[int, int]
    cam_layer: str
    classifier_layer: str
    min_frames: int = 1
    min_size: int = 1


ARCHITECTURES: dict[str, Architecture] = {
    "r3d_18": Architecture(16, 112, (128, 171), cam_layer="layer4", classifier_layer="fc"),
    "mc3_18": Architecture(16, 112, (128, 171), cam_layer="layer4", classifier_layer="fc"),
    "r2plus1d_18": Architecture(16, 112, (128, 171), cam_layer="layer4", classifier_layer="fc"),
    "s3d": Architecture(
        128, 224, (256, 256), cam_layer="features", classifier_layer="classifier.1", min_frames=14, min_size=224
    ),
}
NAMES = tuple(PREFIX + name for name in ARCHITECTURES)


def input_geometry(name: str) -> dict[str, Any] | None:
    """Decode geometry of a torchvision video model without building it, else ``None``.

    Returns ``{"size": int, "resize_short_side": None, "resize_hw": [H, W]}``, the keys the
    workflow's decode stage takes.
    """
    if not name.startswith(PREFIX) or name.removeprefix(PREFIX) not in ARCHITECTURES:
        return None
    architecture = ARCHITECTURES[name.removeprefix(PREFIX)]
    return {"size": architecture.size, "resize_short_side": None, "resize_hw": list(architecture.resize_hw)}


def shipped_geometry(name: str) -> dict | None:
    """The input geometry of a model the library knows by name (shipped or a torchvision video
    network), None for anything else (a user's factory)."""
    if name in SHIPPED_GEOMETRY:
        return dict(SHIPPED_GEOMETRY[name])
    if name.startswith(PREFIX):
        return input_geometry(name)
    return None


__all__ = [
    "ARCHITECTURES",
    "KINETICS_MEAN",
    "KINETICS_STD",
    "NAMES",
    "PREFIX",
    "SHIPPED_GEOMETRY",
    "Architecture",
    "input_geometry",
    "shipped_geometry",
]
