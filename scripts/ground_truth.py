"""Rule ground_truth: train (or load from the cache) one benchmark model and score every method's
maps on its synthetic videos against their evidence."""

import json
import os

import torch
from _stage import logged

from videoxai.ground_truth.benchmark import BenchmarkSettings, benchmark_one
from videoxai.core.files import atomic_write_bytes

with logged(snakemake) as log:
    torch.set_num_threads(snakemake.threads)
    settings = BenchmarkSettings.from_config(snakemake.params.settings)
    metrics, meta = benchmark_one(
        settings,
        snakemake.wildcards.gt_model,
        snakemake.params.selective,
        os.path.dirname(snakemake.output.metrics),  # the videos are generated beside the outputs
        snakemake.params.cache_dir,
        flow_settings=snakemake.params.flow,
        progress=log.info,
    )
    atomic_write_bytes(snakemake.output.metrics, metrics.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(snakemake.output.meta, json.dumps(meta, indent=2, default=str).encode())
    log.info(
        "%s-trained model: accuracy %.3f, %s, %.1f s",
        meta["dataset"],
        meta["accuracy"],
        "from the cache" if meta["cached"] else "trained",
        meta["seconds_total"],
    )
