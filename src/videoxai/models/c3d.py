"""C3D (Tran et al. 2015) as Hiley et al. (2020) use it, and loading the checkpoints people have.

Layer names follow the Caffe release and its PyTorch ports (``conv1 … conv5b``, ``fc6 … fc8``),
so the Sports-1M port (487 classes) and UCF-101 fine-tunes load without renaming.

The model always takes RGB input. Checkpoints that were trained on BGR frames (the Caffe
original, and fine-tunes that read frames with OpenCV) have their conv1 input channels
reversed on load, which gives exactly the same function of the same pixels.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.models.spec import ModelSpec
from videoxai.models.weights import load_state_dict_file, load_strict

NUM_FRAMES = 16
SIZE = 112
RESIZE_HW = (128, 171)
SPORTS1M_NUM_CLASSES = 487
# Channel means (0..255, RGB) used with the Sports-1M C3D weights and its common fine-tunes:
# those code bases subtract (90, 98, 102) from OpenCV BGR frames, i.e. R 102, G 98, B 90.
SPORTS1M_MEAN_RGB = (102.0, 98.0, 90.0)
CHANNELS = {"conv1": 64, "conv2": 128, "conv3": 256, "conv4": 512, "conv5": 512, "fc": 4096}


def scaled(channels: int, width: float) -> int:
    """Channel count ``channels * width``, at least 1 (width < 1 gives the quick test models)."""
    return max(1, int(round(channels * width)))


class C3D(nn.Module):
    """C3D for 16 x 112 x 112 RGB clips, zero-centred with per-channel means.

    Every ReLU, pooling and dropout is its own module, registered in forward order, so
    hooks and LRP rules see each of them. Forward runs the children in order.

    Args:
        num_classes: outputs of ``fc8``.
        width: multiplies every hidden width (conv channels, fc6/fc7 units); 1.0 is the paper's
            network, 0.25 a quarter-width model for quick CPU tests. fc6's input is
            ``conv5 channels * 1 * 4 * 4``.
        dropout: probability of the two dropout layers after fc6 and fc7 (0.5 in the paper).
    """

    cam_layer = "relu5b"
    classifier_layer = "fc8"

    def __init__(self, num_classes: int = 101, width: float = 1.0, dropout: float = 0.5):
        super().__init__()
        if num_classes < 1:
            raise VideoXAIError(f"C3D needs at least one class, got num_classes={num_classes}")
        if not width > 0:
            raise VideoXAIError(f"C3D width must be positive, got {width}")
        self.num_classes = int(num_classes)
        self.width = float(width)
        c1, c2, c3, c4, c5 = (scaled(CHANNELS[name], width) for name in ("conv1", "conv2", "conv3", "conv4", "conv5"))
        hidden = scaled(CHANNELS["fc"], width)

        def conv(cin: int, cout: int) -> nn.Conv3d:
            return nn.Conv3d(cin, cout, kernel_size=3, padding=1)

        self.conv1 = conv(3, c1)
        self.relu1 = nn.ReLU()
        # pool1 keeps time: merging frames this early would lose motion (Tran et al. §3.2).
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.conv2 = conv(c1, c2)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv3a = conv(c2, c3)
        self.relu3a = nn.ReLU()
        self.conv3b = conv(c3, c3)
        self.relu3b = nn.ReLU()
        self.pool3 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv4a = conv(c3, c4)
        self.relu4a = nn.ReLU()
        self.conv4b = conv(c4, c4)
        self.relu4b = nn.ReLU()
        self.pool4 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv5a = conv(c4, c5)
        self.relu5a = nn.ReLU()
        self.conv5b = conv(c5, c5)
        self.relu5b = nn.ReLU()
        # The (0, 1, 1) padding turns the 7 x 7 map into 4 x 4, as in the Caffe model the
        # Sports-1M fc6 weights were trained with (fc6 input 8192 = 512 * 1 * 4 * 4).
        self.pool5 = nn.MaxPool3d(kernel_size=2, stride=2, padding=(0, 1, 1))
        self.flatten = nn.Flatten(start_dim=1)
        self.fc6 = nn.Linear(c5 * 1 * 4 * 4, hidden)
        self.relu6 = nn.ReLU()
        self.dropout6 = nn.Dropout(dropout)
        self.fc7 = nn.Linear(hidden, hidden)
        self.relu7 = nn.ReLU()
        self.dropout7 = nn.Dropout(dropout)
        self.fc8 = nn.Linear(hidden, num_classes)

    def check_input(self, inputs: torch.Tensor) -> None:
        """Raise :class:`VideoXAIError` unless ``inputs`` is float ``(N, 3, 16, 112, 112)``."""
        if not isinstance(inputs, torch.Tensor):
            raise VideoXAIError(f"C3D input must be a torch.Tensor, got {type(inputs).__name__}", "c3d")
        shape = tuple(inputs.shape)
        if inputs.ndim != 5 or shape[1] != 3 or shape[2:] != (NUM_FRAMES, SIZE, SIZE):
            raise VideoXAIError(
                f"input must be (N, 3, {NUM_FRAMES}, {SIZE}, {SIZE}) float (fc6 needs exactly "
                f"{NUM_FRAMES} frames of {SIZE}x{SIZE}), got shape {shape}",
                "c3d",
            )
        if not inputs.is_floating_point():
            raise VideoXAIError(f"input must be a float tensor (mean-centred pixels), got {inputs.dtype}", "c3d")

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits float ``(N, num_classes)`` for float ``(N, 3, 16, 112, 112)`` mean-centred RGB clips."""
        self.check_input(inputs)
        outputs = inputs
        for module in self.children():
            outputs = module(outputs)
        return outputs


def parameter_count(num_classes: int = SPORTS1M_NUM_CLASSES, width: float = 1.0) -> int:
    """Number of parameters of :class:`C3D`, computed from the layer sizes."""
    c1, c2, c3, c4, c5 = (scaled(CHANNELS[name], width) for name in ("conv1", "conv2", "conv3", "conv4", "conv5"))
    hidden = scaled(CHANNELS["fc"], width)
    convs = [(3, c1), (c1, c2), (c2, c3), (c3, c3), (c3, c4), (c4, c4), (c4, c5), (c5, c5)]
    total = sum(cin * cout * 27 + cout for cin, cout in convs)
    for fin, fout in [(c5 * 16, hidden), (hidden, hidden), (hidden, num_classes)]:
        total += fin * fout + fout
    return total


def sidecar_path(weights: str | os.PathLike) -> Path:
    """The JSON file next to a checkpoint that holds its class names, means and channel order."""
    return Path(weights).with_suffix(".json")


def read_sidecar(weights: str | os.PathLike) -> dict[str, Any]:
    """Metadata of a checkpoint: its ``.json`` sidecar, else a ``.safetensors`` header, else ``{}``."""
    path = sidecar_path(weights)
    if path.is_file():
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise VideoXAIError(f"cannot read checkpoint metadata ({error})", path) from error
        if not isinstance(meta, dict):
            raise VideoXAIError("checkpoint metadata must be a JSON object", path)
        return meta
    if Path(weights).suffix == ".safetensors" and Path(weights).is_file():
        try:
            from safetensors import safe_open

            with safe_open(str(weights), framework="pt") as handle:
                header = handle.metadata() or {}
            return json.loads(header["videoxai"]) if "videoxai" in header else {}
        except Exception:  # noqa: BLE001 - a broken header is reported by the weight reader itself
            return {}
    return {}


def _check_mean(mean: Sequence[float], source: Any) -> tuple[float, float, float]:
    values = tuple(float(value) for value in mean)
    if len(values) != 3 or not all(0.0 <= value <= 255.0 for value in values):
        raise VideoXAIError(f"mean must be 3 channel means in 0..255 (RGB), got {list(mean)}", source)
    return values  # type: ignore[return-value]


def make_spec(
    class_names: Sequence[str],
    mean: Sequence[float] = SPORTS1M_MEAN_RGB,
    weights_sha256: str | None = None,
    width: float = 1.0,
) -> ModelSpec:
    """The :class:`ModelSpec` of C3D: resize to 128 x 171, crop 112, 16 frames, subtract ``mean``."""
    return ModelSpec(
        name="c3d",
        num_frames=NUM_FRAMES,
        size=SIZE,
        class_names=tuple(class_names),
        resize_hw=RESIZE_HW,
        mean=_check_mean(mean, "c3d"),
        weights_sha256=weights_sha256,
        extra={"width": width},
    )


def load_c3d(
    weights: str | os.PathLike | None = None,
    num_classes: int | None = None,
    width: float | None = None,
    random_init: bool = False,
    class_names: Sequence[str] | None = None,
    mean: Sequence[float] | None = None,
    channel_order: str | None = None,
    **options: Any,
) -> tuple[C3D, ModelSpec]:
    """Build C3D (eval mode, CPU) from a checkpoint and return it with its :class:`ModelSpec`.

    Args:
        weights: ``.safetensors`` or ``.pth``/``.pt``/``.pickle`` holding only tensors, with
            keys ``conv1.weight … fc8.bias`` (a ``"state_dict"``/``"model"`` wrapper and a
            ``"module."`` prefix are accepted). A ``<stem>.json`` sidecar (written by
            ``videoxai train``) supplies class names, means, width and channel order.
        num_classes: defaults to the rows of ``fc8.weight`` in the file.
        width: channel width multiplier; defaults to the sidecar's, else inferred from conv1.
        random_init: build an untrained model when no ``weights`` are given.
        class_names: one per class; default the sidecar's, else ``class_<i>``.
        mean: RGB channel means in 0..255; default the sidecar's, else the Sports-1M means.
        channel_order: ``"rgb"`` or ``"bgr"``: the colour order the checkpoint was trained
            on. Default the sidecar's, else ``"bgr"`` (the Caffe Sports-1M model and the
            OpenCV-based fine-tunes were trained on BGR frames).
        options: ``dropout`` (float) is passed to :class:`C3D`; anything else is an error.
    """
    dropout = float(options.pop("dropout", 0.5))
    if options:
        raise VideoXAIError(f"unknown option(s) for c3d: {', '.join(sorted(options))}")
    if weights is None and not random_init:
        raise VideoXAIError(
            "C3D ships no weights: pass weights= a Sports-1M port or a UCF-101 checkpoint "
            "(keys conv1 … fc8; .safetensors/.pth/.pickle), train one with `videoxai train`, "
            "or pass random_init=True for an untrained model"
        )
    state: dict[str, torch.Tensor] | None = None
    sha256 = None
    meta: dict[str, Any] = {}
    if weights is not None:
        state, sha256 = load_state_dict_file(weights)
        meta = read_sidecar(weights)
        if "fc8.weight" not in state:
            raise VideoXAIError(
                "not a C3D checkpoint: no 'fc8.weight' (C3D keys are conv1.weight … fc8.bias); "
                f"the file has: {', '.join(sorted(state)[:20])}{' …' if len(state) > 20 else ''}",
                weights,
            )
    if num_classes is None:
        if state is not None:
            num_classes = int(state["fc8.weight"].shape[0])
        elif class_names is not None:
            num_classes = len(class_names)
        else:
            num_classes = 101
    if width is None:
        width = float(meta.get("width", 0.0)) or None
    if width is None and state is not None and "conv1.weight" in state:
        width = state["conv1.weight"].shape[0] / CHANNELS["conv1"]
    width = 1.0 if width is None else float(width)

    model = C3D(num_classes=num_classes, width=width, dropout=dropout)
    if state is not None:
        order = (channel_order or meta.get("channel_order") or "bgr").lower()
        if order not in ("rgb", "bgr"):
            raise VideoXAIError(f"channel_order must be 'rgb' or 'bgr', got {order!r}", weights)
        load_strict(model, state, weights)
        if order == "bgr":
            with torch.no_grad():
                model.conv1.weight.copy_(model.conv1.weight.flip(1))

    if class_names is None:
        class_names = meta.get("class_names")
    if class_names is None:
        class_names = [f"class_{index}" for index in range(num_classes)]
    class_names = [str(name) for name in class_names]
    if len(class_names) != num_classes:
        raise VideoXAIError(f"{len(class_names)} class names for a model with {num_classes} outputs", weights)
    if mean is None:
        mean = meta.get("mean", SPORTS1M_MEAN_RGB)
    spec = make_spec(class_names, _check_mean(mean, weights), sha256, width)
    return model.eval(), spec


def state_dict_for_file(model: C3D) -> OrderedDict[str, torch.Tensor]:
    """Contiguous CPU copies of the parameters, as safetensors and ``torch.save`` want them."""
    return OrderedDict((key, value.detach().cpu().contiguous().clone()) for key, value in model.state_dict().items())
