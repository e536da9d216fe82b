"""Plumbing shared by the workflow scripts: the rule's log file, and passing failures on.

Every per-video stage writes exactly one shard. If an upstream shard records a failure, the
stage writes a failed shard with the same reason instead of computing anything, so a bad
video flows through the static DAG to failed_videos.csv without stopping the study.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from pathlib import Path
from collections.abc import Callable

try:
    import videoxai  # noqa: F401 - installed (the project's .venv)
except ImportError:  # a conda env from envs/ has the dependencies only: use this checkout's library
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.data.shards import read_attributes, write_failed_shard, write_shard

PASSED_ON = ("video_path", "label", "fps", "model_name", "model_weights_sha256")


@contextlib.contextmanager
def logged(snakemake):
    """Send stderr and `logging` into the rule's log file for the duration of the block."""
    with open(snakemake.log[0], "w", encoding="utf-8") as handle:
        previous = sys.stderr
        sys.stderr = handle
        logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(message)s", force=True)
        try:
            yield logging.getLogger("videoxai.workflow")
        except BaseException:
            traceback.print_exc(file=handle)
            raise
        finally:
            handle.flush()
            sys.stderr = previous


def inherit(upstream: list[str], attributes: dict | None = None) -> tuple[dict, dict | None]:
    """The attributes a stage passes on from its upstream shards (video path, label, fps, model),
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


def write_failure(
    output: str, stage: str, video_id: str, reason: str, failed_stage: str, config: dict, inherited: dict
) -> None:
    """A failed shard for ``video_id``: its own failure (``failed_stage == stage``) is also
    printed on the terminal; an upstream one is only logged as passed on."""
    log = logging.getLogger("videoxai.workflow")
    if failed_stage == stage:
        log.info("%s: %s failed: %s", video_id, stage, reason)
        print(f"videoxai: {video_id}: {stage} failed: {reason}", file=sys.__stderr__)
    else:
        log.info("%s: %s failed at %s (%s); passing the failure on", video_id, stage, failed_stage, reason)
    write_failed_shard(
        output, stage, reason, video_id=video_id, config=config, attributes={**inherited, "failed_stage": failed_stage}
    )


def failure_reason(error: BaseException) -> str:
    return getattr(error, "reason", None) or f"{type(error).__name__}: {error}"


def run_stage(
    snakemake,
    stage: str,
    compute: Callable[[], tuple[dict, dict]],
    upstream: list[str],
    config: dict,
    catch: tuple[type[BaseException], ...] = (VideoXAIError,),
    attributes: dict | None = None,
    writer: Callable = write_shard,
) -> None:
    """Write ``snakemake.output[0]`` as the ``stage`` shard of this video.

    ``compute()`` returns ``(arrays, attributes)``, which ``writer`` stores (default
    :func:`write_shard`); it is not called when an ``upstream`` shard failed. Errors of the types in
    ``catch`` become a failed shard with their one-line reason, except a
    :class:`~videoxai.core.errors.ConfigurationError`, which fails the job.
    """
    video_id = snakemake.wildcards.video
    output = snakemake.output[0]
    inherited, failure = inherit(upstream, attributes)
    if failure:
        write_failure(output, stage, video_id, failure["reason"], failure["failed_stage"], config, inherited)
        return
    try:
        arrays, produced = compute()
    except ConfigurationError:
        raise  # a settings problem is never one video's failure: the job fails and the run stops
    except catch as error:
        write_failure(output, stage, video_id, failure_reason(error), stage, config, inherited)
        return
    writer(output, stage, arrays, video_id=video_id, config=config, attributes={**inherited, **produced})
    logging.getLogger("videoxai.workflow").info("%s: wrote %s", video_id, output)


def shard_of(snakemake, stage: str, video: str) -> str:
    """The ``stage`` shard of ``video`` among a study-level rule's inputs. Explain shards live in
    bucket folders, so the rule passes their paths as ``params.explain_shards``."""
    paths = snakemake.params.explain_shards if stage == "explain" else snakemake.input[stage]
    return next(path for path in paths if Path(path).stem == video)


def to_numpy(value):
    """A torch tensor (any device) or array-like as a NumPy array."""
    import numpy as np

    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def torch_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting
