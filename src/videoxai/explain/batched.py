"""Explaining the clips of many videos in batches, every method at once, one model load.

Clips of consecutive videos are stacked into batches (a batch may span videos), so the device
stays busy however few clips a video has; each video's arrays are handed out as soon as its last
clip is explained, named as the explain shard names them (:func:`videoxai.data.shards.shard_key`).
A video whose clips raise a :class:`~videoxai.core.errors.VideoXAIError` fails alone: its batch is
retried video by video. The study's explain step, the ground-truth benchmark and the static
control all explain through :func:`explain_videos`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.core.methods import FLOW_METHODS
from videoxai.data.copies import SHIFTS, frozen_copy, reference_frame, shifted, shuffle_orders, shuffled_copies
from videoxai.data.shards import shard_key
from videoxai.explain import get_explainer
from videoxai.explain.shared import explain_together
from videoxai.models.spec import ModelSpec

Progress = Callable[[str], None]


def to_numpy(value) -> np.ndarray:
    """A tensor (any device) or array-like as a NumPy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def synchronize(device: str | torch.device) -> None:
    """Wait for the device's queued work, so a timer around it measures the work itself."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def build_explainers(model: nn.Module, spec: ModelSpec, methods: Sequence[str], options: Mapping[str, dict]) -> dict:
    """One explainer per method, built with its configured options.

    Raises:
        ConfigurationError: naming ``explain.options.<method>`` or ``explain.methods`` when a
            method does not take an option or cannot explain this model.
    """
    explainers = {}
    for method in methods:
        try:
            explainers[method] = get_explainer(method, model, spec=spec, **dict(options.get(method) or {}))
        except ConfigurationError as error:
            raise ConfigurationError(error.reason, f"explain.options.{method}") from error
        except VideoXAIError as error:
            raise ConfigurationError(
                f"method {method!r} cannot explain {spec.name!r}: {error}", "explain.methods"
            ) from error
    return explainers


def check_clip_geometry(clips: np.ndarray, spec: ModelSpec) -> None:
    """Decoded clips uint8 ``(N, T, H, W, 3)`` must be the model's ``size`` x ``size``: a
    mismatch means the decode geometry and the model disagree, a configuration error."""
    if tuple(clips.shape[2:4]) != (spec.size, spec.size):
        raise ConfigurationError(
            f"clips are {tuple(clips.shape[2:4])} pixels but {spec.name} takes {spec.size}x{spec.size}",
            "model.spec.size",
        )


@dataclass
class VideoClips:
    """One video's decoded clips, as the explain step reads them.

    Attributes:
        video_id: the video's id in the study.
        clips: uint8 ``(N, T, H, W, 3)`` RGB, already ``spec.size`` square.
        flow: float ``(N, T, H, W, 2)`` Farnebäck flow of the same clips (flow methods only).
        target: the class every method explains: one for all of the video's clips (the index of
            its true class, with ``explain.target: label``) or int ``(N,)`` one per clip (a still
            copy explains its clip's class); None (or negative) explains each clip's top-1
            prediction.
    """

    video_id: str
    clips: np.ndarray
    flow: np.ndarray | None = None
    target: int | np.ndarray | None = None

    @property
    def explains_label(self) -> bool:
        """Whether the clips explain given classes (not their top-1 predictions)."""
        if self.target is None:
            return False
        return bool(np.all(np.asarray(self.target) >= 0))

    def target_of(self, clip: int) -> int:
        target = np.asarray(self.target)
        return int(target) if target.ndim == 0 else int(target[clip])


def shared_guided_gradcam(methods: Sequence[str], options: Mapping[str, dict]) -> bool:
    """Whether Guided Grad-CAM can reuse the configured Grad-CAM and Guided Backprop maps.

    It can when both are configured and take the same layer and precision: Guided Grad-CAM is
    then exactly Guided BP (summed over colour channels) times Grad-CAM, for the same target.
    """
    if not {"guided_gradcam", "gradcam", "guided_backprop"} <= set(methods):
        return False
    guided, gradcam, backprop = (
        dict(options.get(name) or {}) for name in ("guided_gradcam", "gradcam", "guided_backprop")
    )
    return guided.get("layer") == gradcam.get("layer") and guided.get("autocast") == gradcam.get(
        "autocast"
    ) == backprop.get("autocast")


def attribute_batch(
    explainers: Mapping,
    inputs: torch.Tensor,
    flow: torch.Tensor | None,
    share: bool,
    device,
    target: torch.Tensor | None = None,
) -> dict[str, dict]:
    """Every method on one batch of model input ``(B, 3, T, H, W)`` for int64 ``(B,)`` ``target``
    classes (None: each clip's top-1): per method its relevance, logits, target (CPU numpy),
    seconds for the batch, and the method's extra arrays (:meth:`Explanation.extra_arrays`)."""
    results: dict[str, dict] = {}
    order = sorted(explainers, key=lambda name: name == "guided_gradcam")  # its sources first
    # one forward pass for the paper's methods (explain.shared); seconds: that forward + the method's backward
    together = explain_together(explainers, inputs, target)
    for method in order:
        began = time.perf_counter()
        if method == "guided_gradcam" and share and method not in together:
            cam, backprop = results["gradcam"], results["guided_backprop"]
            if np.array_equal(cam["target"], backprop["target"]):
                # Guided BP is already summed over colour channels and Grad-CAM is one value per
                # voxel, so this is the very product GuidedGradCAM computes, and costs what both did
                relevance = backprop["tensor"] * cam["tensor"]
                results[method] = {
                    "relevance": to_numpy(relevance).astype(np.float32),
                    "logits": cam["logits"],
                    "target": cam["target"],
                    "extra": ({}, {}),
                    "seconds": cam["seconds"] + backprop["seconds"] + time.perf_counter() - began,
                }
                continue
        extra = {"flow": flow} if method in FLOW_METHODS else {}
        if method in together:
            result = together[method]
        else:
            result = explainers[method].attribute(inputs, target=target, **extra)
        synchronize(device)
        results[method] = {
            "relevance": to_numpy(result.relevance).astype(np.float32),
            "logits": to_numpy(result.logits).astype(np.float32),
            "target": to_numpy(result.target).astype(np.int64),
            "extra": result.extra_arrays(),
            "seconds": result.seconds if method in together else time.perf_counter() - began,
            "tensor": result.relevance if share and method in ("gradcam", "guided_backprop") else None,
        }
    return results


@dataclass(eq=False)  # compared and hashed by identity: one per video in flight
class PendingVideo:
    """A video whose clips are being explained: per method, the results of its clips so far."""

    video: VideoClips
    done: int = 0
    parts: dict = field(default_factory=dict)  # method -> list of per-clip dicts

    def add(self, method: str, result: dict, position: int, clips_in_batch: int) -> None:
        """Keep clip ``position`` of a batch's ``result`` for ``method``."""
        per_clip, shared = result["extra"]
        part = {
            "relevance": result["relevance"][position : position + 1],
            "logits": result["logits"][position : position + 1],
            "target": result["target"][position : position + 1],
            "seconds": np.array([result["seconds"] / clips_in_batch]),
            "per_clip": {name: value[position : position + 1] for name, value in per_clip.items()},
            "shared": shared,
        }
        self.parts.setdefault(method, []).append(part)

    def arrays(self, methods: Sequence[str]) -> dict[str, np.ndarray]:
        """The explain shard's arrays of this video from the per-clip parts."""
        arrays: dict[str, np.ndarray] = {}
        for method in methods:
            parts = self.parts[method]
            logits = np.concatenate([part["logits"] for part in parts])
            arrays[shard_key("explain", "relevance", method=method)] = np.concatenate(
                [part["relevance"] for part in parts]
            )
            arrays[shard_key("explain", "logits", method=method)] = logits
            arrays[shard_key("explain", "target", method=method)] = np.concatenate([part["target"] for part in parts])
            arrays[shard_key("explain", "predicted", method=method)] = logits.argmax(axis=1).astype(np.int64)
            arrays[shard_key("explain", "seconds_per_clip", method=method)] = np.concatenate(
                [part["seconds"] for part in parts]
            ).astype(np.float64)
            arrays.update(parts[0]["shared"])
            for name in parts[0]["per_clip"]:
                arrays[name] = np.concatenate([part["per_clip"][name] for part in parts])
        arrays["target_is_label"] = np.full(len(self.video.clips), self.video.explains_label, dtype=bool)
        return arrays


class BatchedExplainer:
    """Explains the clips of a stream of videos in batches of ``batch_size`` clips.

    :meth:`add` queues a video's clips and explains every full batch; :meth:`flush` explains
    the rest. :meth:`finished` hands out, in input order, each video whose clips are all done,
    as ``(video_id, arrays)`` or ``(video_id, error)``.
    """

    def __init__(
        self,
        model: nn.Module,
        spec: ModelSpec,
        methods: Sequence[str],
        options: Mapping[str, dict],
        batch_size: int,
        device,
        progress: Progress | None,
    ):
        self.spec, self.batch_size, self.device, self.progress = spec, batch_size, device, progress
        self.methods = list(methods)
        self.explainers = build_explainers(model, spec, self.methods, options)
        self.share = shared_guided_gradcam(self.methods, options)
        self.flow_needed = any(method in FLOW_METHODS for method in self.methods)
        self.queue: list[tuple[PendingVideo, int]] = []  # (video, clip index) not yet explained
        self.order: list[PendingVideo] = []  # videos in input order, until handed out
        self.failed: dict[str, VideoXAIError] = {}

    def add(self, video: VideoClips) -> None:
        check_clip_geometry(video.clips, self.spec)
        if self.flow_needed and video.flow is None:
            raise ConfigurationError(
                f"{[m for m in self.methods if m in FLOW_METHODS]} need the clips' optical flow", "explain.methods"
            )
        pending = PendingVideo(video)
        self.order.append(pending)
        self.queue.extend((pending, index) for index in range(len(video.clips)))
        while len(self.queue) >= self.batch_size:
            batch, self.queue = self.queue[: self.batch_size], self.queue[self.batch_size :]
            self.run(batch)

    def flush(self) -> None:
        if self.queue:
            batch, self.queue = self.queue, []
            self.run(batch)

    def run(self, items: list[tuple[PendingVideo, int]]) -> None:
        """Explain ``items``; a batch that fails is retried video by video to find the one at fault."""
        items = [item for item in items if item[0].video.video_id not in self.failed]
        if not items:
            return
        kinds = {item[0].video.explains_label for item in items}
        if len(kinds) > 1:  # a batch explains either given classes or top-1 predictions
            for kind in (True, False):
                self.run([item for item in items if item[0].video.explains_label == kind])
            return
        try:
            self.record(items)
        except ConfigurationError:
            raise
        except VideoXAIError as error:
            videos_in_batch = list(dict.fromkeys(item for item, _ in items))
            if len(videos_in_batch) == 1:
                self.failed[videos_in_batch[0].video.video_id] = error
                return
            for video in videos_in_batch:  # find the video at fault; the others still count
                self.run([item for item in items if item[0] is video])

    def record(self, items: list[tuple[PendingVideo, int]]) -> None:
        clips = np.stack([item.video.clips[index] for item, index in items])
        flow = None
        if self.flow_needed:
            flow = torch.from_numpy(np.stack([np.asarray(item.video.flow[index], np.float32) for item, index in items]))
        inputs = self.spec.preprocess(clips, device=self.device)
        target = None
        if items[0][0].video.explains_label:  # run() never mixes label and top-1 clips in a batch
            target = torch.tensor(
                [item.video.target_of(index) for item, index in items], dtype=torch.int64, device=inputs.device
            )
        results = attribute_batch(self.explainers, inputs, flow, self.share, self.device, target)
        for position, (item, _) in enumerate(items):
            for method, result in results.items():
                item.add(method, result, position, len(items))
            item.done += 1
        if self.progress:
            names = sorted({item.video.video_id for item, _ in items})
            seconds = sum(result["seconds"] for result in results.values())
            self.progress(
                f"{len(items)} clip(s) of {', '.join(names)}: {len(results)} method(s) in {seconds:.2f} s on {self.device}"
            )

    def finished(self) -> Iterator[tuple[str, dict | VideoXAIError]]:
        while self.order and (
            self.order[0].video.video_id in self.failed or self.order[0].done == len(self.order[0].video.clips)
        ):
            pending = self.order.pop(0)
            video_id = pending.video.video_id
            if video_id in self.failed:
                yield video_id, self.failed[video_id]
            else:
                yield video_id, pending.arrays(self.methods)


@dataclass(frozen=True)
class StillCopies:
    """What the explain step adds to every clip (see :mod:`videoxai.data.copies`).

    Attributes:
        shifts: still copies shifted by one pixel (:data:`videoxai.data.copies.SHIFTS`, in order),
            explained like the still copy: the calibrated test's null. 0 for none.
        shuffles: temporally shuffled copies whose logits are kept (the behavioural reference;
            a forward pass each, no explanation). 0 for none.
        seed: seeds the shuffles.
    """

    shifts: int = 0
    shuffles: int = 0
    seed: int = 0


# Suffixes of the copies' ids inside explain_videos (shown in progress lines only); video ids
# never contain a space, so they cannot clash with a real one.
STILL_SUFFIX = " (still copy)"
SHIFT_SUFFIX = " (shifted still {index})"


class StillCopyRound:
    """Explains each video's still copies once the video itself is explained, and merges them in.

    The still copy repeats the clip's reference frame (:func:`videoxai.data.copies.reference_frame`)
    and explains the class the clip's first method explained, clip by clip; its arrays join the
    video's under ``static_control/{method}/...``, the shifted stills' maps at the reference frame
    under ``stills/{method}/shifted``, the shuffled copies' logits under ``shuffled/``.
    """

    def __init__(self, batcher: BatchedExplainer, model: nn.Module, copies: StillCopies, batch_size: int):
        self.batcher, self.model, self.copies, self.batch_size = batcher, model, copies, batch_size
        self.shifts = SHIFTS[: copies.shifts]
        self.waiting: dict[str, dict] = {}  # video id -> {"arrays", "copies": {suffix: arrays}}
        self.order: list[str] = []  # real videos in input order, until handed out

    def add(self, video: VideoClips) -> None:
        self.order.append(video.video_id)
        self.batcher.add(video)

    def _copies_of(self, video_id: str, arrays: dict, clips: np.ndarray, flow: np.ndarray | None) -> None:
        first = self.batcher.methods[0]
        target = arrays[shard_key("explain", "target", method=first)]
        frame = reference_frame(clips.shape[1])
        still = frozen_copy(clips, frame)
        zero_flow = None if flow is None else np.zeros_like(flow, dtype=np.float32)
        self.waiting[video_id] = {"arrays": arrays, "copies": {}, "frame": frame, "clips": clips}
        self.batcher.add(VideoClips(video_id + STILL_SUFFIX, still, zero_flow, target))
        for index, (dy, dx) in enumerate(self.shifts):
            copy = shifted(still, dy, dx)
            self.batcher.add(VideoClips(video_id + SHIFT_SUFFIX.format(index=index), copy, zero_flow, target))

    def _shuffled_logits(self, clips: np.ndarray) -> dict[str, np.ndarray]:
        orders = shuffle_orders(len(clips), clips.shape[1], self.copies.shuffles, self.copies.seed)
        copies = shuffled_copies(clips, orders).reshape(-1, *clips.shape[1:])
        logits = []
        with torch.inference_mode():
            for start in range(0, len(copies), self.batch_size):
                inputs = self.batcher.spec.preprocess(
                    copies[start : start + self.batch_size], device=self.batcher.device
                )
                logits.append(to_numpy(self.model(inputs)).astype(np.float32))
        stacked = np.concatenate(logits).reshape(len(clips), self.copies.shuffles, -1)
        return {
            shard_key("explain", "orders", group="shuffled"): orders,
            shard_key("explain", "logits", group="shuffled"): stacked,
        }

    def _merge(self, video_id: str) -> dict:
        entry = self.waiting.pop(video_id)
        arrays, copies, frame = entry["arrays"], entry["copies"], entry["frame"]
        still = copies[STILL_SUFFIX]
        merged = dict(arrays)
        for method in self.batcher.methods:
            for name in ("relevance", "logits", "target", "predicted", "seconds_per_clip"):
                merged[shard_key("explain", name, method=method, group="static_control")] = still[
                    shard_key("explain", name, method=method)
                ]
            seconds = still[shard_key("explain", "seconds_per_clip", method=method)].copy()
            if self.shifts:
                maps = []
                for index in range(len(self.shifts)):
                    shifted_arrays = copies[SHIFT_SUFFIX.format(index=index)]
                    maps.append(shifted_arrays[shard_key("explain", "relevance", method=method)][:, frame])
                    seconds = seconds + shifted_arrays[shard_key("explain", "seconds_per_clip", method=method)]
                merged[shard_key("explain", "shifted", method=method, group="stills")] = np.stack(maps, axis=1)
            merged[shard_key("explain", "seconds_per_clip", method=method, group="stills")] = seconds
        merged[shard_key("explain", "frame", group="stills")] = np.array([frame], np.int64)
        merged[shard_key("explain", "shifts", group="stills")] = np.array(self.shifts, np.int64).reshape(-1, 2)
        if self.copies.shuffles:
            merged.update(self._shuffled_logits(entry["clips"]))
        return merged

    def handle(self, finished: Iterable[tuple[str, dict | VideoXAIError]], inputs: dict[str, VideoClips]) -> None:
        """Take the batcher's finished videos: a real one queues its copies, a copy joins its video."""
        for video_id, result in list(finished):
            real = video_id.split(" (", 1)[0]
            if video_id == real:
                if isinstance(result, VideoXAIError):
                    self.waiting[real] = {"error": result}
                else:
                    source = inputs.pop(real)
                    self._copies_of(real, result, source.clips, source.flow)
                continue
            entry = self.waiting.get(real)
            if entry is None or "error" in entry:
                continue
            if isinstance(result, VideoXAIError):
                self.waiting[real] = {
                    "error": VideoXAIError(f"a still copy of the clips cannot be explained: {result}")
                }
                continue
            entry["copies"][video_id[len(real) :]] = result

    def pending_copies(self) -> int:
        """How many copies have come back so far (a measure of progress)."""
        return sum(len(entry.get("copies", {})) for entry in self.waiting.values())

    def ready(self) -> Iterator[tuple[str, dict | VideoXAIError]]:
        """Videos whose copies are all done, in input order."""
        expected = 1 + len(self.shifts)
        while self.order:
            entry = self.waiting.get(self.order[0])
            if entry is None:
                return
            if "error" not in entry and len(entry["copies"]) < expected:
                return
            video_id = self.order.pop(0)
            yield (
                (video_id, self.waiting.pop(video_id)["error"])
                if "error" in entry
                else (video_id, self._merge(video_id))
            )


def explain_videos(
    model: nn.Module,
    spec: ModelSpec,
    videos: Iterable[VideoClips],
    methods: Sequence[str],
    options: Mapping[str, dict] | None = None,
    batch_size: int = 4,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
    stills: StillCopies | None = None,
) -> Iterator[tuple[str, dict[str, np.ndarray] | VideoXAIError]]:
    """Every method's relevance for the clips of many videos, with the model loaded once.

    With ``stills``, every clip's still copy (its middle frame repeated,
    :func:`videoxai.data.copies.frozen_copy`) is explained too, in the same batches, for the class
    the clip's first method explained, and its arrays join the video's under
    ``static_control/{method}/...`` (relevance, logits, target, predicted, seconds_per_clip); so do
    the shifted still copies' maps at the reference frame and the shuffled copies' logits
    (:class:`StillCopies`). A video whose copies cannot be explained fails as a whole.

    Guided Grad-CAM reuses Grad-CAM and Guided Backprop when both are configured with the same
    settings (:func:`shared_guided_gradcam`); no map changes. ``videos`` is consumed lazily, so a
    prefetching iterator overlaps reading with the model's work.

    Yields:
        ``(video_id, arrays)`` as soon as all clips of a video (and its copies) are explained, in
        input order, with the arrays of :func:`explain_clips`; or ``(video_id, error)`` when that
        video's clips raised a :class:`VideoXAIError`. A :class:`ConfigurationError` is raised,
        not yielded.
    """
    batcher = BatchedExplainer(model, spec, methods, options or {}, batch_size, device, progress)
    if stills is None:
        for video in videos:
            batcher.add(video)
            yield from batcher.finished()
        batcher.flush()
        yield from batcher.finished()
        return
    round_ = StillCopyRound(batcher, model, stills, batch_size)
    inputs: dict[str, VideoClips] = {}
    for video in videos:
        inputs[video.video_id] = video
        round_.add(video)
        round_.handle(batcher.finished(), inputs)
        yield from round_.ready()
    while batcher.queue or round_.waiting:
        progress_before = (len(batcher.queue), round_.pending_copies())
        batcher.flush()
        round_.handle(batcher.finished(), inputs)
        yield from round_.ready()
        if round_.waiting and not batcher.queue and progress_before == (0, round_.pending_copies()):
            raise RuntimeError(f"the still copies of {sorted(round_.waiting)} were never explained")
    yield from round_.ready()


def explain_clips(
    model: nn.Module,
    spec: ModelSpec,
    clips: np.ndarray,
    methods: Sequence[str],
    options: Mapping[str, dict] | None = None,
    batch_size: int = 4,
    device: str | torch.device = "cpu",
    flow: np.ndarray | None = None,
    progress: Progress | None = None,
    stills: StillCopies | None = None,
    target: int | None = None,
) -> dict[str, np.ndarray]:
    """Every method's relevance for every clip of one video, as the explain shard's arrays.

    Args:
        clips: uint8 ``(N, T, H, W, 3)`` RGB, already ``spec.size`` square.
        methods: names of :data:`videoxai.explain.ALL_METHODS`.
        options: method -> keyword options of its explainer.
        batch_size: clips per forward/backward pass (memory only: maps do not change).
        flow: float ``(N, T, H, W, 2)`` Farnebäck flow of the same clips; needed by flow methods.
        progress: called with one line per batch.
        stills: also explain each clip's still copies (arrays under ``static_control/``,
            ``stills/`` and ``shuffled/``, see :func:`explain_videos`).
        target: class index every clip is explained for (e.g. the video's true class); None
            explains each clip's top-1 prediction.
    Returns:
        ``{method}/relevance`` float32 ``(N, T, H, W)``, ``{method}/logits`` float32 ``(N, K)``,
        ``{method}/target`` and ``{method}/predicted`` int64 ``(N,)``, ``{method}/seconds_per_clip``
        float64 ``(N,)``; ``target_is_label`` bool ``(N,)`` (True where ``target`` was given);
        for ``cfp`` also its pyramid under ``cfp/pyramid/``.
    Raises:
        VideoXAIError: the clips cannot be explained.
    """
    ((_, arrays),) = explain_videos(
        model,
        spec,
        [VideoClips("clips", clips, flow, target)],
        methods,
        options,
        batch_size=batch_size,
        device=device,
        progress=progress,
        stills=stills,
    )
    if isinstance(arrays, VideoXAIError):
        raise arrays
    return arrays
