"""The explain step (:func:`explain_bucket`): every method's relevance for every video of one bucket,
the model loaded once, one explain shard per video; and the preflight check of a study's model
settings (:func:`preflight`). The batching itself is :mod:`videoxai.explain.batched`."""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.core.files import atomic_write
from videoxai.core.label_map import class_index, read_label_map
from videoxai.core.methods import REGISTRY
from videoxai.core.study_config import check_study_config
from videoxai.data.shards import read_shard
from videoxai.explain.batched import StillCopies, VideoClips, build_explainers, explain_videos
from videoxai.models import load_configured
from videoxai.study.pipeline import LOG, BucketVideo, run_bucket

Progress = Callable[[str], None]


def prefetched(items: Iterable, depth: int = 2) -> Iterator:
    """Iterate ``items`` with up to ``depth`` of them produced ahead in a background thread, so
    reading the next videos' shards overlaps the model's work on the current ones. An exception
    raised while producing an item is raised here, at that item."""
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


def explain_bucket(
    videos: Sequence[str],
    clips_shards: Sequence[str],
    flow_shards: Sequence[str] | None,
    folder: str | Path,
    *,
    model_settings: Mapping,
    methods: Sequence[str],
    method_options: Mapping[str, dict],
    target: str = "top1",
    label_map: str | None = None,
    stills: Mapping | None = None,
    batch_size: int = 4,
    device: str = "cpu",
    progress: Progress | None = None,
) -> list[Path]:
    """The workflow's explain job: every video of one bucket, the model loaded once, one explain
    shard per video in ``folder`` (see :func:`explain_videos` and :func:`run_bucket`).

    With ``target == "label"`` each video's clips explain its true class; a video whose label the
    model does not have (unlabelled, or unmapped by ``label_map``) explains its top-1 predictions.
    ``stills`` (``{shifts, shuffles, seed}``, see :class:`videoxai.explain.batched.StillCopies`)
    adds every clip's still copies; None adds none.
    """
    config = {
        "model": dict(model_settings),
        "methods": list(methods),
        "method_options": dict(method_options),
        "target": target,
        "label_map": label_map,
    }
    flow_shards = list(flow_shards) if flow_shards else [None] * len(videos)
    members = [
        BucketVideo(video, {"clips": clips, **({"flow": flow} if flow else {})})
        for video, clips, flow in zip(videos, clips_shards, flow_shards)
    ]
    model, spec = load_configured(model_settings, device=device)
    labels = read_label_map(label_map) if target == "label" else {}

    def read(video: BucketVideo) -> VideoClips:
        clips = read_shard(video.upstream["clips"], names=["clips"]).arrays["clips"]
        flow = read_shard(video.upstream["flow"], names=["flow"]).arrays["flow"] if "flow" in video.upstream else None
        chosen = None
        if target == "label":
            chosen = class_index(video.inherited.get("label"), spec.class_names, labels)
            if chosen < 0:
                LOG.info(
                    "%s: label %r is not one of the model's classes: explaining top-1",
                    video.video_id,
                    video.inherited.get("label"),
                )
        return VideoClips(video.video_id, clips, flow, chosen)

    def process(good: list[BucketVideo]):
        return explain_videos(
            model,
            spec,
            prefetched(read(video) for video in good),
            methods,
            method_options,
            batch_size=batch_size,
            device=device,
            progress=progress,
            stills=None if stills is None else StillCopies(**dict(stills)),
        )

    attributes = {
        "model_name": spec.name,
        "model_weights_sha256": spec.weights_sha256 or "",
        "class_names": list(spec.class_names),
        "device": device,
    }
    return run_bucket("explain", members, folder, config, process, attributes=attributes)


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
    check_study_config(config)  # names, options and known refusals of the methods among the rest
    methods = list(config["explain"]["methods"])
    model, spec = load_configured(config["model"], device=device)
    explainers = build_explainers(model, spec, methods, config["explain"]["options"])
    frames = int(config["clips"]["length"])
    blank = spec.preprocess(np.full((1, frames, spec.size, spec.size, 3), 128, dtype=np.uint8), device=device)
    try:
        with torch.inference_mode():
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


def run_preflight(config: Mapping, output: str | Path, device: str = "cpu") -> dict:
    """The workflow's preflight job: :func:`preflight`, its summary written to ``output`` (JSON).

    A configuration error is printed on the terminal with the key it names and ends the job
    with exit status 1 (no traceback), so the run stops before any video is processed.
    """
    try:
        summary = preflight(config, device=device)
    except ConfigurationError as error:
        LOG.error("%s", error)
        print(f"videoxai: {error}", file=sys.__stderr__, flush=True)
        raise SystemExit(1) from None
    atomic_write(output, lambda path: path.write_text(json.dumps(summary, indent=2) + "\n"))
    LOG.info("preflight passed: %s", summary)
    return summary
