"""Rule faithfulness: deletion/insertion, pointing game and smoothness rows of one video.

Every configured method's map is scored as a baseline and, per n, as a selective map, plus a
random map (method "random") as the reference; the work is videoxai.stages.faithfulness_table.
Rows use the tidy metrics columns; the deletion/insertion curves are rows too (metric
deletion_curve / insertion_curve), so the curves figure reads them from metrics.csv.
"""

import numpy as np
import torch
from _stage import logged, run_stage, torch_device

from videoxai.faithfulness import clip_boxes, clip_masks, read_annotations
from videoxai.models import load_configured
from videoxai.shards import n_group, read_shard, write_table_shard
from videoxai.stages import annotation_for, faithfulness_table, log_to_stderr

params = snakemake.params
methods = list(params.methods)
n_values = [float(n) for n in params.n]
device = torch_device(snakemake.config["device"])
video_id = snakemake.wildcards.video
config = {key: getattr(params, key) for key in ("model", "methods", "n", "variants", "steps", "baseline", "grid",
                                                "random_seed", "tolerance", "annotations")}
upstream = [snakemake.input.clips, snakemake.input.explain, snakemake.input.selective]


def compute():
    torch.set_num_threads(max(1, snakemake.threads))
    clips_shard = read_shard(snakemake.input.clips, names=["clips", "frame_indices"])
    explained = read_shard(snakemake.input.explain, names=[f"{m}/{name}" for m in methods for name in ("relevance", "target")])
    selected = read_shard(snakemake.input.selective, names=[f"{m}/{n_group(n)}/map" for m in methods for n in n_values])
    model, spec = load_configured(params.model, device=device)
    annotations = read_annotations(params.annotations) if params.annotations else None
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
    table = faithfulness_table(
        model, spec, video_id, clips_shard.arrays["clips"], maps, steps=int(params.steps), baseline=params.baseline,
        grid=tuple(params.grid) if params.grid else None, batch_size=int(snakemake.config["faithfulness"]["batch_size"]),
        random_seed=params.random_seed, pointing_targets=pointing_targets, tolerance=float(params.tolerance),
        device=device, progress=log_to_stderr)
    return table, {}


def write_table(path, stage, table, **keywords):
    return write_table_shard(path, table, stage="faithfulness", **keywords)


with logged(snakemake):
    run_stage(snakemake, "faithfulness", compute, writer=write_table, upstream=upstream, config=config)
