"""Training C3D with the recipe of Hiley et al. (2020, §4.2), resumable bit-for-bit on CPU.

Recipe: SGD (lr 1e-3, momentum 0.9), batch 32, learning rate x0.1 after 10 epochs without
improvement of the epoch's mean training loss (UCF-101 has no validation split), an
iteration budget (paper: 60k). Each epoch visits every training video once, in a random
order, taking one random 16-frame clip (loop-padded when the video is shorter) from the
frames resized to 128 x 171 and a random 112 x 112 crop. Pixels are zero-centred with the
training set's RGB channel means. Testing averages the softmax over non-overlapping
centre-cropped 16-frame clips of each test video.

Determinism: all data randomness comes from one ``torch.Generator``; dropout draws from the
global torch generator, which is seeded at the start and saved in every checkpoint together
with the model, the optimiser, the scheduler, the epoch's order and the position in it, so
a run interrupted after any checkpoint and resumed gives the same weights and log as one
that never stopped. The caller's global RNG state is restored afterwards.

Outputs in ``out_dir``: ``checkpoint.pth`` (resume state), ``log.csv`` (one row per epoch),
``model.safetensors`` + ``model.json`` (weights and metadata that
:func:`videoxai.models.c3d.load_c3d` reads) and ``metrics.json`` (test accuracy).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import atomic_write_bytes, sha256_of
from videoxai.data.splits import read_class_index, read_ucf101_split
from videoxai.data.video import center_crop, clip_indices, read_video, resize_exact
from videoxai.models.c3d import C3D, NUM_FRAMES, RESIZE_HW, SIZE, load_c3d, state_dict_for_file

CHECKPOINT_NAME = "checkpoint.pth"
LOG_NAME = "log.csv"
MODEL_NAME = "model.safetensors"
METRICS_NAME = "metrics.json"
LOG_COLUMNS = ("epoch", "iteration", "complete", "train_loss", "train_accuracy", "lr", "clips")


@dataclass
class TrainConfig:
    """Hyper-parameters; the defaults are the paper's recipe.

    Attributes:
        width: C3D channel width multiplier (0.25 for quick CPU tests).
        iterations: total SGD steps (paper: 60,000).
        batch_size: clips per step (paper: 32). The last batch of an epoch may be smaller.
        lr, momentum, weight_decay: SGD settings.
        plateau_patience, plateau_factor: ReduceLROnPlateau on the epoch's mean training loss.
        checkpoint_every: write ``checkpoint.pth`` every this many iterations (and at the end).
        seed: seeds weight initialisation, data order, clip positions, crops and dropout.
        dropout: dropout probability after fc6 and fc7.
        test_max_clips: clips per test video, spread evenly (None: all non-overlapping clips).
        test_batch_size: clips per forward pass when testing.
        mean: RGB channel means 0..255; None computes them over every frame of the training videos.
        cache_bytes: memory budget for decoded 128 x 171 frames (least recently used videos are dropped).
        device: torch device to train on ("cuda" for the full recipe). Resumed runs equal
            uninterrupted ones bit for bit on CPU; on CUDA dropout draws from the GPU generator,
            which is not checkpointed.
    """

    width: float = 1.0
    iterations: int = 60_000
    batch_size: int = 32
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    plateau_patience: int = 10
    plateau_factor: float = 0.1
    checkpoint_every: int = 1000
    seed: int = 0
    dropout: float = 0.5
    test_max_clips: int | None = None
    test_batch_size: int = 8
    mean: tuple[float, float, float] | None = None
    cache_bytes: int = 4 << 30
    device: str = "cpu"

    @classmethod
    def from_settings(cls, settings: dict) -> TrainConfig:
        """From the workflow's ``train`` section: ``cache_gb`` (GiB) becomes ``cache_bytes``, the
        ``mean`` list a tuple; keys left out take the defaults."""
        settings = dict(settings)
        cache_gb = float(settings.pop("cache_gb", 4.0))
        if settings.get("mean") is not None:
            settings["mean"] = tuple(float(value) for value in settings["mean"])
        return cls(cache_bytes=int(cache_gb * (1 << 30)), **settings)

    def check(self) -> None:
        problems = []
        if self.iterations < 1:
            problems.append(f"iterations must be >= 1, got {self.iterations}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1, got {self.batch_size}")
        if self.checkpoint_every < 1:
            problems.append(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if not self.lr > 0:
            problems.append(f"lr must be positive, got {self.lr}")
        if not self.width > 0:
            problems.append(f"width must be positive, got {self.width}")
        if self.test_max_clips is not None and self.test_max_clips < 1:
            problems.append(f"test_max_clips must be >= 1 or None, got {self.test_max_clips}")
        if problems:
            raise VideoXAIError("invalid training settings: " + "; ".join(problems))


class VideoCache:
    """Decoded frames resized to 128 x 171, uint8 ``(F, 128, 171, 3)`` RGB, per video path.

    Least recently used videos are dropped once ``max_bytes`` is exceeded, so a full UCF-101
    run decodes again what does not fit, while the small test sets decode once.
    """

    def __init__(self, max_bytes: int = 4 << 30):
        self.max_bytes = int(max_bytes)
        self._frames: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0

    def frames(self, path: str | os.PathLike) -> np.ndarray:
        key = os.fspath(path)
        if key in self._frames:
            self._frames.move_to_end(key)
            return self._frames[key]
        video = read_video(key, transform=lambda frame: resize_exact(frame, RESIZE_HW))
        frames = video.frames
        self._frames[key] = frames
        self._bytes += frames.nbytes
        while self._bytes > self.max_bytes and len(self._frames) > 1:
            _, dropped = self._frames.popitem(last=False)
            self._bytes -= dropped.nbytes
        return frames


def channel_means(paths: Sequence[str | os.PathLike], cache: VideoCache) -> tuple[float, float, float]:
    """Mean R, G, B (0..255) over every frame of ``paths`` after resizing to 128 x 171.

    Sums are exact integers, so the result does not depend on the order of the videos.
    """
    totals = np.zeros(3, dtype=np.int64)
    count = 0
    for path in paths:
        frames = cache.frames(path)
        totals += frames.reshape(-1, 3).sum(axis=0, dtype=np.int64)
        count += frames.shape[0] * frames.shape[1] * frames.shape[2]
    if count == 0:
        raise VideoXAIError("no training frames to compute channel means from")
    return tuple(float(total) / count for total in totals)  # type: ignore[return-value]


def to_input(clips: np.ndarray, mean: Sequence[float]) -> torch.Tensor:
    """uint8 ``(N, 16, 112, 112, 3)`` RGB -> float32 ``(N, 3, 16, 112, 112)`` minus the channel means."""
    tensor = torch.from_numpy(np.ascontiguousarray(clips)).to(torch.float32)
    tensor = tensor - torch.tensor(mean, dtype=torch.float32)
    return tensor.permute(0, 4, 1, 2, 3).contiguous()


def random_clip(frames: np.ndarray, generator: torch.Generator) -> np.ndarray:
    """A random 16-frame, 112 x 112 uint8 clip ``(16, 112, 112, 3)`` from ``(F, 128, 171, 3)`` frames."""
    num_frames, height, width = frames.shape[:3]
    start = int(torch.randint(0, max(num_frames - NUM_FRAMES, 0) + 1, (1,), generator=generator))
    top = int(torch.randint(0, height - SIZE + 1, (1,), generator=generator))
    left = int(torch.randint(0, width - SIZE + 1, (1,), generator=generator))
    # Loop padding: a video shorter than 16 frames repeats from its start.
    indices = (start + np.arange(NUM_FRAMES)) % num_frames
    return frames[indices, top : top + SIZE, left : left + SIZE]


def _file_digest(path: str | os.PathLike | None) -> str | None:
    if path is None:
        return None
    return sha256_of(path)


def _settings(config: TrainConfig, train_items, num_classes: int, init_sha256: str | None) -> dict:
    """What must match between a checkpoint and the run that resumes it (the budget may grow)."""
    listing = hashlib.sha256(
        "\n".join(f"{os.fspath(path)}\t{label}" for path, label in train_items).encode("utf-8")
    ).hexdigest()
    return {
        "width": float(config.width),
        "batch_size": int(config.batch_size),
        "lr": float(config.lr),
        "momentum": float(config.momentum),
        "weight_decay": float(config.weight_decay),
        "plateau_patience": int(config.plateau_patience),
        "plateau_factor": float(config.plateau_factor),
        "seed": int(config.seed),
        "dropout": float(config.dropout),
        "num_classes": int(num_classes),
        "train_list_sha256": listing,
        "init_sha256": init_sha256,
        "mean": None if config.mean is None else [float(value) for value in config.mean],
    }


def _atomic_torch_save(obj, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _write_log(rows: list[dict], path: Path) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row[key] for key in LOG_COLUMNS})
    atomic_write_bytes(path, text.getvalue().encode("utf-8"))


def read_log(path: str | os.PathLike) -> list[dict]:
    """Rows of a training ``log.csv`` as dicts of strings."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _build_model(config: TrainConfig, num_classes: int, init: str | os.PathLike | None) -> C3D:
    model = C3D(num_classes=num_classes, width=config.width, dropout=config.dropout)
    if init is None:
        return model
    # load_c3d reads the file safely, checks every shape and turns BGR weights into RGB ones.
    source, _ = load_c3d(init, width=config.width)
    state = {key: value for key, value in source.state_dict().items() if not key.startswith("fc8.")}
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys or sorted(result.missing_keys) != ["fc8.bias", "fc8.weight"]:
        raise VideoXAIError(
            f"initial weights do not fit: missing {result.missing_keys}, unexpected {result.unexpected_keys}", init
        )
    return model


def evaluate(
    model: nn.Module,
    test_items: Sequence[tuple[str | os.PathLike, int]],
    mean: Sequence[float],
    cache: VideoCache,
    max_clips: int | None = None,
    batch_size: int = 8,
    progress: bool = False,
    device: str | torch.device = "cpu",
) -> dict:
    """Clip and video accuracy on centre-cropped, non-overlapping 16-frame clips.

    A video's prediction is the argmax of its clips' mean softmax. Returns a dict with
    ``test_video_accuracy``, ``test_clip_accuracy``, ``test_videos`` and ``test_clips``.
    """
    from tqdm import tqdm

    model.eval()
    videos_right = clips_right = clips_total = 0
    with torch.no_grad():
        for path, label in tqdm(test_items, desc="test", unit="video", disable=not progress, file=sys.stderr):
            frames = cache.frames(path)
            indices = clip_indices(frames.shape[0], NUM_FRAMES, max_clips=max_clips)
            clips = center_crop(frames[indices], SIZE)
            probabilities = []
            for start in range(0, len(clips), batch_size):
                logits = model(to_input(clips[start : start + batch_size], mean).to(device)).cpu()
                probabilities.append(torch.softmax(logits, dim=1))
            probabilities = torch.cat(probabilities)
            clips_right += int((probabilities.argmax(dim=1) == label).sum())
            clips_total += len(clips)
            videos_right += int(int(probabilities.mean(dim=0).argmax()) == label)
    return {
        "test_video_accuracy": videos_right / len(test_items) if test_items else float("nan"),
        "test_clip_accuracy": clips_right / clips_total if clips_total else float("nan"),
        "test_videos": len(test_items),
        "test_clips": clips_total,
    }


def training_step(
    model: nn.Module, optimiser: torch.optim.Optimizer, inputs: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, float]:
    """One optimiser step of cross-entropy on a batch ``(B, 3, T, H, W)`` with int64 ``labels (B,)``;
    returns the batch's logits (detached) and its mean loss. The one step every trainer here takes."""
    logits = model(inputs)
    loss = nn.functional.cross_entropy(logits, labels)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return logits.detach(), float(loss.detach())


def fit(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    optimiser: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    progress: Callable[[str], None] | None = None,
    name: str = "model",
) -> list[float]:
    """Train on clips held in memory: ``epochs`` passes over ``inputs (N, 3, T, H, W)`` with int64
    ``targets (N,)`` in an order drawn from ``generator``, :func:`training_step` per batch.

    Returns each epoch's mean loss (also sent to ``progress`` as one line per epoch). The model
    is left in training mode.
    """
    model.train()
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            _, loss = training_step(model, optimiser, inputs[batch], targets[batch])
            total += loss * len(batch)
        losses.append(total / len(order))
        if progress:
            progress(f"{name}: epoch {epoch + 1}/{epochs}, loss {losses[-1]:.4f}")
    return losses


def top1_accuracy(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 32) -> float:
    """Share of ``inputs (N, 3, T, H, W)`` whose top-1 class is ``targets (N,)``, without autograd."""
    model.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(inputs), batch_size):
            logits = model(inputs[start : start + batch_size])
            correct += int((logits.argmax(1).cpu() == targets[start : start + batch_size].cpu()).sum())
    return correct / len(inputs)


def save_model(model: C3D, path: str | os.PathLike, meta: dict) -> None:
    """Write ``model.safetensors`` with ``meta`` in its header and a ``.json`` sidecar next to it."""
    from safetensors.torch import save

    path = Path(path)
    header = {"videoxai": json.dumps(meta, sort_keys=True)}
    atomic_write_bytes(path, save(dict(state_dict_for_file(model)), metadata=header))
    atomic_write_bytes(path.with_suffix(".json"), (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())


def read_checkpoint(path: Path, settings: dict) -> dict | None:
    """The checkpoint to resume from at ``path`` (None when there is none), refused unless it was
    made with the same ``settings`` (only the budget may differ)."""
    if not path.is_file():
        return None
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure means the file cannot be resumed from
        raise VideoXAIError(
            f"cannot resume from this checkpoint ({type(error).__name__}: {error}); delete it to start over", path
        ) from error
    differing = sorted(key for key in settings if checkpoint["settings"].get(key) != settings[key])
    if differing:
        raise VideoXAIError(
            "checkpoint was made with different settings ("
            + ", ".join(f"{key}: {checkpoint['settings'].get(key)!r} vs {settings[key]!r}" for key in differing)
            + "); delete it or use another output folder",
            path,
        )
    return checkpoint


def c3d_meta(config: TrainConfig, class_names: Sequence[str], mean: Sequence[float]) -> dict:
    """What the trained model's file records about its input: classes, channel means, geometry."""
    return {
        "model": "c3d",
        "num_classes": len(class_names),
        "width": float(config.width),
        "class_names": [str(name) for name in class_names],
        "mean": [float(value) for value in mean],
        "channel_order": "rgb",
        "num_frames": NUM_FRAMES,
        "size": SIZE,
        "resize_hw": list(RESIZE_HW),
    }


def train_c3d(
    train_items: Sequence[tuple[str | os.PathLike, int]],
    test_items: Sequence[tuple[str | os.PathLike, int]],
    out_dir: str | os.PathLike,
    class_names: Sequence[str],
    config: TrainConfig | None = None,
    init: str | os.PathLike | None = None,
    resume: bool = True,
    progress: bool = True,
    cache: VideoCache | None = None,
    on_iteration: Callable[[int, float], None] | None = None,
    model_path: str | os.PathLike | None = None,
) -> dict:
    """Train C3D on ``train_items``, test it on ``test_items`` and write the outputs to ``out_dir``.

    Args:
        train_items, test_items: ``(video path, 0-based label)`` pairs.
        class_names: one per output of fc8 (its length is the class count).
        init: Sports-1M (or any C3D) weights to start from; fc8 is replaced.
        resume: continue from ``out_dir/checkpoint.pth`` when it exists (it must come from
            the same settings and training list; only the budget may differ).
        progress: show a tqdm bar on stderr.
        cache: decoded-frame cache to share between calls (tests); a new one by default.
        on_iteration: called as ``on_iteration(iteration, loss)`` after every step and its
            checkpoint; an exception raised there stops training as an interruption would.
        model_path: where the final ``.safetensors`` goes (default ``out_dir/model.safetensors``);
            its ``.json`` sidecar is written next to it.
    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or TrainConfig()
    config.check()
    if not train_items:
        raise VideoXAIError("no training videos")
    num_classes = len(class_names)
    bad_labels = sorted({label for _, label in list(train_items) + list(test_items) if not 0 <= label < num_classes})
    if bad_labels:
        raise VideoXAIError(f"labels {bad_labels[:5]} are outside 0..{num_classes - 1} ({num_classes} class names)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if model_path is not None:
        Path(model_path).parent.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / CHECKPOINT_NAME
    cache = cache or VideoCache(config.cache_bytes)
    settings = _settings(config, train_items, num_classes, _file_digest(init))

    with torch.random.fork_rng(devices=[]):
        checkpoint = read_checkpoint(checkpoint_path, settings) if resume else None

        torch.manual_seed(config.seed)
        device = torch.device(config.device)
        model = _build_model(config, num_classes, init).to(device)
        optimizer = torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=config.plateau_factor, patience=config.plateau_patience
        )
        data_generator = torch.Generator().manual_seed(config.seed)
        train_paths = [os.fspath(path) for path, _ in train_items]
        train_labels = [int(label) for _, label in train_items]

        if checkpoint is not None:
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            scheduler.load_state_dict(checkpoint["scheduler"])
            data_generator.set_state(checkpoint["data_rng"])
            torch.set_rng_state(checkpoint["torch_rng"])
            state = checkpoint["progress"]
            mean = tuple(checkpoint["meta"]["mean"])
            log_rows = list(checkpoint["log"])
            seconds_before = float(state.get("seconds", 0.0))
        else:
            mean = tuple(config.mean) if config.mean is not None else channel_means(train_paths, cache)
            state = {"iteration": 0, "epoch": 0, "position": 0, "order": [], "loss_sum": 0.0, "correct": 0, "seen": 0}
            log_rows = []
            seconds_before = 0.0
        meta = c3d_meta(config, class_names, mean)

        def save_checkpoint() -> None:
            _atomic_torch_save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "data_rng": data_generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "progress": dict(state, seconds=seconds_before + time.perf_counter() - started),
                    "log": log_rows,
                    "settings": settings,
                    "meta": meta,
                },
                checkpoint_path,
            )

        def epoch_row(complete: bool) -> dict:
            return {
                "epoch": state["epoch"] + 1,
                "iteration": state["iteration"],
                "complete": int(complete),
                "train_loss": state["loss_sum"] / max(state["seen"], 1),
                "train_accuracy": state["correct"] / max(state["seen"], 1),
                "lr": optimizer.param_groups[0]["lr"],
                "clips": state["seen"],
            }

        started = time.perf_counter()
        first_iteration = state["iteration"]
        bar = tqdm(
            total=config.iterations,
            initial=min(first_iteration, config.iterations),
            desc="train C3D",
            unit="it",
            disable=not progress,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        model.train()
        try:
            while state["iteration"] < config.iterations:
                if state["position"] >= len(state["order"]):
                    state["order"] = torch.randperm(len(train_items), generator=data_generator).tolist()
                    state["position"] = 0
                batch = state["order"][state["position"] : state["position"] + config.batch_size]
                clips = np.stack([random_clip(cache.frames(train_paths[index]), data_generator) for index in batch])
                labels = torch.tensor([train_labels[index] for index in batch], dtype=torch.long, device=device)
                logits, loss_value = training_step(model, optimizer, to_input(clips, mean).to(device), labels)
                state["iteration"] += 1
                state["position"] += len(batch)
                state["loss_sum"] += loss_value * len(batch)
                state["correct"] += int((logits.argmax(dim=1) == labels).sum())
                state["seen"] += len(batch)
                if state["position"] >= len(state["order"]):
                    row = epoch_row(complete=True)
                    log_rows.append(row)
                    scheduler.step(row["train_loss"])
                    state.update(epoch=state["epoch"] + 1, loss_sum=0.0, correct=0, seen=0)
                    _write_log(log_rows, out_dir / LOG_NAME)
                if state["iteration"] % config.checkpoint_every == 0 or state["iteration"] == config.iterations:
                    save_checkpoint()
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{optimizer.param_groups[0]['lr']:.0e}", refresh=False)
                if on_iteration is not None:
                    on_iteration(state["iteration"], loss_value)
        finally:
            bar.close()
        if state["seen"]:
            # The budget ended inside an epoch: log that partial epoch too, marked incomplete.
            _write_log(log_rows + [epoch_row(complete=False)], out_dir / LOG_NAME)
        elif not (out_dir / LOG_NAME).exists():
            _write_log(log_rows, out_dir / LOG_NAME)
        train_seconds = time.perf_counter() - started
        iterations_now = state["iteration"] - first_iteration

        save_model(model, Path(model_path) if model_path is not None else out_dir / MODEL_NAME, meta)
        metrics = evaluate(
            model,
            [(path, int(label)) for path, label in test_items],
            mean,
            cache,
            max_clips=config.test_max_clips,
            batch_size=config.test_batch_size,
            progress=progress,
            device=device,
        )
    final_rows = read_log(out_dir / LOG_NAME)
    metrics.update(
        {
            "iterations": state["iteration"],
            "epochs_logged": len(final_rows),
            "final_train_loss": float(final_rows[-1]["train_loss"]) if final_rows else None,
            "train_videos": len(train_items),
            "mean": list(mean),
            "seconds_per_iteration": train_seconds / iterations_now if iterations_now else None,
            "config": {key: value for key, value in asdict(config).items() if key not in ("cache_bytes", "device")},
            "init": None if init is None else os.fspath(init),
        }
    )
    atomic_write_bytes(out_dir / METRICS_NAME, (json.dumps(metrics, indent=2, sort_keys=True) + "\n").encode())
    return metrics


def train_from_split(
    root: str | os.PathLike,
    split_dir: str | os.PathLike,
    split: int,
    out_dir: str | os.PathLike,
    config: TrainConfig | None = None,
    init: str | os.PathLike | None = None,
    resume: bool = True,
    progress: bool = True,
    missing: str = "skip",
    cache: VideoCache | None = None,
    model_path: str | os.PathLike | None = None,
) -> dict:
    """:func:`train_c3d` on UCF-101 split ``split`` of the videos under ``root``, 101 classes from classInd.txt."""
    class_names = read_class_index(split_dir)
    train_items = [(path, label) for path, label, _ in read_ucf101_split(root, split_dir, split, "train", missing)]
    test_items = [(path, label) for path, label, _ in read_ucf101_split(root, split_dir, split, "test", missing)]
    if not train_items:
        raise VideoXAIError(f"none of the split-{split} training videos is under {root}")
    return train_c3d(
        train_items,
        test_items,
        out_dir,
        class_names,
        config=config,
        init=init,
        resume=resume,
        progress=progress,
        cache=cache,
        model_path=model_path,
    )
