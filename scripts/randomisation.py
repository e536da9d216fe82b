"""Rule randomisation: the cascading model-parameter randomisation test for every video of one
bucket, with the model loaded once; one table shard per video in the bucket's folder.

For the first ``clips_per_video`` clips of each video, every configured method's map (baseline,
and selective per n of the study's selective section) is recomputed after re-initialising the
model's top k levels, k = 1 … all, and compared with the trained model's map; the work is
videoxai.evaluation.randomisation.cascading_randomisation (on a deep copy: the loaded model never changes).
"""

from pathlib import Path

import numpy as np
import torch
from _stage import failure_reason, inherit, logged, torch_device, write_failure

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.models import load_configured
from videoxai.evaluation.randomisation import cascading_randomisation
from videoxai.data.shards import read_shard, write_table_shard
from videoxai.study.stages import build_explainers, check_clip_geometry, log_to_stderr, shared_guided_gradcam

params = snakemake.params
settings = dict(params.settings)
methods = list(params.methods)
options = dict(params.method_options)
device = torch_device(snakemake.config["device"])
config = {"model": params.model, "methods": methods, "selective": params.selective, "randomisation": settings}
folder = Path(snakemake.output[0])


def first_clips(clips: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` clips of uint8 ``(N, T, H, W, 3)`` (all of them when there are fewer)."""
    return clips[: max(1, int(count))]


def randomise(video_id, clips_shard, model, spec):
    clips = first_clips(clips_shard.arrays["clips"], settings["clips_per_video"])
    check_clip_geometry(clips, spec)
    inputs = spec.preprocess(clips, device=device)
    return cascading_randomisation(
        model,
        inputs,
        lambda network: build_explainers(network, spec, methods, options),
        selective=params.selective,
        depths=settings["depths"],
        grouping=settings["grouping"],
        seed=int(settings["seed"]),
        top_q=float(settings["top_q"]),
        share_guided_gradcam=shared_guided_gradcam(methods, options),
        video=video_id,
        progress=log_to_stderr,
    )


with logged(snakemake) as log:
    torch.set_num_threads(max(1, snakemake.threads))
    folder.mkdir(parents=True, exist_ok=True)
    model, spec = load_configured(params.model, device=device)
    for video_id, clips_path in zip(params.videos, snakemake.input.clips):
        output = folder / f"{video_id}.h5"
        inherited, failure = inherit([clips_path])
        if failure:
            write_failure(
                output, "randomisation", video_id, failure["reason"], failure["failed_stage"], config, inherited
            )
            continue
        clips_shard = read_shard(clips_path, names=["clips"])
        try:
            table = randomise(video_id, clips_shard, model, spec)
        except ConfigurationError:
            raise
        except VideoXAIError as error:
            write_failure(output, "randomisation", video_id, failure_reason(error), "randomisation", config, inherited)
            continue
        write_table_shard(output, table, stage="randomisation", video_id=video_id, config=config, attributes=inherited)
        log.info("%s: wrote %s", video_id, output)
