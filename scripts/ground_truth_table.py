"""Rule ground_truth_table: the ground-truth table (csv, md, tex) with video-level bootstrap
intervals, and its figure."""

import json
import os

import pandas as pd
from _stage import logged

from videoxai.ground_truth.benchmark import summary_table, write_figure, write_table

with logged(snakemake) as log:
    metrics = pd.concat([pd.read_csv(path) for path in snakemake.input.metrics], ignore_index=True)
    info = {}
    for path in snakemake.input.meta:
        with open(path, encoding="utf-8") as handle:
            meta = json.load(handle)
        info[meta["dataset"]] = meta
    summary = summary_table(metrics, seed=snakemake.params.seed)
    written = write_table(summary, info, os.path.dirname(snakemake.output.csv))
    written.append(write_figure(summary, snakemake.output.figure))
    log.info("wrote %s", ", ".join(map(str, written)))
