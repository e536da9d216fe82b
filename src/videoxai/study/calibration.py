"""The calibrated test in the workflow: the study's pooled null (:func:`calibration_null`), and each
video's calibrated maps and p-values for its selective shard (:func:`calibrated_arrays`).

The null pools every clip's null maps (:func:`videoxai.motion.calibrated.null_maps`, from the still
copies the explain step adds) per method; a video's calibrated result needs the whole study's
null, so adding a video reruns the null and every video's calibrated maps.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import atomic_write_bytes
from videoxai.data.shards import method_keys, read_shard, shard_key
from videoxai.motion.calibrated import (
    CalibrationSettings,
    Null,
    build_null,
    calibrated_test,
    null_maps,
    residual_maps,
)
from videoxai.study.pipeline import LOG


def still_maps(explained, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """From an explain shard: the clips' relevance ``(N, T, H, W)``, the still copy's map at the
    reference frame ``(N, H, W)``, the shifted stills' maps ``(N, S, H, W)`` and the frame."""
    frame = int(explained.arrays[shard_key("explain", "frame", group="stills")][0])
    relevance = explained.arrays[shard_key("explain", "relevance", method=method)]
    still = explained.arrays[shard_key("explain", "relevance", method=method, group="static_control")][:, frame]
    shifted = explained.arrays[shard_key("explain", "shifted", method=method, group="stills")]
    return relevance, still, shifted, frame


def explain_names(methods: Sequence[str]) -> list[str]:
    """The explain shard's datasets the calibrated test reads."""
    return [
        shard_key("explain", "frame", group="stills"),
        *method_keys("explain", methods, "relevance"),
        *method_keys("explain", methods, "relevance", group="static_control"),
        *method_keys("explain", methods, "shifted", group="stills"),
        *method_keys("explain", methods, "seconds_per_clip", group="stills"),
    ]


def calibration_null(
    explain_shards: Sequence[str], output: str | Path, *, methods: Sequence[str], settings: Mapping
) -> dict[str, Null]:
    """The study's null per method, pooled over every good video's clips, written to ``output``
    (``.npz``: ``<method>/maxima``, ``<method>/voxels``, ``<method>/voxel_count``)."""
    calibration = CalibrationSettings.from_config(settings)
    blocks: dict[str, list[np.ndarray]] = {method: [] for method in methods}
    videos = 0
    for path in explain_shards:
        explained = read_shard(path, names=explain_names(methods))
        if explained.failed:
            continue
        videos += 1
        for method in methods:
            relevance, still, shifted, _ = still_maps(explained, method)
            sigma = calibration.sigma_pixels(relevance.shape[2])
            blocks[method].append(null_maps(relevance, still, shifted, sigma))
    nulls = {method: build_null(blocks[method]) for method in methods}
    write_null(output, nulls)
    for method, null in nulls.items():
        LOG.info(
            "%s: null of %d maps from %d videos (smallest p %.3f%s)",
            method,
            null.size,
            videos,
            null.smallest_p,
            "" if null.testable(calibration.alpha) else f", above alpha = {calibration.alpha}: no clip can be flagged",
        )
    return nulls


def write_null(path: str | Path, nulls: Mapping[str, Null]) -> None:
    arrays = {}
    for method, null in nulls.items():
        arrays[f"{method}/maxima"] = null.maxima
        arrays[f"{method}/voxels"] = null.voxels
        arrays[f"{method}/voxel_count"] = np.array([null.voxel_count], np.int64)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def read_null(path: str | Path, methods: Sequence[str]) -> dict[str, Null]:
    """The nulls :func:`calibration_null` wrote, for ``methods``."""
    with np.load(path) as stored:
        missing = [method for method in methods if f"{method}/maxima" not in stored.files]
        if missing:
            raise VideoXAIError(f"the calibration null has no method {missing}", path)
        return {
            method: Null(
                maxima=stored[f"{method}/maxima"],
                voxels=stored[f"{method}/voxels"],
                voxel_count=int(stored[f"{method}/voxel_count"][0]),
            )
            for method in methods
        }


def calibrated_arrays(explained, methods: Sequence[str], nulls: Mapping[str, Null], settings: Mapping) -> dict:
    """The selective shard's ``calibrated/{method}/...`` arrays of one video: the mask and map
    ``(N, T, H, W)`` (voxels of the reference frame only), and per clip the statistic, p-value,
    flag, kept share and seconds (the still copies' explanations plus this test)."""
    calibration = CalibrationSettings.from_config(settings)
    arrays = {}
    for method in methods:
        began = time.perf_counter()
        relevance, still, _, frame = still_maps(explained, method)
        residuals = residual_maps(relevance, still, frame, calibration.sigma_pixels(relevance.shape[2]))
        result = calibrated_test(residuals, relevance[:, frame], nulls[method], calibration)
        mask = np.zeros(relevance.shape, bool)
        mask[:, frame] = result.mask
        elapsed = (time.perf_counter() - began) / max(1, len(relevance))
        stills_seconds = explained.arrays[shard_key("explain", "seconds_per_clip", method=method, group="stills")]
        values = {
            "mask": mask,
            "map": (relevance * mask).astype(np.float32),
            "statistic": result.statistic.astype(np.float64),
            "p_value": result.p_value.astype(np.float64),
            "flagged": result.flagged.astype(bool),
            "share": result.share.astype(np.float64),
            "seconds_per_clip": (stills_seconds + elapsed).astype(np.float64),
            "null_maps": np.full(len(relevance), nulls[method].size, np.int64),
            "alpha": np.full(len(relevance), calibration.alpha, np.float64),
        }
        for name, value in values.items():
            arrays[shard_key("selective", name, method=method, group="calibrated")] = value
    return arrays


__all__ = ["calibrated_arrays", "calibration_null", "explain_names", "read_null", "still_maps", "write_null"]
