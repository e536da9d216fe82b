"""The ground-truth benchmark's models: a tiny 3D CNN (or the user's network), trained and cached.

:func:`trained_model` returns the model trained on one synthetic dataset for the benchmark's
settings: from the cache under ``<resources>/models/ground_truth/`` (keyed by
:meth:`~videoxai.ground_truth.settings.BenchmarkSettings.model_key`), or trained with the project's
one training loop (:func:`videoxai.models.training.fit`) and cached.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save
from torch import nn

from videoxai.core.errors import ConfigurationError
from videoxai.core.files import atomic_write_bytes
from videoxai.data.video import decode_clips
from videoxai.ground_truth import generator as synthetic
from videoxai.ground_truth.settings import BenchmarkSettings
from videoxai.models.spec import ModelSpec
from videoxai.models.training import fit, top1_accuracy


class TinyC3D(nn.Module):
    """Three 3x3x3 convolutions with ReLU and max pooling, global average pooling, one linear layer.

    Input float32 ``(N, 3, T, H, W)``; output logits ``(N, num_classes)``. No BatchNorm and no
    residual additions, so DTD needs no canonizer; ``cam_layer`` names Grad-CAM's layer (the last
    convolution's ReLU) and ``classifier`` the linear layer after global pooling (Saliency Tubes, CFP).
    """

    cam_layer = "features.7"

    def __init__(self, num_classes: int, width: int = 8):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(3, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool3d((1, 2, 2)),
            nn.Conv3d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool3d(2),
            nn.Conv3d(2 * width, 4 * width, 3, padding=1),
            nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.classifier = nn.Linear(4 * width, num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(inputs)), 1))


def tiny_c3d(num_classes: int) -> nn.Module:
    """The benchmark's default architecture (:class:`TinyC3D`, about 20 k parameters)."""
    return TinyC3D(num_classes)


def model_spec(settings: BenchmarkSettings, dataset: str) -> ModelSpec:
    """Input contract of a benchmark model: frames as they are (no resize), 0..255 mapped to
    about [-2, 2] (the value range DTD's z^B rule uses)."""
    return ModelSpec(
        name=settings.architecture,
        num_frames=settings.scene.frames,
        size=settings.scene.size,
        class_names=synthetic.class_names(dataset),
        scale=1.0 / 255.0,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
    )


def build_architecture(path: str, num_classes: int) -> nn.Module:
    """``factory(num_classes)`` from ``package.module:factory``; errors name ``ground_truth.architecture``."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"must be 'package.module:factory', got {path!r}", "ground_truth.architecture")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(f"cannot import {path!r}: {error}", "ground_truth.architecture") from error
    model = factory(num_classes)
    if not isinstance(model, nn.Module):
        raise ConfigurationError(
            f"{path!r} returned {type(model).__name__}, not a torch.nn.Module", "ground_truth.architecture"
        )
    return model


def read_clips(rows: Sequence[dict], spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Decode the listed videos into uint8 ``(N, T, H, W, 3)`` clips (the first of each) and
    int64 ``(N,)`` labels."""
    clips = [decode_clips(row["path"], spec, max_clips=1).clips[0] for row in rows]
    return np.stack(clips), np.array([row["label"] for row in rows], np.int64)


def accuracy(model: nn.Module, spec: ModelSpec, clips: np.ndarray, labels: np.ndarray, batch: int = 32) -> float:
    """Top-1 accuracy on uint8 clips ``(N, T, H, W, 3)`` against int labels ``(N,)``."""
    return top1_accuracy(model, spec.preprocess(clips), torch.as_tensor(labels), batch_size=batch)


def train(
    settings: BenchmarkSettings,
    dataset: str,
    train_clips: np.ndarray,
    train_labels: np.ndarray,
    progress: Callable[[str], None] | None = None,
) -> nn.Module:
    """Train ``settings.architecture`` on uint8 clips ``(N, T, H, W, 3)`` with int64 labels ``(N,)``.

    Adam, cross-entropy, ``epochs`` passes in a seeded order (:func:`videoxai.models.training.fit`).
    Deterministic on CPU for a seed; the caller's global torch RNG state is restored afterwards.
    """
    spec = model_spec(settings, dataset)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        model = build_architecture(settings.architecture, len(synthetic.class_names(dataset)))
        fit(
            model,
            spec.preprocess(train_clips),
            torch.as_tensor(train_labels),
            torch.optim.Adam(model.parameters(), lr=settings.learning_rate),
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            generator=torch.Generator().manual_seed(settings.seed),
            progress=progress,
            name=dataset,
        )
    return model.eval()


def save_trained(model: nn.Module, path: Path, meta: dict) -> None:
    """The model's weights as safetensors at ``path`` and ``meta`` beside it (``.json``), atomically."""
    tensors = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    atomic_write_bytes(path, save(tensors))
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(meta, indent=2).encode())


def trained_model(
    settings: BenchmarkSettings,
    dataset: str,
    cache_dir: str | os.PathLike,
    work_dir: str | os.PathLike,
    progress: Callable[[str], None] | None = None,
) -> tuple[nn.Module, ModelSpec, dict]:
    """The model trained on ``dataset`` for ``settings``: from the cache, or trained and cached.

    The training and held-out videos are written to ``work_dir`` (real files, decoded as the
    study decodes any video). Returns the model (eval mode), its spec and its metadata
    (``accuracy`` on the held-out split, ``key``, ``seconds`` of training, ``cached``).
    """
    key = settings.model_key(dataset)
    cache_dir = Path(cache_dir)
    weights = cache_dir / f"{dataset}-{key}.safetensors"
    spec = model_spec(settings, dataset)
    if weights.exists() and weights.with_suffix(".json").exists():
        model = build_architecture(settings.architecture, spec.num_classes)
        model.load_state_dict(load_file(str(weights)))
        meta = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
        return model.eval(), spec, {**meta, "cached": True}
    began = time.perf_counter()
    train_rows = synthetic.make_dataset(settings.dataset(dataset, "train"), Path(work_dir) / f"{dataset}_train")
    test_rows = synthetic.make_dataset(settings.dataset(dataset, "test"), Path(work_dir) / f"{dataset}_test")
    train_clips, train_labels = read_clips(train_rows, spec)
    test_clips, test_labels = read_clips(test_rows, spec)
    model = train(settings, dataset, train_clips, train_labels, progress)
    meta = {
        "dataset": dataset,
        "key": key,
        "architecture": settings.architecture,
        "accuracy": accuracy(model, spec, test_clips, test_labels),
        "train_accuracy": accuracy(model, spec, train_clips, train_labels),
        "test_videos": len(test_rows),
        "train_videos": len(train_rows),
        "seconds": time.perf_counter() - began,
        "settings": json.loads(json.dumps(asdict(settings), default=str)),
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    save_trained(model, weights, meta)
    return model, spec, {**meta, "cached": False}
