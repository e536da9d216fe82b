"""torchvision's video networks by name: ``torchvision:r3d_18``, ``mc3_18``, ``r2plus1d_18``, ``s3d``.

No weights are downloaded: the network starts from torchvision's random initialisation, and
``weights=`` loads a state dict the user saved (``torch.save(model.state_dict(), path)`` of the
same architecture, e.g. after fine-tuning, or torchvision's own Kinetics-400 file fetched
elsewhere). Pickle files are read with ``weights_only=True`` only.

The input contract of each network is torchvision's for its Kinetics-400 video weights
(``torchvision.transforms._presets.VideoClassification`` and the weights' documentation):

===============  ======  =====  ==========  =====================================================
network          frames  crop   resize to   clip length torchvision evaluates the weights with
===============  ======  =====  ==========  =====================================================
``r3d_18``       16      112    128 x 171   16
``mc3_18``       16      112    128 x 171   16
``r2plus1d_18``  16      112    128 x 171   16
``s3d``          128     224    256 x 256   128 (at least 14 frames and 224 x 224 pixels)
===============  ======  =====  ==========  =====================================================

Pixels are scaled to [0, 1] and normalised with mean (0.43216, 0.394666, 0.37645) and std
(0.22803, 0.22145, 0.216989), the Kinetics statistics torchvision uses for all four.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.core.model_inputs import (
    ARCHITECTURES,
    KINETICS_MEAN,
    KINETICS_STD,
    NAMES,
    PREFIX,
    Architecture,
)
from videoxai.models.spec import ModelSpec
from videoxai.models.weights import load_state_dict_file, load_strict


def architecture_of(name: str) -> tuple[str, Architecture]:
    """``("r3d_18", Architecture)`` for ``"torchvision:r3d_18"``; a clear error for other names."""
    short = name.removeprefix(PREFIX)
    if not name.startswith(PREFIX) or short not in ARCHITECTURES:
        raise VideoXAIError(f"unknown torchvision video model {name!r}: use one of {list(NAMES)}")
    return short, ARCHITECTURES[short]


def _class_names_from_file(path: str | os.PathLike) -> tuple[str, ...]:
    path = Path(path)
    if not path.is_file():
        raise VideoXAIError("class names file not found", path)
    names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if not names:
        raise VideoXAIError("class names file lists no class (one name per line expected)", path)
    return names


def _classes_in_state(state: dict, classifier_layer: str) -> int | None:
    weight = state.get(f"{classifier_layer}.weight")
    return int(weight.shape[0]) if weight is not None else None


def load_torchvision_video(
    name: str,
    weights: str | os.PathLike | None = None,
    num_classes: int | None = None,
    class_names: str | os.PathLike | None = None,
    num_frames: int | None = None,
) -> tuple[nn.Module, ModelSpec]:
    """Build a torchvision video network (eval mode, CPU) and its :class:`ModelSpec`.

    Args:
        name: ``"torchvision:r3d_18"``, ``"torchvision:mc3_18"``, ``"torchvision:r2plus1d_18"``
            or ``"torchvision:s3d"``.
        weights: a state dict file (``.safetensors``, ``.pt``/``.pth`` of tensors only) for this
            architecture; ``None`` keeps torchvision's random initialisation.
        num_classes: logits of the classifier; default: the rows of the classifier weight in
            ``weights``, else the number of names in ``class_names``, else 400 (Kinetics).
        class_names: a text file with one class name per line, in logit order; default the
            Kinetics-400 names for 400 classes, else ``class_<i>``.
        num_frames: clip length T of the spec (default the table in the module docstring).

    The model carries ``cam_layer`` and ``classifier_layer`` (dotted module names) for Grad-CAM,
    Saliency Tubes and Class Feature Pyramids.
    """
    import torchvision.models.video as video_models  # torchvision's import costs seconds: only its networks pay

    short, architecture = architecture_of(name)
    state, sha256 = load_state_dict_file(weights) if weights is not None else (None, None)
    names = _class_names_from_file(class_names) if class_names is not None else None
    in_file = _classes_in_state(state, architecture.classifier_layer) if state is not None else None
    if num_classes is None:
        num_classes = in_file or (len(names) if names else 400)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise VideoXAIError(f"{name}: num_classes must be a positive integer, got {num_classes!r}")
    if names is not None and len(names) != num_classes:
        raise VideoXAIError(f"{len(names)} class names for a model with {num_classes} classes", class_names)
    if names is None:
        if num_classes == 400:
            names = tuple(video_models.R3D_18_Weights.KINETICS400_V1.meta["categories"])
        else:
            names = tuple(f"class_{index}" for index in range(num_classes))
    frames = architecture.num_frames if num_frames is None else num_frames
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < architecture.min_frames:
        raise VideoXAIError(
            f"{name}: num_frames must be an integer of at least {architecture.min_frames}, got {frames!r}"
        )

    model = getattr(video_models, short)(weights=None, num_classes=num_classes)
    if state is not None:
        load_strict(model, state, weights)
    model.cam_layer = architecture.cam_layer
    model.classifier_layer = architecture.classifier_layer
    spec = ModelSpec(
        name=name,
        num_frames=frames,
        size=architecture.size,
        class_names=names,
        resize_hw=architecture.resize_hw,
        scale=1.0 / 255.0,
        mean=KINETICS_MEAN,
        std=KINETICS_STD,
        weights_sha256=sha256,
        extra={
            "weights_path": str(weights) if weights is not None else None,
            "min_frames": architecture.min_frames,
            "min_size": architecture.min_size,
        },
    )
    return model.eval(), spec
