"""How a workflow step turns shards into shards: passing failures on, one video or a bucket of them.

Every per-video step writes exactly one shard per video. If an upstream shard records a failure,
the step writes a failed shard with the same reason instead of computing anything, so a bad video
flows through the static DAG to ``failed_videos.csv`` without stopping the study. A
:class:`~videoxai.core.errors.VideoXAIError` raised while computing one video's result becomes that
video's failed shard; a :class:`~videoxai.core.errors.ConfigurationError` is never one video's
failure and is raised, so the job fails and the run stops.

Two loops, written once:

* :func:`run_video_step`: one video, one output shard (decode, flow, selective, metrics);
* :func:`run_bucket`: the videos of one bucket, one shard each in the bucket's folder, for the steps
  that load a model once per bucket (explain, faithfulness, randomisation).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.data.shards import read_attributes, write_failed_shard, write_shard, write_table_shard

# Attributes a step passes on from its upstream shards to its own.
PASSED_ON = ("video_path", "label", "fps", "model_name", "model_weights_sha256")

LOG = logging.getLogger("videoxai.workflow")


def inherit(upstream: Iterable[str], attributes: Mapping | None = None) -> tuple[dict, dict | None]:
    """The attributes a step passes on from its upstream shards (video path, label, fps, model),
    and the first upstream failure as ``{"reason", "failed_stage"}`` (None when all are good)."""
    inherited = dict(attributes or {})
    failure = None
    for path in upstream:
        upstream_attributes = read_attributes(path)
        for key in PASSED_ON:
            if key in upstream_attributes and key not in inherited:
                inherited[key] = upstream_attributes[key]
        if failure is None and upstream_attributes.get("status") == "failed":
            failure = {
                "reason": upstream_attributes.get("failure_reason", "failed upstream"),
                "failed_stage": upstream_attributes.get("failed_stage", upstream_attributes.get("stage")),
            }
    return inherited, failure


def failure_reason(error: BaseException) -> str:
    """One line that says why: the error's own reason, else its type and message."""
    return getattr(error, "reason", None) or f"{type(error).__name__}: {error}"


def write_failure(
    output: str | Path, stage: str, video_id: str, reason: str, failed_stage: str, config: Mapping, inherited: Mapping
) -> None:
    """A failed shard for ``video_id``: its own failure (``failed_stage == stage``) is also
    printed on the terminal; an upstream one is only logged as passed on."""
    if failed_stage == stage:
        LOG.info("%s: %s failed: %s", video_id, stage, reason)
        print(f"videoxai: {video_id}: {stage} failed: {reason}", file=sys.__stderr__)
    else:
        LOG.info("%s: %s failed at %s (%s); passing the failure on", video_id, stage, failed_stage, reason)
    write_failed_shard(
        output,
        stage,
        reason,
        video_id=video_id,
        config=dict(config),
        attributes={**inherited, "failed_stage": failed_stage},
    )


def write_result(output: str | Path, stage: str, result, *, video_id: str, config: Mapping, attributes: Mapping):
    """One video's result as its shard: a DataFrame as a table shard, else a dict of arrays."""
    if isinstance(result, pd.DataFrame):
        return write_table_shard(
            output, result, stage=stage, video_id=video_id, config=dict(config), attributes=dict(attributes)
        )
    return write_shard(output, stage, result, video_id=video_id, config=dict(config), attributes=dict(attributes))


def run_video_step(
    output: str | Path,
    stage: str,
    video_id: str,
    compute: Callable[[], tuple[dict | pd.DataFrame, dict]],
    upstream: Sequence[str],
    config: Mapping,
    attributes: Mapping | None = None,
    catch: tuple[type[BaseException], ...] = (VideoXAIError,),
) -> None:
    """Write ``output`` as the ``stage`` shard of ``video_id``.

    ``compute()`` returns ``(arrays or table, attributes)``; it is not called when an ``upstream``
    shard failed. Errors of the types in ``catch`` become a failed shard with their one-line
    reason, except a :class:`ConfigurationError`, which is raised.
    """
    inherited, failure = inherit(upstream, attributes)
    if failure:
        write_failure(output, stage, video_id, failure["reason"], failure["failed_stage"], config, inherited)
        return
    try:
        result, produced = compute()
    except ConfigurationError:
        raise  # a settings problem is never one video's failure: the job fails and the run stops
    except catch as error:
        write_failure(output, stage, video_id, failure_reason(error), stage, config, inherited)
        return
    write_result(output, stage, result, video_id=video_id, config=config, attributes={**inherited, **produced})
    LOG.info("%s: wrote %s", video_id, output)


@dataclass
class BucketVideo:
    """One video of a bucket job: its id, its upstream shards and what it inherits from them.

    ``upstream`` maps a name (``clips``, ``explain``, ...) to that shard's path; ``inherited``
    is filled by :func:`run_bucket` before the video reaches the step's ``process``.
    """

    video_id: str
    upstream: dict[str, str]
    inherited: dict = field(default_factory=dict)


# What a bucket step computes: the bucket's good videos in, (video id, result or error) out, in
# any order and lazily, so a step can batch clips across videos.
Process = Callable[[list[BucketVideo]], Iterable[tuple[str, object]]]


def each_video(compute: Callable[[BucketVideo], object]) -> Process:
    """A :data:`Process` that computes one video at a time; a :class:`VideoXAIError` becomes that
    video's failure, a :class:`ConfigurationError` is raised."""

    def process(videos: list[BucketVideo]) -> Iterator[tuple[str, object]]:
        for video in videos:
            try:
                yield video.video_id, compute(video)
            except ConfigurationError:
                raise
            except VideoXAIError as error:
                yield video.video_id, error

    return process


def run_bucket(
    stage: str,
    videos: Sequence[BucketVideo],
    folder: str | Path,
    config: Mapping,
    process: Process,
    attributes: Mapping | None = None,
) -> list[Path]:
    """Write ``folder/<video>.h5``, the ``stage`` shard of every video of one bucket.

    A video with a failed upstream shard gets its failed shard here and never reaches
    ``process``; ``process`` yields each remaining video's result (arrays or a table) or the
    :class:`VideoXAIError` that stopped it. ``attributes`` join every good shard's attributes
    (e.g. the model's name). Returns the shards written.

    Raises:
        RuntimeError: a video of the bucket got no shard (a bug in ``process``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good = []
    for video in videos:
        video.inherited, failure = inherit(video.upstream.values())
        output = folder / f"{video.video_id}.h5"
        if failure:
            write_failure(
                output, stage, video.video_id, failure["reason"], failure["failed_stage"], config, video.inherited
            )
        else:
            good.append(video)
    by_id = {video.video_id: video for video in good}
    for video_id, result in process(good):
        output = folder / f"{video_id}.h5"
        inherited = by_id[video_id].inherited
        if isinstance(result, BaseException):
            write_failure(output, stage, video_id, failure_reason(result), stage, config, inherited)
            continue
        write_result(
            output, stage, result, video_id=video_id, config=config, attributes={**inherited, **(attributes or {})}
        )
        LOG.info("%s: wrote %s", video_id, output)
    written = [folder / f"{video.video_id}.h5" for video in videos]
    missing = [path.stem for path in written if not path.is_file()]
    if missing:
        raise RuntimeError(f"{stage} wrote no shard for {missing}")
    return written


def torch_device(setting: str) -> str:
    """The device a ``device`` setting names: ``auto`` is CUDA when available, else the CPU."""
    import torch  # only the model steps pay for torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def log_to_stderr(line: str) -> None:
    """A progress callback: one line to standard error (the rule's log)."""
    print(line, file=sys.stderr, flush=True)


__all__ = [
    "PASSED_ON",
    "BucketVideo",
    "each_video",
    "failure_reason",
    "inherit",
    "log_to_stderr",
    "run_bucket",
    "run_video_step",
    "torch_device",
    "write_failure",
    "write_result",
]
