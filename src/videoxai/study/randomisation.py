"""The randomisation steps: the cascading model-parameter randomisation test for a bucket of videos
(:func:`randomisation_bucket`), and its table and curves for the study (:func:`randomisation_report`).

For the first ``clips_per_video`` clips of each video, every configured method's map (baseline,
and selective per n of the study's selective section) is recomputed after re-initialising the
model's top k levels, k = 1 … all, and compared with the trained model's map;
:func:`videoxai.evaluation.randomisation.cascading_randomisation` does it on a deep copy, so the
loaded model never changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from videoxai.data.shards import read_shard, read_table_shard
from videoxai.evaluation.randomisation import COLUMNS, cascading_randomisation
from videoxai.explain.batched import Progress, build_explainers, check_clip_geometry, shared_guided_gradcam
from videoxai.models import load_configured
from videoxai.report.randomisation import summarise, write_figures, write_table
from videoxai.study.pipeline import LOG, BucketVideo, each_video, run_bucket


def first_clips(clips: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` clips of uint8 ``(N, T, H, W, 3)`` (all of them when there are fewer)."""
    return clips[: max(1, int(count))]


def randomisation_bucket(
    videos: Sequence[str],
    clips_shards: Sequence[str],
    folder: str | Path,
    *,
    model_settings: Mapping,
    methods: Sequence[str],
    method_options: Mapping[str, dict],
    selective: Mapping,
    settings: Mapping,
    device: str = "cpu",
    progress: Progress | None = None,
) -> list[Path]:
    """The workflow's randomisation job: one table shard per video of a bucket in ``folder``.

    ``settings`` is the study's ``randomisation`` section without ``enabled``, ``methods`` and
    ``videos`` (grouping, depths, seed, clips_per_video, top_q).
    """
    methods, options = list(methods), dict(method_options)
    config = {
        "model": dict(model_settings),
        "methods": methods,
        "selective": dict(selective),
        "randomisation": dict(settings),
    }
    model, spec = load_configured(model_settings, device=device)

    def randomise(video: BucketVideo) -> pd.DataFrame:
        clips = first_clips(
            read_shard(video.upstream["clips"], names=["clips"]).arrays["clips"], settings["clips_per_video"]
        )
        check_clip_geometry(clips, spec)
        return cascading_randomisation(
            model,
            spec.preprocess(clips, device=device),
            lambda network: build_explainers(network, spec, methods, options),
            selective=selective,
            depths=settings["depths"],
            grouping=settings["grouping"],
            seed=int(settings["seed"]),
            top_q=float(settings["top_q"]),
            share_guided_gradcam=shared_guided_gradcam(methods, options),
            video=video.video_id,
            progress=progress,
        )

    members = [BucketVideo(video, {"clips": clips}) for video, clips in zip(videos, clips_shards)]
    return run_bucket("randomisation", members, folder, config, each_video(randomise))


def randomisation_report(
    shards: Sequence[str],
    tables_dir: str | Path,
    figures_dir: str | Path,
    methods: Sequence[str],
    top_q: float,
    bootstrap: Mapping | None = None,
) -> list[Path]:
    """Every video's randomisation rows -> ``randomisation.{csv,md,tex,html}`` in ``tables_dir`` and
    one curve figure per method (``randomisation_<method>.{png,pdf}``) in ``figures_dir``; intervals
    with the ``metrics.bootstrap`` settings ``bootstrap``."""
    frames = []
    failed = 0
    for path in shards:
        table, shard = read_table_shard(path)
        if shard.failed:
            failed += 1
        elif len(table):
            frames.append(table)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    LOG.info("%d randomisation rows from %d videos (%d failed)", len(rows), len(frames), failed)
    summary = summarise(rows, bootstrap=bootstrap)
    written = write_table(summary, tables_dir, float(top_q), bootstrap)
    written += write_figures(summary, Path(figures_dir), methods, float(top_q))
    return written
