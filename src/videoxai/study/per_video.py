"""The per-video CPU steps of the workflow: decode, flow, selective and metrics, one shard each.

Each function reads its upstream shards, computes and writes its own shard through
:func:`videoxai.study.pipeline.run_video_step`, so a video that failed upstream passes its
failure on and a video that fails here fails alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.core.label_map import class_index, read_label_map
from videoxai.data.shards import method_keys, read_shard, shard_key
from videoxai.data.video import decode_clips
from videoxai.evaluation.behaviour import CLASS_COLUMN, behaviour_rows
from videoxai.evaluation.correctness import mark_correct
from videoxai.evaluation.metrics import TIDY_COLUMNS, compute_clip_metrics, empty_metrics
from videoxai.motion.flow import compensate_camera, farneback_clips, split_flow_settings
from videoxai.motion.selective import selective_from_settings
from videoxai.study.calibration import calibrated_arrays, explain_names, read_null
from videoxai.study.pipeline import run_video_step

# The raw Farnebäck flow, or the object motion the flow step left after removing the camera's.
FLOW_ARRAYS = {"raw": "flow", "compensated": "object_flow"}


def decode_video(output: str, video: Mapping, geometry: Mapping, clips: Mapping) -> None:
    """One video -> uint8 clips ``(N, T, H, W, 3)`` and their frame indices in a ``clips`` shard.

    ``video`` is ``{video_id, path, label}``; ``geometry`` the model's input geometry (size,
    resize_short_side, resize_hw); ``clips`` the study's ``clips`` section. Whatever breaks while
    reading the file is that video's failure.
    """
    # Only the input geometry of the model is needed here, never the network.
    spec = SimpleNamespace(
        num_frames=clips["length"],
        size=geometry["size"],
        resize_short_side=geometry["resize_short_side"],
        resize_hw=tuple(geometry["resize_hw"]) if geometry["resize_hw"] else None,
    )

    def compute():
        try:
            decoded = decode_clips(
                video["path"],
                spec,
                clip_length=clips["length"],
                stride=clips["stride"],
                max_clips=clips["max_per_video"],
            )
        except VideoXAIError:
            raise
        except Exception as error:  # noqa: BLE001 - whatever breaks while reading one file is that file's problem
            raise VideoXAIError(f"cannot decode ({type(error).__name__}: {error})", video["path"]) from error
        arrays = {"clips": decoded.clips, "frame_indices": decoded.frame_indices}
        attributes = {
            "fps": decoded.fps,
            "source_height": decoded.source_size[0],
            "source_width": decoded.source_size[1],
            "source_num_frames": decoded.num_frames,
        }
        return arrays, attributes

    run_video_step(
        output,
        "clips",
        video["video_id"],
        compute,
        upstream=[],
        config={"geometry": dict(geometry), "clips": dict(clips)},
        attributes={"video_path": video["path"], "label": video["label"] or ""},
    )


def flow_video(output: str, video_id: str, clips_shard: str, flow_settings: Mapping) -> None:
    """Farnebäck flow between consecutive frames of each clip -> float16 ``(N, T, H, W, 2)``.

    With ``flow.camera.compensate``, the camera's (global) motion of every frame pair is fitted
    robustly (:func:`videoxai.motion.flow.compensate_camera`) and the shard also holds the residual,
    object motion (``object_flow``), the fitted maps (``camera_transform``) and their RANSAC
    inlier shares.
    """
    settings, camera = split_flow_settings(flow_settings)
    compensate = bool(camera.pop("compensate"))

    def compute():
        clips = read_shard(clips_shard, names=["clips"]).arrays["clips"]
        flow = farneback_clips(clips, **settings)
        arrays = {"flow": flow.astype("float16")}
        attributes = {"pairing": "frame t: flow t->t+1; last frame: flow t-1->t", "camera_compensated": compensate}
        if compensate:
            fitted = compensate_camera(flow, **camera)
            arrays["object_flow"] = fitted["object_flow"].astype("float16")
            arrays["camera_transform"] = fitted["camera_transform"]
            arrays["camera_inliers"] = fitted["camera_inliers"]
        return arrays, attributes

    config = {"farneback": settings, "camera": {"compensate": compensate, **camera}}
    run_video_step(output, "flow", video_id, compute, upstream=[clips_shard], config=config)


def selective_arrays(relevance: np.ndarray, method: str, settings: Mapping, *, still: bool = False) -> dict:
    """The selective shard's arrays of one method: per n its mask and map (for the clips' still
    copies, ``still``: the masks only, under ``static_control/``), and σ and the step's seconds per clip."""
    began = time.perf_counter()
    result = selective_from_settings(torch.from_numpy(relevance), dict(settings))
    elapsed = time.perf_counter() - began
    masks = result.masks.cpu().numpy()
    arrays = {}
    if not still:
        arrays[shard_key("selective", "seconds_per_clip", method=method)] = np.full(
            len(relevance), elapsed / max(1, len(relevance))
        )
        arrays[shard_key("selective", "sigma", method=method)] = result.sigma.cpu().numpy().astype(np.float32)
    maps = None if still else result.maps.cpu().numpy()
    for index, n in enumerate(result.n):
        group = "static_control" if still else None
        arrays[shard_key("selective", "mask", method=method, n=n, group=group)] = masks[index].astype(bool)
        if not still:
            arrays[shard_key("selective", "map", method=method, n=n)] = maps[index].astype(np.float32)
    return arrays


def selective_video(
    output: str,
    video_id: str,
    explain_shard: str,
    methods: Sequence[str],
    settings: Mapping,
    static_control: bool,
    null: str | None = None,
) -> None:
    """Mask and selective map per method and n from the explain shard; with the static control on,
    also the masks of the clips' still copies; with ``null`` (the study's calibration null, and
    ``settings["calibration"]``), the calibrated test's maps and p-values."""
    methods = list(methods)

    def compute():
        names = method_keys("explain", methods, "relevance")
        if static_control:
            names += method_keys("explain", methods, "relevance", group="static_control")
        if null:
            names = list(dict.fromkeys(names + explain_names(methods)))
        explained = read_shard(explain_shard, names=names)
        arrays = {}
        for method in methods:
            relevance = explained.arrays[shard_key("explain", "relevance", method=method)]
            arrays.update(selective_arrays(relevance, method, settings))
            if static_control:
                still = explained.arrays[shard_key("explain", "relevance", method=method, group="static_control")]
                arrays.update(selective_arrays(still, method, settings, still=True))
        if null:
            arrays.update(calibrated_arrays(explained, methods, read_null(null, methods), settings["calibration"]))
        return arrays, {}

    config = {"methods": methods, **settings}
    run_video_step(output, "selective", video_id, compute, upstream=[explain_shard], config=config)


def metrics_video(
    output: str,
    video_id: str,
    flow_shard: str,
    explain_shard: str,
    selective_shard: str,
    *,
    methods: Sequence[str],
    n: Sequence[float],
    tau: Sequence[float],
    top_q: Sequence[float],
    motion: str,
    border_margin: int,
    label_map: str | None,
) -> None:
    """Tidy metric rows of one video (:func:`videoxai.evaluation.metrics.compute_clip_metrics`), each
    marked with whether the explained class was the right one, in a ``metrics`` shard."""
    methods = list(methods)
    n_values, taus, top_q = [float(v) for v in n], [float(v) for v in tau], [float(v) for v in top_q]
    config = {
        "methods": methods,
        "n": n_values,
        "tau": taus,
        "top_q": top_q,
        "motion": motion,
        "border_margin": int(border_margin),
        "label_map": label_map,
    }

    def compute():
        flow_name = FLOW_ARRAYS[motion]
        flow_read = read_shard(flow_shard, names=[flow_name])
        if flow_name not in flow_read.arrays:
            raise ConfigurationError(
                f"the flow shard {flow_shard} has no {flow_name!r}: set flow.camera.compensate: true", "metrics.motion"
            )
        explained = read_shard(explain_shard)
        selected = read_shard(selective_shard)
        predicted = explained.arrays[shard_key("explain", "predicted", method=methods[0])]
        # The true class is known when the video's label is one of the model's classes (e.g. C3D
        # on UCF-101) or videos.label_map maps it to one (UCF-101 -> Kinetics-400 for I3D).
        class_names = json.loads(explained.attributes.get("class_names") or "[]")
        truth = class_index(explained.attributes.get("label"), class_names, read_label_map(label_map))
        labels = np.full(len(predicted), truth, dtype=np.int64)

        def explain_array(name: str) -> dict:
            return {method: explained.arrays[shard_key("explain", name, method=method)] for method in methods}

        calibrated = {
            method: selected.arrays[shard_key("selective", "map", method=method, group="calibrated")]
            for method in methods
            if shard_key("selective", "map", method=method, group="calibrated") in selected.arrays
        }
        calibrated_seconds = {
            method: selected.arrays[shard_key("selective", "seconds_per_clip", method=method, group="calibrated")]
            for method in calibrated
        }
        table = compute_clip_metrics(
            video=video_id,
            relevance=explain_array("relevance"),
            selective={
                (method, value): selected.arrays[shard_key("selective", "map", method=method, n=value)]
                for method in methods
                for value in n_values
            },
            flow=flow_read.arrays[flow_name].astype(np.float32),
            taus=taus,
            top_q=top_q,
            seconds=explain_array("seconds_per_clip"),
            selective_seconds={
                method: selected.arrays[shard_key("selective", "seconds_per_clip", method=method)] for method in methods
            },
            labels=labels,
            predicted=predicted,
            border_margin=int(border_margin),
            motion=motion,
            calibrated=calibrated,
            calibrated_seconds=calibrated_seconds,
        )
        table = mark_correct(table, labels, predicted, explain_array("target"))
        table = pd.concat([table, calibrated_rows(video_id, selected, methods)], ignore_index=True)
        behaviour = behaviour_of(video_id, explained, methods[0], labels, class_names)
        if len(behaviour):
            table = pd.concat([table, behaviour], ignore_index=True)
            # only behaviour rows have a class; the shard stores the column as text
            table[CLASS_COLUMN] = table[CLASS_COLUMN].fillna("").astype(str)
        # keep the numbers numbers whatever the parts were (pandas 3 lets an untyped empty part make a column object)
        numbers = {"clip": np.int64, "n": np.float64, "tau": np.float64, "q": np.float64, "value": np.float64}
        return table.astype(numbers), {}

    run_video_step(
        output, "metrics", video_id, compute, upstream=[flow_shard, explain_shard, selective_shard], config=config
    )


def calibrated_rows(video_id: str, selected, methods: Sequence[str]) -> pd.DataFrame:
    """Per clip and method the calibrated test's p-value, flag, statistic and kept share (variant
    ``calibrated``), when the selective shard holds the test."""
    frames = []
    for method in methods:
        for name, metric in (
            ("p_value", "calibrated_p"),
            ("flagged", "calibrated_flagged"),
            ("statistic", "calibrated_statistic"),
            ("share", "calibrated_share"),
            ("null_maps", "calibrated_null_maps"),
            ("alpha", "calibrated_alpha"),
        ):
            key = shard_key("selective", name, method=method, group="calibrated")
            if key not in selected.arrays:
                continue
            values = np.asarray(selected.arrays[key], np.float64)
            frames.append(
                pd.DataFrame(
                    {
                        "video": video_id,
                        "clip": np.arange(len(values)),
                        "method": method,
                        "variant": "calibrated",
                        "n": np.nan,
                        "tau": np.nan,
                        "q": np.nan,
                        "other_method": "",
                        "metric": metric,
                        "value": values,
                    },
                    columns=list(TIDY_COLUMNS),
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else empty_metrics()


def behaviour_of(video_id: str, explained, method: str, labels: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """The behaviour rows of one video from its explain shard (empty without still copies)."""
    still_key = shard_key("explain", "logits", method=method, group="static_control")
    if still_key not in explained.arrays:
        return pd.DataFrame(columns=list(TIDY_COLUMNS))
    shuffled_key = shard_key("explain", "logits", group="shuffled")
    return behaviour_rows(
        video_id,
        target=explained.arrays[shard_key("explain", "target", method=method)],
        logits=explained.arrays[shard_key("explain", "logits", method=method)],
        still_logits=explained.arrays[still_key],
        shuffled_logits=explained.arrays.get(shuffled_key),
        labels=labels,
        class_names=class_names,
        label_name=str(explained.attributes.get("label") or ""),
    )
