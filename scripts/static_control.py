"""Rule static_control: what selective relevance keeps on the clips' frozen copies, table and figure."""

from pathlib import Path

from _stage import logged

from videoxai.study.per_study import static_control

with logged(snakemake) as log:
    written = static_control(
        snakemake.params.explain_shards,
        snakemake.input.selective,
        Path(snakemake.output.csv).parent,
        snakemake.output.png,
        methods=snakemake.params.methods,
        settings=snakemake.params.settings,
        control=snakemake.params.control,
        n=snakemake.params.n,
        bootstrap=snakemake.params.bootstrap,
    )
    log.info("wrote %s", ", ".join(map(str, written)))
