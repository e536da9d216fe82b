"""Rule figures: summary figures (png + pdf) from the study's tidy metrics.csv."""

from pathlib import Path

from _stage import logged

from videoxai.study.per_study import figures

with logged(snakemake) as log:
    written = figures(
        snakemake.input.metrics,
        Path(snakemake.output.png[0]).parent,
        headline_tau=snakemake.params.headline_tau,
        bootstrap=snakemake.params.bootstrap,
    )
    log.info("wrote %s", ", ".join(map(str, written)))
