"""Rule selective: mask and selective map per method and n, from the explain shard; with the
static control on, also the masks of the clips' frozen copies (static_control/{method}/{n}/mask)."""

import time

import numpy as np
import torch
from _stage import logged, run_stage, to_numpy

from videoxai.motion.selective import selective_from_settings
from videoxai.data.shards import n_group, read_shard
from videoxai.evaluation.static_control import PREFIX

methods = list(snakemake.params.methods)
settings = dict(snakemake.params.settings)
n_values = [float(n) for n in settings["n"]]
config = {"methods": methods, **settings}


def compute():
    static = bool(snakemake.params.static_control)
    names = [f"{prefix}{method}/relevance" for method in methods for prefix in ("", f"{PREFIX}/")[: 1 + static]]
    explained = read_shard(snakemake.params.explain_shard, names=names)
    arrays = {}
    for method in methods:
        relevance = torch.from_numpy(explained.arrays[f"{method}/relevance"])
        began = time.perf_counter()
        result = selective_from_settings(relevance, settings)
        elapsed = time.perf_counter() - began
        arrays[f"{method}/seconds_per_clip"] = np.full(len(relevance), elapsed / max(1, len(relevance)))
        masks, maps = to_numpy(result.masks), to_numpy(result.maps)
        arrays[f"{method}/sigma"] = to_numpy(result.sigma).astype(np.float32)
        for index, n in enumerate(n_values):
            arrays[f"{method}/{n_group(n)}/mask"] = masks[index].astype(bool)
            arrays[f"{method}/{n_group(n)}/map"] = maps[index].astype(np.float32)
        if static:
            frozen = selective_from_settings(
                torch.from_numpy(explained.arrays[f"{PREFIX}/{method}/relevance"]), settings
            )
            for index, n in enumerate(n_values):
                arrays[f"{PREFIX}/{method}/{n_group(n)}/mask"] = to_numpy(frozen.masks[index]).astype(bool)
    return arrays, {}


with logged(snakemake):
    run_stage(snakemake, "selective", compute, upstream=[snakemake.params.explain_shard], config=config)
