"""Rule randomisation_table: the randomisation test's table and one curve figure per method."""

from pathlib import Path

from _stage import logged

from videoxai.study.randomisation import randomisation_report

with logged(snakemake) as log:
    written = randomisation_report(
        snakemake.params.shards,
        Path(snakemake.output.csv).parent,
        Path(snakemake.output.png[0]).parent,
        snakemake.params.methods,
        snakemake.params.top_q,
        bootstrap=snakemake.params.bootstrap,
    )
    log.info("wrote %s", ", ".join(map(str, written)))
