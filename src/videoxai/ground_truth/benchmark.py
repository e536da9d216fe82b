"""Ground-truth benchmark: models whose answer is known, explained and scored against the evidence.

Two small 3D CNNs are trained on synthetic videos (:mod:`videoxai.ground_truth.generator`) on a CPU in
seconds: one where only the object's direction of motion predicts the label (*motion-trained*),
one where only the static patch's pattern does (*context-trained*; the object still moves, at
random). Their test videos go through the study's chain (decode from the video file, Farnebäck
flow, every explanation method, :func:`videoxai.motion.selective.selective_from_settings`) and each map is
scored against the evidence volume stored beside the video:

* ``precision``: ``#(R > 0 & E) / #(R > 0)``; ``recall``: ``#(R > 0 & E) / #E``;
* ``weighted_precision``: ``sum(R+ * E) / sum(R+)``;
* ``empty``: 1 when the map has no positive voxel (precision is then undefined, NaN);
* ``motion_share`` (selective maps only): ``sum(S+) / sum(R+)``, the share of the positive
  relevance that selective relevance keeps; the paper proposes it as a measure of how much a model
  relies on motion, so it should be high for the motion-trained model and low for the other;
* ``on_object``: ``sum(R+ * O) / sum(R+)``, the relevance on the moving object (the evidence of
  the motion model, a distractor for the context model);
* ``chance``: ``#E / #voxels``, the precision of a map that picks voxels at random.

The models are cached under ``<resources>/models/ground_truth/``, keyed by a hash of the
generator's settings, the training settings and the architecture, so a rerun skips training.
A user's architecture ``package.module:factory`` (``factory(num_classes) -> nn.Module``, taking
clips ``(N, 3, 16, 32, 32)`` by default) is trained and tested the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.core.files import atomic_write_bytes
from videoxai.evaluation.stats import bootstrap_mean, interval_text
from videoxai.ground_truth import generator as synthetic
from videoxai.models.spec import ModelSpec

MODELS: tuple[str, ...] = ("motion", "context")  # each trained on the dataset of that name
DEFAULT_ARCHITECTURE = "videoxai.ground_truth.benchmark:tiny_c3d"
METRICS: tuple[str, ...] = ("precision", "recall", "weighted_precision", "empty", "motion_share", "on_object")
TABLE_METRICS: tuple[str, ...] = ("precision", "recall", "weighted_precision", "empty", "motion_share")
METRIC_LABELS = {
    "precision": "Precision",
    "recall": "Recall",
    "weighted_precision": "Weighted precision",
    "empty": "Empty maps",
    "motion_share": "Motion share",
    "on_object": "Relevance on the moving object",
}
MODEL_LABELS = {"motion": "motion-trained", "context": "context-trained"}


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


# The paper's four and every further method that runs in seconds on the tiny model. Extremal
# perturbation and FEP optimise a mask for hundreds of steps per clip and are left out by default.
DEFAULT_METHODS: tuple[str, ...] = (
    "dtd",
    "gradcam",
    "guided_backprop",
    "guided_gradcam",
    "saliency_tubes",
    "cfp",
    "occlusion",
    "flow_occlusion",
    "flow_occlusion_approx",
)
# Occlusion's cuboids scaled to 32 x 32 frames (its defaults are for 112 x 112): 64 cuboids a clip.
DEFAULT_OPTIONS: dict[str, dict] = {
    "cfp": {"depth": 2},  # the tiny net has three convolutions, a pyramid of depth 2 uses them all
    "occlusion": {"size": 8, "stride": 8, "temporal_size": 8, "temporal_stride": 4},
    "flow_occlusion": {"size": 8, "stride": 8, "temporal_size": 8, "temporal_stride": 4},
    "flow_occlusion_approx": {"size": 8, "stride": 8, "temporal_size": 8, "temporal_stride": 4},
}


@dataclass(frozen=True)
class BenchmarkSettings:
    """The ``ground_truth`` configuration section, resolved.

    Attributes:
        preset: realism preset of the videos (``clean`` or ``realistic``).
        videos_per_class: test videos per class and dataset (the benchmark's sample).
        train_per_class: training videos per class and dataset.
        test_per_class: videos per class of the held-out split that decides the model's accuracy.
        seed: seeds the videos, the weights' initialisation and the training order.
        architecture: ``package.module:factory`` of the network to train.
        epochs, batch_size, learning_rate: training (Adam).
        methods: explanation methods to run (default: every method of the registry that runs on
            the tiny model in reasonable time, :data:`DEFAULT_METHODS`).
        options: method -> options, as ``explain.options``.
        min_accuracy: a model below this test accuracy is reported as such in the table's notes.
    """

    preset: str = "clean"
    videos_per_class: int = 6
    train_per_class: int = 32
    test_per_class: int = 8
    seed: int = 0
    architecture: str = DEFAULT_ARCHITECTURE
    epochs: int = 10
    batch_size: int = 16
    learning_rate: float = 3e-3
    methods: tuple[str, ...] = DEFAULT_METHODS
    options: Mapping[str, dict] = field(default_factory=dict)
    min_accuracy: float = 0.95
    scene: synthetic.SceneSettings = field(default_factory=synthetic.SceneSettings)

    @classmethod
    def from_config(cls, section: Mapping) -> BenchmarkSettings:
        keys = {
            "preset",
            "videos_per_class",
            "train_per_class",
            "test_per_class",
            "seed",
            "architecture",
            "epochs",
            "batch_size",
            "learning_rate",
            "min_accuracy",
        }
        values = {key: section[key] for key in keys if key in section and section[key] is not None}
        methods = tuple(section.get("methods") or DEFAULT_METHODS)
        return cls(**values, methods=methods, options=dict(section.get("options") or {}))

    def dataset(self, dataset: str, split: str) -> synthetic.DatasetSpec:
        per_class = {"train": self.train_per_class, "test": self.test_per_class, "benchmark": self.videos_per_class}
        return synthetic.DatasetSpec(dataset, split, per_class[split], self.seed, self.preset, self.scene)

    def model_key(self, dataset: str) -> str:
        """Hash of everything that decides a trained model: its data and how it was trained."""
        training = {
            "train": self.dataset(dataset, "train").digest(),
            "test": self.dataset(dataset, "test").digest(),
            "architecture": self.architecture,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "trainer": TRAINER_VERSION,
        }
        return hashlib.sha256(json.dumps(training, sort_keys=True).encode()).hexdigest()[:16]


# Bump when a change of the training code changes the weights, so cached models are retrained.
TRAINER_VERSION = 1


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
    import importlib

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


def _read_clips(rows: Sequence[dict], spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Decode the listed videos into uint8 ``(N, T, H, W, 3)`` clips and int64 ``(N,)`` labels."""
    from videoxai.data.video import decode_clips

    clips = [decode_clips(row["path"], spec, max_clips=1).clips[0] for row in rows]
    return np.stack(clips), np.array([row["label"] for row in rows], np.int64)


def accuracy(model: nn.Module, spec: ModelSpec, clips: np.ndarray, labels: np.ndarray, batch: int = 32) -> float:
    """Top-1 accuracy on uint8 clips ``(N, T, H, W, 3)`` against int labels ``(N,)``."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(clips), batch):
            logits = model(spec.preprocess(clips[start : start + batch]))
            correct += int((logits.argmax(1).numpy() == labels[start : start + batch]).sum())
    return correct / len(clips)


def train(
    settings: BenchmarkSettings,
    dataset: str,
    train_clips: np.ndarray,
    train_labels: np.ndarray,
    progress: Callable[[str], None] | None = None,
) -> nn.Module:
    """Train ``settings.architecture`` on uint8 clips ``(N, T, H, W, 3)`` with int64 labels ``(N,)``.

    Adam, cross-entropy, ``epochs`` passes in a seeded order. Deterministic on CPU for a seed;
    the caller's global torch RNG state is restored afterwards.
    """
    spec = model_spec(settings, dataset)
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(settings.seed)
        model = build_architecture(settings.architecture, len(synthetic.class_names(dataset)))
        model.train()
        optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
        generator = torch.Generator().manual_seed(settings.seed)
        inputs = spec.preprocess(train_clips)
        targets = torch.as_tensor(train_labels)
        for epoch in range(settings.epochs):
            order = torch.randperm(len(inputs), generator=generator)
            total = 0.0
            for start in range(0, len(order), settings.batch_size):
                batch = order[start : start + settings.batch_size]
                optimiser.zero_grad()
                loss = nn.functional.cross_entropy(model(inputs[batch]), targets[batch])
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)
            if progress:
                progress(f"{dataset}: epoch {epoch + 1}/{settings.epochs}, loss {total / len(order):.4f}")
    finally:
        torch.random.set_rng_state(state)
    return model.eval()


def _save(model: nn.Module, path: Path, meta: dict) -> None:
    from safetensors.torch import save

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
    from safetensors.torch import load_file

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
    train_clips, train_labels = _read_clips(train_rows, spec)
    test_clips, test_labels = _read_clips(test_rows, spec)
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
    _save(model, weights, meta)
    return model, spec, {**meta, "cached": False}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def map_metrics(relevance: np.ndarray, evidence: np.ndarray, moving_object: np.ndarray | None = None) -> dict:
    """Scores of maps against evidence.

    Args:
        relevance: float ``(N, T, H, W)`` maps (baseline or selective).
        evidence: bool ``(N, T, H, W)`` evidence voxels.
        moving_object: bool ``(N, T, H, W)`` the moving object's voxels (for ``on_object``).
    Returns:
        metric name -> float ``(N,)``: precision, recall, weighted_precision, empty, on_object
        (NaN where undefined: no positive voxel, or no evidence).
    """
    relevance = np.asarray(relevance, np.float64)
    evidence = np.asarray(evidence, bool)
    if relevance.shape != evidence.shape or relevance.ndim != 4:
        raise VideoXAIError(f"relevance {relevance.shape} and evidence {evidence.shape} must both be (N, T, H, W)")
    flat, truth = relevance.reshape(len(relevance), -1), evidence.reshape(len(evidence), -1)
    positive = flat > 0
    mass = np.maximum(flat, 0)
    hits = (positive & truth).sum(1).astype(np.float64)
    result = {
        "precision": _ratio(hits, positive.sum(1)),
        "recall": _ratio(hits, truth.sum(1)),
        "weighted_precision": _ratio((mass * truth).sum(1), mass.sum(1)),
        "empty": (~positive.any(1)).astype(np.float64),
    }
    if moving_object is not None:
        moving = np.asarray(moving_object, bool).reshape(len(flat), -1)
        result["on_object"] = _ratio((mass * moving).sum(1), mass.sum(1))
    return result


def motion_share(baseline: np.ndarray, selective: np.ndarray) -> np.ndarray:
    """float ``(N,)``: ``sum(S+) / sum(R+)`` per clip of maps ``(N, T, H, W)`` (NaN when R has no positive voxel)."""
    base = np.maximum(np.asarray(baseline, np.float64), 0).reshape(len(baseline), -1).sum(1)
    kept = np.maximum(np.asarray(selective, np.float64), 0).reshape(len(selective), -1).sum(1)
    return _ratio(kept, base)


def _rows(model: str, videos: Sequence[str], method: str, variant: str, n: float, values: Mapping) -> list[dict]:
    return [
        {"model": model, "video": video, "method": method, "variant": variant, "n": n, "metric": metric, "value": value}
        for metric, column in values.items()
        for video, value in zip(videos, np.asarray(column, np.float64))
    ]


def benchmark_model(
    model: nn.Module,
    spec: ModelSpec,
    dataset: str,
    rows: Sequence[dict],
    methods: Sequence[str],
    options: Mapping[str, dict],
    selective_settings: Mapping,
    flow_settings: Mapping | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Explain the listed synthetic videos with ``model`` and score every map against their evidence.

    Each video is decoded from its file, its Farnebäck flow computed (flow methods use it),
    explained by every method (top-1 class, as in the study), its selective maps computed with
    :func:`videoxai.motion.selective.selective_from_settings`, and scored with :func:`map_metrics` and
    :func:`motion_share`. Returns tidy rows ``model, video, method, variant, n, metric, value``,
    plus per-video ``chance`` and ``correct`` rows (method ``""``).
    """
    from videoxai.motion.flow import farneback_clips, split_flow_settings
    from videoxai.motion.selective import selective_from_settings
    from videoxai.study.stages import VideoClips, explain_videos

    clips, labels = _read_clips(rows, spec)
    names = [row["video_id"] for row in rows]
    stored = [np.load(Path(row["path"]).with_suffix(".npz")) for row in rows]
    evidence = np.stack([item["evidence"] for item in stored]).astype(bool)
    moving_object = np.stack([item["object"] for item in stored]).astype(bool)
    needs_flow = any(synthetic_method_needs_flow(method) for method in methods)
    flow = farneback_clips(clips, **split_flow_settings(flow_settings)[0]) if needs_flow else None
    videos = [
        VideoClips(name, clips[index : index + 1], None if flow is None else flow[index : index + 1])
        for index, name in enumerate(names)
    ]
    results = {}
    for name, arrays in explain_videos(model, spec, videos, methods, options, batch_size=8):
        if isinstance(arrays, VideoXAIError):
            raise VideoXAIError(f"explaining {name} failed: {arrays}")
        results[name] = arrays
    if progress:
        progress(f"{dataset}: explained {len(names)} videos with {len(methods)} methods")
    out = _rows(dataset, names, "", "", math.nan, {"chance": evidence.reshape(len(names), -1).mean(1)})
    predicted = np.array([results[name][f"{methods[0]}/predicted"][0] for name in names])
    out += _rows(dataset, names, "", "", math.nan, {"correct": (predicted == labels).astype(np.float64)})
    for method in methods:
        relevance = np.concatenate([results[name][f"{method}/relevance"] for name in names])
        baseline = map_metrics(relevance, evidence, moving_object)
        baseline["seconds"] = np.concatenate([results[name][f"{method}/seconds_per_clip"] for name in names])
        out += _rows(dataset, names, method, "baseline", math.nan, baseline)
        selective = selective_from_settings(torch.from_numpy(relevance), selective_settings)
        for index, n in enumerate(selective.n):
            maps = selective.maps[index].numpy()
            values = map_metrics(maps, evidence, moving_object)
            values["motion_share"] = motion_share(relevance, maps)
            out += _rows(dataset, names, method, "selective", float(n), values)
    return pd.DataFrame(out)


def synthetic_method_needs_flow(method: str) -> bool:
    from videoxai.core.methods import method_info

    return method_info(method).needs_flow


def benchmark_one(
    settings: BenchmarkSettings,
    dataset: str,
    selective_settings: Mapping,
    out_dir: str | os.PathLike,
    cache_dir: str | os.PathLike,
    flow_settings: Mapping | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Train (or load) the model of ``dataset``, write its benchmark videos under
    ``out_dir/videos/<dataset>/`` and score every method on them.

    Returns the tidy metrics of :func:`benchmark_model` and the model's metadata (accuracy on the
    held-out split, cache key, whether it came from the cache, seconds).

    Raises:
        VideoXAIError: the model's held-out accuracy is below ``settings.min_accuracy`` (its maps
            would not show what a model that solved the task looks at).
    """
    out_dir = Path(out_dir)
    began = time.perf_counter()
    model, spec, meta = trained_model(settings, dataset, cache_dir, out_dir / "training", progress)
    if meta["accuracy"] < settings.min_accuracy:
        raise VideoXAIError(
            f"the {dataset}-trained model reached {meta['accuracy']:.1%} held-out accuracy, below "
            f"ground_truth.min_accuracy = {settings.min_accuracy:.0%}: train longer (ground_truth.epochs) "
            "or on more videos (ground_truth.train_per_class)"
        )
    rows = synthetic.make_dataset(settings.dataset(dataset, "benchmark"), out_dir / "videos" / dataset)
    options = {**DEFAULT_OPTIONS, **settings.options}
    options = {method: options[method] for method in settings.methods if method in options}
    metrics = benchmark_model(
        model, spec, dataset, rows, settings.methods, options, selective_settings, flow_settings, progress
    )
    return metrics, {**meta, "seconds_total": time.perf_counter() - began, "videos": len(rows)}


def run_benchmark(
    settings: BenchmarkSettings,
    selective_settings: Mapping,
    out_dir: str | os.PathLike,
    cache_dir: str | os.PathLike,
    flow_settings: Mapping | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """:func:`benchmark_one` for both models; the tidy metrics together and the metadata per model."""
    frames, info = [], {}
    for dataset in MODELS:
        metrics, info[dataset] = benchmark_one(
            settings, dataset, selective_settings, out_dir, cache_dir, flow_settings, progress
        )
        frames.append(metrics)
    return pd.concat(frames, ignore_index=True), info


def _n_label(variant: str, n: float) -> str:
    return "baseline" if variant == "baseline" else f"selective n={n:g}"


def summary_table(metrics: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Means with 95 % video-level bootstrap intervals: one row per (model, method, variant, n, metric).

    Columns: ``model, method, variant, n, metric, mean, low, high, videos``; ``chance`` and
    ``correct`` rows have method ``""``.
    """
    from videoxai.evaluation.metrics import ordered_methods

    records = []
    keys = ["model", "method", "variant", "n", "metric"]
    # Read back from CSV, the per-video rows' empty method and variant come as NaN.
    frame = metrics.assign(
        n=metrics["n"].fillna(-1.0), method=metrics["method"].fillna(""), variant=metrics["variant"].fillna("")
    )
    method_rank = {
        method: index for index, method in enumerate(ordered_methods(frame["method"][frame["method"] != ""].unique()))
    }
    for key, group in frame.groupby(keys, sort=False):
        interval = bootstrap_mean(group["value"].to_numpy(), group["video"].to_numpy(), seed=seed)
        records.append(
            {
                **dict(zip(keys, key)),
                "mean": interval.mean,
                "low": interval.low,
                "high": interval.high,
                "videos": interval.videos,
            }
        )
    table = pd.DataFrame(records)
    table["n"] = table["n"].where(table["n"] >= 0, np.nan)
    table["_model"] = table["model"].map({name: index for index, name in enumerate(MODELS)})
    table["_method"] = table["method"].map(lambda method: method_rank.get(method, -1))
    table["_metric"] = table["metric"].map(
        lambda metric: (list(METRICS) + ["seconds", "chance", "correct"]).index(metric)
    )
    table = table.sort_values(["_model", "_method", "n", "_metric"], na_position="first")
    return table.drop(columns=["_model", "_method", "_metric"]).reset_index(drop=True)


def _interval_cell(row) -> str:
    from videoxai.evaluation.stats import Interval

    return interval_text(Interval(row["mean"], row["low"], row["high"], 0, int(row["videos"])))


def display_table(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the readable table: per method and variant, each metric of the
    motion-trained model next to the context-trained one."""
    from videoxai.core.methods import method_label

    headers = ["Method", "Map"] + [
        f"{METRIC_LABELS[metric]} ({MODEL_LABELS[model]})" for metric in TABLE_METRICS for model in MODELS
    ]
    body = summary[summary["method"] != ""]
    rows = []
    for (method, variant, n), group in body.groupby(["method", "variant", body["n"].fillna(-1.0)], sort=False):
        cells = {(row["model"], row["metric"]): _interval_cell(row) for _, row in group.iterrows()}
        rows.append(
            [method_label(method), _n_label(variant, n)]
            + [cells.get((model, metric), "–") for metric in TABLE_METRICS for model in MODELS]
        )
    return headers, rows


def _markdown(caption: str, headers: list[str], rows: list[list[str]]) -> str:
    lines = [f"**{caption}**", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _latex(caption: str, headers: list[str], rows: list[list[str]]) -> str:
    def escape(text: str) -> str:
        for old, new in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
            text = text.replace(old, new)
        return text.replace("–", "--")

    lines = [
        r"\begin{table}[t]",
        r"\centering\scriptsize",
        rf"\caption{{{escape(caption)}}}",
        r"\label{tab:ground_truth}",
        r"\begin{tabular}{ll" + "r" * (len(headers) - 2) + "}",
        r"\toprule",
        " & ".join(escape(header) for header in headers) + r" \\",
        r"\midrule",
        *(" & ".join(escape(cell) for cell in row) + r" \\" for row in rows),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def caption(summary: pd.DataFrame, info: Mapping[str, dict]) -> str:
    """The table's caption: what was measured, the chance levels and the models' accuracies."""
    parts = []
    for model in MODELS:
        chance = summary[(summary["model"] == model) & (summary["metric"] == "chance")]
        accuracy_value = info.get(model, {}).get("accuracy", math.nan)
        chance_text = f"{chance['mean'].iloc[0]:.3f}" if len(chance) else "–"
        parts.append(
            f"{MODEL_LABELS[model]} model: held-out accuracy {accuracy_value:.1%}, "
            f"evidence = {'the moving object' if model == 'motion' else 'the static patch'}, chance precision {chance_text}"
        )
    return (
        "Ground truth: explanations scored against the known evidence of synthetic videos, "
        "mean [95 % video-level bootstrap interval]; " + "; ".join(parts) + "."
    )


def write_table(summary: pd.DataFrame, info: Mapping[str, dict], out_dir: str | os.PathLike) -> list[Path]:
    """``ground_truth.csv`` (the long summary), ``.md`` and ``.tex`` (the readable table) in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    headers, rows = display_table(summary)
    text = caption(summary, info)
    paths = [out_dir / "ground_truth.csv", out_dir / "ground_truth.md", out_dir / "ground_truth.tex"]
    atomic_write_bytes(paths[0], summary.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(paths[1], _markdown(text, headers, rows).encode())
    atomic_write_bytes(paths[2], _latex(text, headers, rows).encode())
    return paths


def write_figure(summary: pd.DataFrame, path: str | os.PathLike, n: float | None = None) -> Path:
    """Precision, recall, weighted precision and motion share with their intervals: per method,
    baseline and selective (at ``n``, default the one nearest 4), the two models side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from videoxai.core.methods import method_label

    body = summary[summary["method"] != ""]
    ns = sorted(body["n"].dropna().unique())
    if n is None and ns:
        n = min(ns, key=lambda value: (abs(value - 4.0), value))
    methods = list(dict.fromkeys(body["method"]))
    panels = ("precision", "recall", "weighted_precision", "motion_share")
    figure, axes = plt.subplots(
        len(MODELS),
        len(panels),
        figsize=(4.2 * len(panels), 0.42 * len(methods) * len(MODELS) + 2.2),
        squeeze=False,
        sharey=True,
    )
    colours = {"baseline": "#7f7f7f", "selective": "#d62728"}
    for row_index, model in enumerate(MODELS):
        for column, metric in enumerate(panels):
            ax = axes[row_index][column]
            for offset, variant in ((-0.15, "baseline"), (0.15, "selective")):
                if metric == "motion_share" and variant == "baseline":
                    continue
                chosen = body[(body["model"] == model) & (body["metric"] == metric) & (body["variant"] == variant)]
                if variant == "selective":
                    chosen = chosen[np.isclose(chosen["n"], n)]
                positions, means, errors = [], [], []
                for index, method in enumerate(methods):
                    match = chosen[chosen["method"] == method]
                    if match.empty or np.isnan(match["mean"].iloc[0]):
                        continue
                    mean, low, high = match[["mean", "low", "high"]].iloc[0]
                    positions.append(index + offset)
                    means.append(mean)
                    errors.append([mean - low if not np.isnan(low) else 0, high - mean if not np.isnan(high) else 0])
                label = "baseline" if variant == "baseline" else f"selective n={n:g}"
                if positions:
                    ax.errorbar(
                        means,
                        positions,
                        xerr=np.array(errors).T,
                        fmt="o",
                        color=colours[variant],
                        label=label,
                        capsize=2,
                        markersize=4,
                    )
            if metric in ("precision", "weighted_precision"):
                chance = summary[(summary["model"] == model) & (summary["metric"] == "chance")]
                if len(chance):
                    ax.axvline(chance["mean"].iloc[0], color="black", linestyle=":", linewidth=1, label="chance")
            ax.set_xlim(-0.02, 1.02)
            ax.set_title(f"{METRIC_LABELS[metric]}\n{MODEL_LABELS[model]} model", fontsize=9)
            ax.set_yticks(range(len(methods)))
            ax.set_yticklabels([method_label(method) for method in methods], fontsize=8)
            if column == 0 and row_index == 0:  # the y axis is shared: invert it once, first method on top
                ax.invert_yaxis()
            ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


__all__ = [
    "DEFAULT_ARCHITECTURE",
    "DEFAULT_METHODS",
    "MODELS",
    "BenchmarkSettings",
    "TinyC3D",
    "accuracy",
    "benchmark_model",
    "benchmark_one",
    "caption",
    "display_table",
    "map_metrics",
    "model_spec",
    "motion_share",
    "run_benchmark",
    "summary_table",
    "tiny_c3d",
    "train",
    "trained_model",
    "write_figure",
    "write_table",
]
