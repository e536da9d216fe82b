"""Rule ground_truth_table: the ground-truth table (csv, md, tex) and its figure."""

from pathlib import Path

from _stage import logged

from videoxai.ground_truth.report import ground_truth_report

with logged(snakemake) as log:
    written = ground_truth_report(
        snakemake.input.metrics,
        snakemake.input.meta,
        Path(snakemake.output.csv).parent,
        snakemake.output.figure,
        seed=snakemake.params.seed,
        bootstrap=snakemake.params.bootstrap,
    )
    log.info("wrote %s", ", ".join(map(str, written)))
