"""The work of the workflow's model stages, as plain functions: arrays in, arrays (or rows) out.

The scripts in ``scripts/`` only read shards, call one of these and write the result; the same
functions serve a notebook or a test. Nothing here knows about Snakemake.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.core.methods import REGISTRY
from videoxai.explain import FLOW_METHODS, get_explainer
from videoxai.explain.shared import explain_together
from videoxai.models.spec import ModelSpec

Progress = Callable[[str], None]


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _synchronize(device: str | torch.device) -> None:
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
    """One video's decoded clips, as the explain stage reads them.

    Attributes:
        video_id: the video's id in the study.
        clips: uint8 ``(N, T, H, W, 3)`` RGB, already ``spec.size`` square.
        flow: float ``(N, T, H, W, 2)`` Farnebäck flow of the same clips (flow methods only).
        target: the class every method explains for all of the video's clips (the index of its
            true class, with ``explain.target: label``); None (or negative) explains each
            clip's top-1 prediction.
    """

    video_id: str
    clips: np.ndarray
    flow: np.ndarray | None = None
    target: int | None = None

    @property
    def explains_label(self) -> bool:
        return self.target is not None and self.target >= 0


@dataclass(eq=False)  # compared and hashed by identity: one per video in flight
class _Pending:
    """A video whose clips are being explained: per method, the results of its clips so far."""

    video: VideoClips
    done: int = 0
    parts: dict = field(default_factory=dict)  # method -> list of per-batch dicts


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


def _attribute_batch(
    explainers: Mapping,
    inputs: torch.Tensor,
    flow: torch.Tensor | None,
    share: bool,
    device,
    target: torch.Tensor | None = None,
) -> dict[str, dict]:
    """Every method on one batch of model input ``(B, 3, T, H, W)`` for int64 ``(B,)`` ``target``
    classes (None: each clip's top-1): per method its relevance, logits, target (CPU numpy),
    seconds for the batch, and the raw result (CFP's pyramid)."""
    results: dict[str, dict] = {}
    order = sorted(explainers, key=lambda name: name == "guided_gradcam")  # its sources first
    # one forward pass for the paper's methods (explain.shared); seconds: that forward + the method's backward
    together = explain_together(explainers, inputs, target)
    for method in order:
        explainer = explainers[method]
        began = time.perf_counter()
        if method == "guided_gradcam" and share and method not in together:
            cam, backprop = results["gradcam"], results["guided_backprop"]
            if np.array_equal(cam["target"], backprop["target"]):
                # Guided BP is already summed over colour channels and Grad-CAM is one value per
                # voxel, so this is the very product GuidedGradCAM computes, and costs what both did
                relevance = backprop["tensor"] * cam["tensor"]
                results[method] = {
                    "relevance": _to_numpy(relevance).astype(np.float32),
                    "logits": cam["logits"],
                    "target": cam["target"],
                    "result": None,
                    "seconds": cam["seconds"] + backprop["seconds"] + time.perf_counter() - began,
                }
                continue
        extra = {"flow": flow} if method in FLOW_METHODS else {}
        result = together[method] if method in together else explainer.attribute(inputs, target=target, **extra)
        _synchronize(device)
        results[method] = {
            "relevance": _to_numpy(result.relevance).astype(np.float32),
            "logits": _to_numpy(result.logits).astype(np.float32),
            "target": _to_numpy(result.target).astype(np.int64),
            "result": result,
            "seconds": result.seconds if method in together else time.perf_counter() - began,
            "tensor": result.relevance if share and method in ("gradcam", "guided_backprop") else None,
        }
    return results


def _video_arrays(pending: _Pending, methods: Sequence[str]) -> dict[str, np.ndarray]:
    """The explain shard's arrays of one video from the per-batch parts of its clips."""
    arrays: dict[str, np.ndarray] = {}
    for method in methods:
        parts = pending.parts[method]
        logits = np.concatenate([part["logits"] for part in parts])
        arrays[f"{method}/relevance"] = np.concatenate([part["relevance"] for part in parts])
        arrays[f"{method}/logits"] = logits
        arrays[f"{method}/target"] = np.concatenate([part["target"] for part in parts])
        arrays[f"{method}/predicted"] = logits.argmax(axis=1).astype(np.int64)
        arrays[f"{method}/seconds_per_clip"] = np.concatenate([part["seconds"] for part in parts]).astype(np.float64)
        pyramids = [part["pyramid"] for part in parts if part.get("pyramid")]
        if pyramids:
            arrays["cfp/pyramid/layers"] = pyramids[0]["cfp/pyramid/layers"]
            for name in pyramids[0]:
                if name != "cfp/pyramid/layers":
                    arrays[name] = np.concatenate([pyramid[name] for pyramid in pyramids])
    arrays["target_is_label"] = np.full(len(pending.video.clips), pending.video.explains_label, dtype=bool)
    return arrays


# Suffix of the frozen copy's id inside explain_videos (shown in progress lines only); video ids
# never contain a space, so it cannot clash with a real one.
_FROZEN = " (frozen copy)"


def _with_frozen_copies(videos: Iterable[VideoClips]) -> Iterator[VideoClips]:
    """Each video followed by its frozen copy (flow of a frozen copy is zero)."""
    from videoxai.evaluation.static_control import frozen_copy

    for video in videos:
        yield video
        flow = None if video.flow is None else np.zeros_like(video.flow, dtype=np.float32)
        yield VideoClips(video.video_id + _FROZEN, frozen_copy(video.clips), flow)


def explain_videos(
    model: nn.Module,
    spec: ModelSpec,
    videos: Iterable[VideoClips],
    methods: Sequence[str],
    options: Mapping[str, dict] | None = None,
    batch_size: int = 4,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
    static_control: bool = False,
) -> Iterator[tuple[str, dict[str, np.ndarray] | VideoXAIError]]:
    """Every method's relevance for the clips of many videos, with the model loaded once.

    With ``static_control``, the frozen copy of every clip (:func:`videoxai.evaluation.static_control.frozen_copy`)
    is explained too, in the same batches, and its arrays join the video's under
    ``static_control/{method}/...`` (relevance, logits, target, predicted, seconds_per_clip; each
    method explains the class the model predicts for the frozen copy). A video whose frozen copy
    cannot be explained fails as a whole.

    Clips of consecutive videos are stacked into batches of ``batch_size`` clips (a batch may
    span videos), so the device stays busy however few clips a video has. Guided Grad-CAM
    reuses Grad-CAM and Guided Backprop when both are configured with the same settings
    (:func:`shared_guided_gradcam`); no map changes. ``videos`` is consumed lazily, so a
    prefetching iterator (:func:`prefetched`) overlaps reading with the model's work.

    Yields:
        ``(video_id, arrays)`` as soon as all clips of a video are explained, in input order,
        with the arrays of :func:`explain_clips`; or ``(video_id, error)`` when that video's
        clips raised a :class:`VideoXAIError` (its batch is retried video by video, so one
        bad video never costs the others). A :class:`ConfigurationError` is raised, not yielded.
    """
    if static_control:
        yield from _paired_with_frozen(
            explain_videos(model, spec, _with_frozen_copies(videos), methods, options, batch_size, device, progress)
        )
        return
    options = options or {}
    methods = list(methods)
    explainers = build_explainers(model, spec, methods, options)
    share = shared_guided_gradcam(methods, options)
    flow_needed = any(method in FLOW_METHODS for method in methods)
    queue: list[tuple[_Pending, int]] = []  # (video, clip index) not yet explained
    order: list[_Pending] = []  # videos in input order, until yielded
    failed: dict[str, VideoXAIError] = {}

    def record(items: list[tuple[_Pending, int]]) -> None:
        clips = np.stack([item.video.clips[index] for item, index in items])
        flow = None
        if flow_needed:
            flow = torch.from_numpy(np.stack([np.asarray(item.video.flow[index], np.float32) for item, index in items]))
        inputs = spec.preprocess(clips, device=device)
        target = None
        if items[0][0].video.explains_label:  # run() never mixes label and top-1 clips in a batch
            target = torch.tensor([item.video.target for item, _ in items], dtype=torch.int64, device=inputs.device)
        results = _attribute_batch(explainers, inputs, flow, share, device, target)
        for position, (item, _) in enumerate(items):
            for method, result in results.items():
                part = {
                    "relevance": result["relevance"][position : position + 1],
                    "logits": result["logits"][position : position + 1],
                    "target": result["target"][position : position + 1],
                    "seconds": np.array([result["seconds"] / len(items)]),
                }
                if method == "cfp" and result["result"] is not None:
                    from videoxai.explain.cfp import pyramid_arrays

                    pyramid = pyramid_arrays(result["result"], prefix="cfp/pyramid", maps=True)
                    part["pyramid"] = {
                        name: value if name.endswith("/layers") else value[position : position + 1]
                        for name, value in pyramid.items()
                    }
                item.parts.setdefault(method, []).append(part)
            item.done += 1
        if progress:
            names = sorted({item.video.video_id for item, _ in items})
            seconds = sum(result["seconds"] for result in results.values())
            progress(
                f"{len(items)} clip(s) of {', '.join(names)}: {len(results)} method(s) in {seconds:.2f} s on {device}"
            )

    def run(items: list[tuple[_Pending, int]]) -> None:
        items = [item for item in items if item[0].video.video_id not in failed]
        if not items:
            return
        kinds = {item[0].video.explains_label for item in items}
        if len(kinds) > 1:  # a batch explains either given classes or top-1 predictions
            for kind in (True, False):
                run([item for item in items if item[0].video.explains_label == kind])
            return
        try:
            record(items)
        except ConfigurationError:
            raise
        except VideoXAIError as error:
            videos_in_batch = list(dict.fromkeys(item for item, _ in items))
            if len(videos_in_batch) == 1:
                failed[videos_in_batch[0].video.video_id] = error
                return
            for video in videos_in_batch:  # find the video at fault; the others still count
                run([item for item in items if item[0] is video])

    def finished() -> Iterator[tuple[str, dict | VideoXAIError]]:
        while order and (order[0].video.video_id in failed or order[0].done == len(order[0].video.clips)):
            pending = order.pop(0)
            video_id = pending.video.video_id
            yield (video_id, failed[video_id]) if video_id in failed else (video_id, _video_arrays(pending, methods))

    for video in videos:
        check_clip_geometry(video.clips, spec)
        if flow_needed and video.flow is None:
            raise ConfigurationError(
                f"{[m for m in methods if m in FLOW_METHODS]} need the clips' optical flow", "explain.methods"
            )
        pending = _Pending(video)
        order.append(pending)
        queue.extend((pending, index) for index in range(len(video.clips)))
        while len(queue) >= batch_size:
            batch, queue = queue[:batch_size], queue[batch_size:]
            run(batch)
            yield from finished()
    if queue:
        run(queue)
    yield from finished()


def _paired_with_frozen(
    results: Iterable[tuple[str, dict | VideoXAIError]],
) -> Iterator[tuple[str, dict | VideoXAIError]]:
    """Merge each video's result with its frozen copy's, which explain_videos yields right after it."""
    from videoxai.evaluation.static_control import PREFIX

    held: tuple[str, dict | VideoXAIError] | None = None
    for video_id, result in results:
        if not video_id.endswith(_FROZEN):
            held = (video_id, result)
            continue
        original, arrays = held
        if isinstance(arrays, VideoXAIError):
            yield original, arrays
        elif isinstance(result, VideoXAIError):
            yield original, VideoXAIError(f"the frozen copy (static control) cannot be explained: {result}")
        else:
            frozen = {f"{PREFIX}/{name}": value for name, value in result.items() if not name.startswith("cfp/pyramid")}
            yield original, {**arrays, **frozen}
        held = None


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
    static_control: bool = False,
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
        static_control: also explain each clip's frozen copy (arrays under ``static_control/``,
            see :func:`explain_videos`).
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
        static_control=static_control,
    )
    if isinstance(arrays, VideoXAIError):
        raise arrays
    return arrays


def prefetched(items: Iterable, depth: int = 2) -> Iterator:
    """Iterate ``items`` with up to ``depth`` of them produced ahead in a background thread, so
    reading the next videos' shards overlaps the model's work on the current ones. An exception
    raised while producing an item is raised here, at that item."""
    import queue
    import threading

    buffer: queue.Queue = queue.Queue(maxsize=max(1, depth))
    end = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((end, None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            buffer.put((end, error))

    thread = threading.Thread(target=produce, name="videoxai-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = buffer.get()
            if item is end:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()


def annotation_for(annotations: Mapping[str, dict] | None, video_id: str, video_path: str) -> dict | None:
    """A video's entry of :func:`videoxai.evaluation.faithfulness.read_annotations`: by video id, else by the
    stem of its file name; None when absent."""
    if annotations is None:
        return None
    return annotations.get(video_id, annotations.get(Path(str(video_path)).stem))


def curve_rows(video_id: str, method: str, variant: str, n: float, curves: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Tidy rows of both deletion/insertion curves: one per clip and step; ``q`` = the fraction of
    the units removed or revealed at that step, ``metric`` = ``deletion_curve``/``insertion_curve``."""
    from videoxai.evaluation.metrics import TIDY_COLUMNS

    frames = []
    for mode in ("deletion", "insertion"):
        values = np.asarray(curves[mode], np.float64)  # (N, steps + 1)
        clips, points = values.shape
        count = clips * points
        frames.append(
            pd.DataFrame(
                {
                    "video": video_id,
                    "clip": np.repeat(np.arange(clips), points),
                    "method": method,
                    "variant": variant,
                    "n": np.full(count, float(n)),
                    "tau": np.full(count, np.nan),
                    "q": np.tile(np.arange(points) / (points - 1), clips),
                    "other_method": "",
                    "metric": f"{mode}_curve",
                    "value": values.reshape(-1),
                },
                columns=list(TIDY_COLUMNS),
            )
        )
    return pd.concat(frames, ignore_index=True)


def faithfulness_table(
    model: nn.Module,
    spec: ModelSpec,
    video_id: str,
    clips: np.ndarray,
    maps: Sequence[tuple[str, str, float, np.ndarray, np.ndarray]],
    steps: int,
    baseline: str = "zeros",
    grid: tuple[int, int] | None = None,
    batch_size: int = 16,
    random_seed: int = 0,
    references: Sequence[str] = ("random",),
    pointing_targets: dict | None = None,
    tolerance: float = 15.0,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Deletion/insertion, pointing game and smoothness rows of every map of one video, and of
    the reference maps (``references``: ``random`` and/or ``centre``, rows with that method name).

    Args:
        clips: uint8 ``(N, T, H, W, 3)`` the maps explain.
        maps: ``(method, variant, n, relevance float (N, T, H, W), target int (N,))``; n is NaN
            for baseline maps.
        references: reference maps of :data:`videoxai.evaluation.faithfulness.REFERENCES` to score too
            (``random`` seeded with ``random_seed``; ``centre`` peaks at the frame's centre).
        pointing_targets: ``{"boxes": ...}`` or ``{"masks": ...}`` of the clips (see
            :func:`videoxai.evaluation.faithfulness.pointing_game`); None skips the pointing game.
    Returns:
        Tidy rows (``videoxai.evaluation.metrics.TIDY_COLUMNS``), curves included.
    """
    from videoxai.evaluation.faithfulness import (
        REFERENCES,
        deletion_insertion,
        faithfulness_rows,
        pointing_game,
        reference_relevance,
        spatiotemporal_smoothness,
    )

    if not maps:
        raise ConfigurationError("no map to score: configure a method and a variant", "faithfulness.variants")
    unknown = [name for name in references if name not in REFERENCES]
    if unknown:
        raise ConfigurationError(
            f"unknown reference map {unknown[0]!r}: use {list(REFERENCES)}", "faithfulness.references"
        )
    check_clip_geometry(clips, spec)
    inputs = spec.preprocess(clips, device=device)
    first_relevance, first_target = maps[0][3], maps[0][4]
    scored = [*maps]
    for name in references:
        reference = reference_relevance(name, np.shape(first_relevance), seed=random_seed).numpy()
        scored.append((name, "baseline", np.nan, reference, first_target))
    frames = []
    for method, variant, n, relevance, target in scored:
        began = time.perf_counter()
        curves = deletion_insertion(
            model,
            inputs,
            torch.from_numpy(np.ascontiguousarray(relevance)),
            torch.from_numpy(np.asarray(target)),
            steps=steps,
            baseline=baseline,
            grid=grid,
            batch_size=batch_size,
        )
        if progress:
            progress(
                f"{method} {variant} n={n}: deletion/insertion of {len(clips)} clip(s) in "
                f"{time.perf_counter() - began:.1f} s"
            )
        pointing = (
            pointing_game(relevance, tolerance=float(tolerance), **pointing_targets) if pointing_targets else None
        )
        frames.append(
            faithfulness_rows(
                video_id,
                method,
                variant,
                n,
                deletion_insertion_result=curves,
                pointing=pointing,
                smoothness=spatiotemporal_smoothness(relevance),
            )
        )
        frames.append(curve_rows(video_id, method, variant, n, curves))
    table = pd.concat(frames, ignore_index=True)
    return table.astype({"n": np.float64, "tau": np.float64, "q": np.float64, "value": np.float64})


def preflight(config: Mapping, device: str | torch.device = "cpu") -> dict:
    """Check everything about a study's settings that needs the model, once, before any video.

    Loads the model with its weights, builds every configured explainer with its options, runs
    the model on one blank clip of the configured geometry (and the methods that can only tell
    from a cheap forward pass whether they fit the architecture, ``MethodInfo.probe``). The
    annotation file is read by :func:`videoxai.core.study_config.check_study_config` (torch-free,
    when the DAG is built), which this calls first.

    Args:
        config: the validated study config (``model``, ``clips``, ``explain``).
    Returns:
        A summary: model name, weights sha256, classes, methods, input shape.
    Raises:
        ConfigurationError: naming the key at fault.
    """
    from videoxai.core.study_config import check_study_config
    from videoxai.models import load_configured

    check_study_config(config)  # names, options and known refusals of the methods among the rest
    methods = list(config["explain"]["methods"])
    model, spec = load_configured(config["model"], device=device)
    explainers = build_explainers(model, spec, methods, config["explain"]["options"])
    frames = int(config["clips"]["length"])
    blank = spec.preprocess(np.full((1, frames, spec.size, spec.size, 3), 128, dtype=np.uint8), device=device)
    try:
        with torch.no_grad():
            logits = model(blank)
    except Exception as error:  # noqa: BLE001 - whatever the network raises on its input is a settings problem
        raise ConfigurationError(
            f"{spec.name} cannot take clips of {frames} x {spec.size} x {spec.size} ({type(error).__name__}: {error})",
            "clips.length",
        ) from error
    for method, explainer in explainers.items():
        if REGISTRY[method].probe:
            try:
                explainer.attribute(blank)
            except VideoXAIError as error:
                raise ConfigurationError(
                    f"method {method!r} cannot explain {spec.name!r}: {error}", "explain.methods"
                ) from error
    if logits.ndim != 2 or logits.shape[1] != spec.num_classes:
        raise ConfigurationError(
            f"{spec.name} returned logits of shape {tuple(logits.shape)}, but its spec "
            f"names {spec.num_classes} classes",
            "model.spec",
        )
    return {
        "model": spec.name,
        "weights_sha256": spec.weights_sha256 or "",
        "classes": spec.num_classes,
        "methods": methods,
        "input": [1, 3, frames, spec.size, spec.size],
        "device": str(device),
    }


def log_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
