"""The faithfulness step: deletion/insertion, pointing game and smoothness of every map of a bucket
of videos, with the model loaded once (:func:`faithfulness_bucket`).

Every configured method's map is scored as a baseline and, per n, as a selective map, plus the
reference maps of ``faithfulness.references`` (method ``random``, ``centre``). Rows use the tidy
metrics columns; the deletion/insertion curves are rows too (metric ``deletion_curve`` /
``insertion_curve``), so the curves figure reads them from ``metrics.csv``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from videoxai.core.annotations import read_annotations
from videoxai.core.errors import ConfigurationError
from videoxai.data.shards import method_keys, read_shard, shard_key
from videoxai.evaluation.faithfulness import (
    REFERENCES,
    clip_boxes,
    clip_masks,
    deletion_insertion,
    faithfulness_rows,
    pointing_game,
    reference_relevance,
    spatiotemporal_smoothness,
)
from videoxai.evaluation.metrics import TIDY_COLUMNS, top_k_map
from videoxai.explain.batched import Progress, check_clip_geometry
from videoxai.models import load_configured
from videoxai.models.spec import ModelSpec
from videoxai.study.pipeline import BucketVideo, each_video, run_bucket


def annotation_for(annotations: Mapping[str, dict] | None, video_id: str, video_path: str) -> dict | None:
    """A video's entry of :func:`videoxai.evaluation.faithfulness.read_annotations`: by video id, else by the
    stem of its file name; None when absent."""
    if annotations is None:
        return None
    return annotations.get(video_id, annotations.get(Path(str(video_path)).stem))


def curve_rows(video_id: str, method: str, variant: str, n: float, curves: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Tidy rows of both deletion/insertion curves: one per clip and step; ``q`` = the fraction of
    the units removed or revealed at that step, ``metric`` = ``deletion_curve``/``insertion_curve``."""
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


def pointing_targets_of(annotation: dict | None, clips_shard, spec: ModelSpec) -> dict | None:
    """The pointing game's targets of one video's clips: its boxes (mapped into clip pixels with
    the decode's resize and crop) or masks; None without an annotation."""
    if annotation is None:
        return None
    if "boxes" in annotation:
        source_hw = (clips_shard.attributes["source_height"], clips_shard.attributes["source_width"])
        return {"boxes": clip_boxes(annotation, clips_shard.arrays["frame_indices"], source_hw, spec)}
    return {"masks": clip_masks(annotation, clips_shard.arrays["frame_indices"], spec)}


def faithfulness_bucket(
    videos: Sequence[str],
    clips_shards: Sequence[str],
    explain_shards: Sequence[str],
    selective_shards: Sequence[str],
    folder: str | Path,
    *,
    model_settings: Mapping,
    methods: Sequence[str],
    n: Sequence[float],
    settings: Mapping,
    batch_size: int = 16,
    device: str = "cpu",
    progress: Progress | None = None,
) -> list[Path]:
    """The workflow's faithfulness job: one table shard per video of a bucket in ``folder``.

    ``settings`` is the study's ``faithfulness`` section (variants, steps, baseline, grid,
    random_seed, references, tolerance, annotations); ``batch_size`` perturbed clips go through
    the model at once (memory only).
    """
    n_values = [float(value) for value in n]
    keys = ("variants", "steps", "baseline", "grid", "random_seed", "references", "tolerance", "annotations")
    config = {
        "model": dict(model_settings),
        "methods": list(methods),
        "n": n_values,
        **{key: settings.get(key) for key in keys},
    }
    model, spec = load_configured(model_settings, device=device)
    annotations = read_annotations(settings["annotations"]) if settings.get("annotations") else None
    variants = list(settings["variants"])

    def score(video: BucketVideo) -> pd.DataFrame:
        clips_shard = read_shard(video.upstream["clips"], names=["clips", "frame_indices"])
        explained = read_shard(
            video.upstream["explain"],
            names=method_keys("explain", methods, "relevance") + method_keys("explain", methods, "target"),
        )
        selected = read_shard(video.upstream["selective"], names=method_keys("selective", methods, "map", n_values))
        maps = []  # (method, variant, n, relevance (N, T, H, W), target (N,))
        for method in methods:
            relevance = explained.arrays[shard_key("explain", "relevance", method=method)]
            target = explained.arrays[shard_key("explain", "target", method=method)]
            if "baseline" in variants:
                maps.append((method, "baseline", np.nan, relevance, target))
            if "selective" in variants:
                for value in n_values:
                    chosen = selected.arrays[shard_key("selective", "map", method=method, n=value)]
                    maps.append((method, "selective", value, chosen, target))
                    # the size-matched control: the baseline's k most relevant voxels, k the map's size
                    maps.append((method, "matched", value, top_k_map(relevance, chosen), target))
        annotation = annotation_for(annotations, video.video_id, clips_shard.attributes.get("video_path", ""))
        return faithfulness_table(
            model,
            spec,
            video.video_id,
            clips_shard.arrays["clips"],
            maps,
            steps=int(settings["steps"]),
            baseline=settings["baseline"],
            grid=tuple(settings["grid"]) if settings.get("grid") else None,
            batch_size=int(batch_size),
            random_seed=settings["random_seed"],
            references=list(settings["references"]),
            pointing_targets=pointing_targets_of(annotation, clips_shard, spec),
            tolerance=float(settings["tolerance"]),
            device=device,
            progress=progress,
        )

    members = [
        BucketVideo(video, {"clips": clips, "explain": explain, "selective": selective})
        for video, clips, explain, selective in zip(videos, clips_shards, explain_shards, selective_shards)
    ]
    return run_bucket("faithfulness", members, folder, config, each_video(score))
