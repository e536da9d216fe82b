"""Rule selective: mask and selective map per method and n, from the explain shard."""

import time

import numpy as np
import torch
from _stage import logged, run_stage, to_numpy

from videoxai.selective import selective_from_settings
from videoxai.shards import n_group, read_shard

methods = list(snakemake.params.methods)
settings = dict(snakemake.params.settings)
n_values = [float(n) for n in settings["n"]]
config = {"methods": methods, **settings}


def compute():
    explained = read_shard(snakemake.params.explain_shard, names=[f"{method}/relevance" for method in methods])
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
    return arrays, {}


with logged(snakemake):
    run_stage(snakemake, "selective", compute, upstream=[snakemake.params.explain_shard], config=config)
