"""Rule aggregate: every video's metric (and faithfulness) rows -> the tables and metrics.csv."""

from pathlib import Path

from _stage import logged

from videoxai.study.per_study import aggregate

params = snakemake.params
with logged(snakemake) as log:
    written = aggregate(
        snakemake.input.metrics,
        params.faithfulness_shards,
        Path(snakemake.output.metrics).parent,
        snakemake.output.html,
        headline_tau=params.headline_tau,
        bootstrap=params.bootstrap,
        absent_reasons=params.absent_reasons,
        split_by_correct=params.split_by_correct,
    )
    log.info("wrote %s", ", ".join(map(str, written)))
