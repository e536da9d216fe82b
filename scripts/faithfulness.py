"""Rule faithfulness: deletion/insertion, pointing game and smoothness rows of every video of one
bucket, with the model loaded once; one table shard per video in the bucket's folder.

Every configured method's map is scored as a baseline and, per n, as a selective map, plus the
reference maps of faithfulness.references (method "random", "centre"); the work is videoxai.study.stages.faithfulness_table.
Rows use the tidy metrics columns; the deletion/insertion curves are rows too (metric
deletion_curve / insertion_curve), so the curves figure reads them from metrics.csv.
"""

from pathlib import Path

import numpy as np
import torch
from _stage import failure_reason, inherit, logged, torch_device, write_failure

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.evaluation.faithfulness import clip_boxes, clip_masks, read_annotations
from videoxai.models import load_configured
from videoxai.data.shards import n_group, read_shard, write_table_shard
from videoxai.study.stages import annotation_for, faithfulness_table, log_to_stderr

params = snakemake.params
methods = list(params.methods)
n_values = [float(n) for n in params.n]
device = torch_device(snakemake.config["device"])
config = {
    key: getattr(params, key)
    for key in (
        "model",
        "methods",
        "n",
        "variants",
        "steps",
        "baseline",
        "grid",
        "random_seed",
        "references",
        "tolerance",
        "annotations",
    )
}
folder = Path(snakemake.output[0])


def score(video_id, clips_shard, explained, selected, model, spec, annotations):
    annotation = annotation_for(annotations, video_id, clips_shard.attributes.get("video_path", ""))
    pointing_targets = None
    if annotation is not None and "boxes" in annotation:
        source_hw = (clips_shard.attributes["source_height"], clips_shard.attributes["source_width"])
        pointing_targets = {"boxes": clip_boxes(annotation, clips_shard.arrays["frame_indices"], source_hw, spec)}
    elif annotation is not None:
        pointing_targets = {"masks": clip_masks(annotation, clips_shard.arrays["frame_indices"], spec)}
    maps = []  # (method, variant, n, relevance (N, T, H, W), target (N,))
    for method in methods:
        relevance, target = explained.arrays[f"{method}/relevance"], explained.arrays[f"{method}/target"]
        if "baseline" in params.variants:
            maps.append((method, "baseline", np.nan, relevance, target))
        if "selective" in params.variants:
            maps += [(method, "selective", n, selected.arrays[f"{method}/{n_group(n)}/map"], target) for n in n_values]
    return faithfulness_table(
        model,
        spec,
        video_id,
        clips_shard.arrays["clips"],
        maps,
        steps=int(params.steps),
        baseline=params.baseline,
        grid=tuple(params.grid) if params.grid else None,
        batch_size=int(snakemake.config["faithfulness"]["batch_size"]),
        random_seed=params.random_seed,
        references=list(params.references),
        pointing_targets=pointing_targets,
        tolerance=float(params.tolerance),
        device=device,
        progress=log_to_stderr,
    )


with logged(snakemake) as log:
    torch.set_num_threads(max(1, snakemake.threads))
    folder.mkdir(parents=True, exist_ok=True)
    model, spec = load_configured(params.model, device=device)
    annotations = read_annotations(params.annotations) if params.annotations else None
    for video_id, clips_path, explain_path, selective_path in zip(
        params.videos, snakemake.input.clips, params.explain_shards, snakemake.input.selective
    ):
        output = folder / f"{video_id}.h5"
        inherited, failure = inherit([clips_path, explain_path, selective_path])
        if failure:
            write_failure(
                output, "faithfulness", video_id, failure["reason"], failure["failed_stage"], config, inherited
            )
            continue
        clips_shard = read_shard(clips_path, names=["clips", "frame_indices"])
        explained = read_shard(explain_path, names=[f"{m}/{name}" for m in methods for name in ("relevance", "target")])
        selected = read_shard(selective_path, names=[f"{m}/{n_group(n)}/map" for m in methods for n in n_values])
        try:
            table = score(video_id, clips_shard, explained, selected, model, spec, annotations)
        except ConfigurationError:
            raise
        except VideoXAIError as error:
            write_failure(output, "faithfulness", video_id, failure_reason(error), "faithfulness", config, inherited)
            continue
        write_table_shard(output, table, stage="faithfulness", video_id=video_id, config=config, attributes=inherited)
        log.info("%s: wrote %s", video_id, output)
