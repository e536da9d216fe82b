"""Rule aggregate: every video's metric (and faithfulness) rows -> tables (csv/md/tex) and the tidy metrics.csv."""

import json
from pathlib import Path

import pandas as pd
from _stage import logged

from videoxai.evaluation.correctness import TABLE1_BY_CORRECT, write_table1_by_correct
from videoxai.evaluation.metrics import empty_metrics
from videoxai.data.shards import read_table_shard
from videoxai.report.tables import write_tables

with logged(snakemake) as log:
    frames = []
    for path in [*snakemake.input.metrics, *snakemake.params.faithfulness_shards]:
        table, shard = read_table_shard(path)
        if not shard.failed and len(table):
            frames.append(table)
    metrics = pd.concat(frames, ignore_index=True) if frames else empty_metrics()
    videos = metrics["video"].nunique() if len(metrics) else 0
    log.info("%d metric rows from %d of %d videos", len(metrics), videos, len(snakemake.input.metrics))
    written = write_tables(
        metrics,
        Path(snakemake.output.metrics).parent,
        tau=snakemake.params.headline_tau,
        bootstrap=snakemake.params.bootstrap,
        html_dir=snakemake.output.html,
        reasons=snakemake.params.absent_reasons,
    )
    tables_dir = Path(snakemake.output.metrics).parent
    if snakemake.params.split_by_correct:
        split = write_table1_by_correct(metrics, tables_dir, tau=snakemake.params.headline_tau)
        log.info("wrote %s", ", ".join(map(str, split)) or f"no {TABLE1_BY_CORRECT} (no metric rows)")
    else:
        for suffix in ("csv", "md", "tex"):
            (tables_dir / f"{TABLE1_BY_CORRECT}.{suffix}").unlink(missing_ok=True)
    Path(snakemake.output.html).mkdir(parents=True, exist_ok=True)  # declared even when no table has rows
    log.info("wrote %s", ", ".join(map(str, written)))
    for name, reason in json.loads(Path(snakemake.output.status).read_text())["absent"].items():
        log.info("table %s not written: %s", name, reason)
