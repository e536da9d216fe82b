"""Rule metrics: tidy metric rows of one video (videoxai.evaluation.metrics.compute_clip_metrics) in a shard."""

import json

import numpy as np
from _stage import logged, run_stage

from videoxai.core.errors import ConfigurationError
from videoxai.evaluation.correctness import mark_correct
from videoxai.core.label_map import class_index, read_label_map
from videoxai.evaluation.metrics import compute_clip_metrics
from videoxai.data.shards import n_group, read_shard, write_table_shard

methods = list(snakemake.params.methods)
n_values = [float(n) for n in snakemake.params.n]
taus = [float(tau) for tau in snakemake.params.tau]
top_q = [float(q) for q in snakemake.params.top_q]
motion = str(snakemake.params.motion)
border_margin = int(snakemake.params.border_margin)
config = {
    "methods": methods,
    "n": n_values,
    "tau": taus,
    "top_q": top_q,
    "motion": motion,
    "border_margin": border_margin,
    "label_map": snakemake.params.label_map,
}
# The raw Farnebäck flow, or the object motion the flow stage left after removing the camera's.
FLOW_ARRAYS = {"raw": "flow", "compensated": "object_flow"}
video_id = snakemake.wildcards.video


def compute():
    flow_shard = read_shard(snakemake.input.flow, names=[FLOW_ARRAYS[motion]])
    if FLOW_ARRAYS[motion] not in flow_shard.arrays:
        raise ConfigurationError(
            f"the flow shard {snakemake.input.flow} has no {FLOW_ARRAYS[motion]!r}: set flow.camera.compensate: true",
            "metrics.motion",
        )
    flow = flow_shard.arrays[FLOW_ARRAYS[motion]]
    explained = read_shard(snakemake.params.explain_shard)
    selected = read_shard(snakemake.input.selective)
    first = explained.arrays[f"{methods[0]}/predicted"]
    # The true class is known when the video's label is one of the model's classes (e.g. C3D on
    # UCF-101) or videos.label_map maps it to one (UCF-101 -> Kinetics-400 for I3D).
    class_names = json.loads(explained.attributes.get("class_names") or "[]")
    truth = class_index(explained.attributes.get("label"), class_names, read_label_map(snakemake.params.label_map))
    labels = np.full(len(first), truth, dtype=np.int64)
    table = compute_clip_metrics(
        video=video_id,
        relevance={method: explained.arrays[f"{method}/relevance"] for method in methods},
        selective={(method, n): selected.arrays[f"{method}/{n_group(n)}/map"] for method in methods for n in n_values},
        flow=flow.astype(np.float32),
        taus=taus,
        top_q=top_q,
        seconds={method: explained.arrays[f"{method}/seconds_per_clip"] for method in methods},
        selective_seconds={method: selected.arrays[f"{method}/seconds_per_clip"] for method in methods},
        labels=labels,
        predicted=first,
        border_margin=border_margin,
        motion=motion,
    )
    table = mark_correct(table, labels, first, {method: explained.arrays[f"{method}/target"] for method in methods})
    return table, {}


def write_table(path, stage, table, **keywords):
    return write_table_shard(path, table, **keywords)


with logged(snakemake):
    run_stage(
        snakemake,
        "metrics",
        compute,
        writer=write_table,
        upstream=[snakemake.input.flow, snakemake.params.explain_shard, snakemake.input.selective],
        config=config,
    )
