"""Ground-truth benchmark: models whose answer is known, explained and scored against the evidence.

Two small 3D CNNs are trained on synthetic videos (:mod:`videoxai.ground_truth.generator`) on a CPU in
seconds (:mod:`videoxai.ground_truth.model`): one where only the object's direction of motion
predicts the label (*motion-trained*), one where only the static patch's pattern does
(*context-trained*; the object still moves, at random). Their test videos go through the study's
chain (decode from the video file, Farnebäck flow, every explanation method,
:func:`videoxai.motion.selective.selective_from_settings`) and each map is scored against the
evidence volume stored beside the video:

* ``precision``: ``#(R > 0 & E) / #(R > 0)``; ``recall``: ``#(R > 0 & E) / #E``;
* ``weighted_precision``: ``sum(R+ * E) / sum(R+)``;
* ``empty``: 1 when the map has no positive voxel (precision is then undefined, NaN);
* ``motion_share`` (selective maps only): ``sum(S+) / sum(R+)``, the share of the positive
  relevance that selective relevance keeps; the paper proposes it as a measure of how much a model
  relies on motion, so it should be high for the motion-trained model and low for the other;
* ``on_object``: ``sum(R+ * O) / sum(R+)``, the relevance on the moving object (the evidence of
  the motion model, a distractor for the context model);
* ``chance``: ``#E / #voxels``, the precision of a map that picks voxels at random.

A user's architecture ``package.module:factory`` (``factory(num_classes) -> nn.Module``, taking
clips ``(N, 3, 16, 32, 32)`` by default) is trained and tested the same way.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import atomic_write_bytes
from videoxai.core.methods import method_info
from videoxai.data.shards import shard_key
from videoxai.evaluation.behaviour import BEHAVIOUR_METRICS, behaviour_bounds, behaviour_rows
from videoxai.evaluation.correlation import binomial_interval
from videoxai.evaluation.metrics import metric_bounds, ordered_methods, size_matched_masks
from videoxai.evaluation.stats import LEVEL, METHOD, RESAMPLES, Interval, bootstrap_mean
from videoxai.explain.batched import StillCopies, VideoClips, explain_videos
from videoxai.ground_truth import generator as synthetic
from videoxai.ground_truth.model import read_clips, trained_model
from videoxai.ground_truth.settings import DEFAULT_OPTIONS, MODELS, BenchmarkSettings
from videoxai.models.spec import ModelSpec
from videoxai.motion.calibrated import CalibrationSettings, build_null, calibrated_test, null_maps, residual_maps
from videoxai.motion.flow import farneback_clips, split_flow_settings
from videoxai.motion.selective import selective_from_settings

METRICS: tuple[str, ...] = ("precision", "recall", "weighted_precision", "empty", "motion_share", "on_object")
# Every metric of the tidy rows, in the summary's order (unknown ones last).
METRIC_ORDER: tuple[str, ...] = (
    *METRICS,
    "matched_top_precision",
    "matched_random_precision",
    "matched_delta",
    "calibrated_flagged",
    "calibrated_p",
    "calibrated_statistic",
    "calibrated_share",
    "calibrated_null_maps",
    "seconds",
    "chance",
    "correct",
    *BEHAVIOUR_METRICS,
)


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


def matched_metrics(baseline: np.ndarray, selected: np.ndarray, evidence: np.ndarray, seed: int) -> dict:
    """Size-matched controls of maps ``selected`` ``(N, T, H, W)`` against the evidence: the
    precision of the baseline's k most relevant voxels and of k random voxels of its positive set,
    k the selected map's positive voxels per clip (NaN where the selected map is empty)."""
    flat = np.asarray(baseline, np.float64).reshape(len(baseline), -1)
    counts = (np.asarray(selected) > 0).reshape(len(selected), -1).sum(axis=1)
    truth = np.asarray(evidence, bool).reshape(len(evidence), -1)
    top, random = size_matched_masks(flat, counts, seed)
    sizes = top.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "matched_top_precision": np.where(sizes > 0, (top & truth).sum(axis=1) / np.maximum(sizes, 1), np.nan),
            "matched_random_precision": np.where(
                sizes > 0, (random & truth).sum(axis=1) / np.maximum(sizes, 1), np.nan
            ),
        }


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
    shuffles: int = 4,
    seed: int = 0,
) -> pd.DataFrame:
    """Explain the listed synthetic videos with ``model`` and score every map against their evidence.

    Each video is decoded from its file, its Farnebäck flow computed (flow methods use it),
    explained by every method (top-1 class, as in the study) with its still copies, its selective
    maps computed with :func:`videoxai.motion.selective.selective_from_settings` and, with
    ``selective_settings["calibration"]["enabled"]``, its calibrated test against the null pooled
    over this model's videos (:mod:`videoxai.motion.calibrated`). Every map is scored with
    :func:`map_metrics`; selective and calibrated maps also with :func:`motion_share` and the
    size-matched controls (:func:`matched_metrics`). Returns tidy rows
    ``model, video, method, variant, n, metric, value``, plus per-video ``chance``, ``correct`` and
    behaviour rows (``p_clip``, ``p_still``, ``freeze_drop``, ...; method ``""``).
    """
    clips, labels = read_clips(rows, spec)
    names = [row["video_id"] for row in rows]
    stored = [np.load(Path(row["path"]).with_suffix(".npz")) for row in rows]
    evidence = np.stack([item["evidence"] for item in stored]).astype(bool)
    moving_object = np.stack([item["object"] for item in stored]).astype(bool)
    needs_flow = any(synthetic_method_needs_flow(method) for method in methods)
    flow = farneback_clips(clips, **split_flow_settings(flow_settings)[0]) if needs_flow else None
    calibration_section = dict(selective_settings.get("calibration") or {})
    calibrating = bool(calibration_section.get("enabled"))
    calibration = CalibrationSettings.from_config(calibration_section)
    stills = StillCopies(shifts=calibration.shifts if calibrating else 0, shuffles=shuffles, seed=seed)
    videos = [
        VideoClips(name, clips[index : index + 1], None if flow is None else flow[index : index + 1])
        for index, name in enumerate(names)
    ]
    results = {}
    for name, arrays in explain_videos(model, spec, videos, methods, options, batch_size=8, stills=stills):
        if isinstance(arrays, VideoXAIError):
            raise VideoXAIError(f"explaining {name} failed: {arrays}")
        results[name] = arrays

    def stacked(key: str) -> np.ndarray:
        return np.concatenate([results[name][key] for name in names])

    if progress:
        progress(f"{dataset}: explained {len(names)} videos and their still copies with {len(methods)} methods")
    out = _rows(dataset, names, "", "", math.nan, {"chance": evidence.reshape(len(names), -1).mean(1)})
    first = methods[0]
    predicted = stacked(shard_key("explain", "predicted", method=first))
    out += _rows(dataset, names, "", "", math.nan, {"correct": (predicted == labels).astype(np.float64)})
    behaviour = behaviour_rows(
        dataset,
        target=stacked(shard_key("explain", "target", method=first)),
        logits=stacked(shard_key("explain", "logits", method=first)),
        still_logits=stacked(shard_key("explain", "logits", method=first, group="static_control")),
        shuffled_logits=stacked(shard_key("explain", "logits", group="shuffled")) if shuffles else None,
        labels=labels,
    )
    for metric, part in behaviour.groupby("metric", sort=False):
        out += _rows(dataset, names, "", "", math.nan, {metric: part["value"].to_numpy()})
    for method in methods:
        relevance = stacked(shard_key("explain", "relevance", method=method))
        baseline = map_metrics(relevance, evidence, moving_object)
        baseline["seconds"] = stacked(shard_key("explain", "seconds_per_clip", method=method))
        out += _rows(dataset, names, method, "baseline", math.nan, baseline)
        selective = selective_from_settings(torch.from_numpy(relevance), selective_settings)
        for index, n in enumerate(selective.n):
            maps = selective.maps[index].numpy()
            values = map_metrics(maps, evidence, moving_object)
            values["motion_share"] = motion_share(relevance, maps)
            values.update(matched_metrics(relevance, maps, evidence, seed))
            values["matched_delta"] = values["precision"] - values["matched_top_precision"]
            out += _rows(dataset, names, method, "selective", float(n), values)
        if calibrating:
            out += _rows(
                dataset,
                names,
                method,
                "calibrated",
                math.nan,
                calibrated_values(results, names, method, relevance, evidence, moving_object, calibration, seed),
            )
    return pd.DataFrame(out)


def calibrated_values(
    results: Mapping[str, dict],
    names: Sequence[str],
    method: str,
    relevance: np.ndarray,
    evidence: np.ndarray,
    moving_object: np.ndarray,
    calibration: CalibrationSettings,
    seed: int,
) -> dict[str, np.ndarray]:
    """The calibrated test of one method on one model's benchmark videos, the null pooled over
    those videos: per video the flag, p-value, statistic and kept share, and the calibrated map
    scored against the evidence (with its size-matched controls)."""
    frame = int(results[names[0]][shard_key("explain", "frame", group="stills")][0])
    still = np.concatenate(
        [
            results[name][shard_key("explain", "relevance", method=method, group="static_control")][:, frame]
            for name in names
        ]
    )
    shifted_maps = np.concatenate(
        [results[name][shard_key("explain", "shifted", method=method, group="stills")] for name in names]
    )
    sigma = calibration.sigma_pixels(relevance.shape[2])
    null = build_null([null_maps(relevance, still, shifted_maps, sigma)])
    residuals = residual_maps(relevance, still, frame, sigma)
    result = calibrated_test(residuals, relevance[:, frame], null, calibration)
    mask = np.zeros(relevance.shape, bool)
    mask[:, frame] = result.mask
    maps = relevance * mask
    # scored at the reference frame, the only frame the calibrated map can cover
    at_frame = (slice(None), slice(frame, frame + 1))
    values = map_metrics(maps[at_frame], evidence[at_frame], moving_object[at_frame])
    values.update(matched_metrics(relevance[at_frame], maps[at_frame], evidence[at_frame], seed))
    values["matched_delta"] = values["precision"] - values["matched_top_precision"]
    values.update(
        {
            "calibrated_flagged": result.flagged.astype(np.float64),
            "calibrated_p": result.p_value,
            "calibrated_statistic": result.statistic,
            "calibrated_share": result.share,
            "motion_share": result.share,
            "calibrated_null_maps": np.full(len(names), null.size, np.float64),
        }
    )
    return values


def synthetic_method_needs_flow(method: str) -> bool:
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


# The benchmark's own metrics that are shares (its precision, recall and calibrated ones are the
# study's), and the paired difference to the size-matched top-k control.
SHARES = ("motion_share", "on_object", "empty", "correct")


def _bounds(metric: str) -> tuple[float, float] | None:
    """What a benchmark metric's mean can take (the interval is cut there)."""
    if metric in BEHAVIOUR_METRICS:
        return behaviour_bounds(metric)
    if metric in SHARES:
        return (0.0, 1.0)
    if metric == "matched_delta":
        return (-1.0, 1.0)
    return metric_bounds(metric)


def summary_table(
    metrics: pd.DataFrame, seed: int = 0, *, level: float = LEVEL, resamples: int = RESAMPLES, method: str = METHOD
) -> pd.DataFrame:
    """Means with video-level intervals (``method``, ``level``, ``resamples``, ``seed``, as
    ``metrics.bootstrap`` takes them): one row per (model, method, variant, n, metric).

    Columns: ``model, method, variant, n, metric, mean, low, high, videos``; ``chance`` and
    ``correct`` rows have method ``""``.
    """
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
        interval = bootstrap_mean(
            group["value"].to_numpy(),
            group["video"].to_numpy(),
            seed=seed,
            level=level,
            resamples=resamples,
            method=method,
            bounds=_bounds(key[-1]),
        )
        if key[-1] == "calibrated_flagged":
            # one clip per benchmark video: the flag rate is a proportion of independent trials,
            # and Wilson's interval stays honest at 0 of 32 where a bootstrap collapses to [0, 0]
            values = group["value"].dropna().to_numpy()
            low, high = binomial_interval(int(values.sum()), len(values), level)
            interval = Interval(interval.mean, low, high, interval.clips, interval.videos)
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
        lambda metric: METRIC_ORDER.index(metric) if metric in METRIC_ORDER else len(METRIC_ORDER)
    )
    table = table.sort_values(["_model", "_method", "n", "_metric"], na_position="first")
    return table.drop(columns=["_model", "_method", "_metric"]).reset_index(drop=True)


def run_ground_truth_model(
    settings: Mapping,
    dataset: str,
    selective_settings: Mapping,
    flow_settings: Mapping,
    metrics_csv: str | os.PathLike,
    meta_json: str | os.PathLike,
    cache_dir: str | os.PathLike,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The workflow's ground_truth job for one model: :func:`benchmark_one` with the study's
    ``ground_truth`` section, its videos generated beside ``metrics_csv``; writes the tidy metrics
    and the model's metadata. Returns the metadata."""
    metrics, meta = benchmark_one(
        BenchmarkSettings.from_config(settings),
        dataset,
        selective_settings,
        Path(metrics_csv).parent,
        cache_dir,
        flow_settings=flow_settings,
        progress=progress,
    )
    atomic_write_bytes(metrics_csv, metrics.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(meta_json, json.dumps(meta, indent=2, default=str).encode())
    if progress:
        source = "from the cache" if meta["cached"] else "trained"
        progress(f"{dataset}-trained model: accuracy {meta['accuracy']:.3f}, {source}, {meta['seconds_total']:.1f} s")
    return meta
