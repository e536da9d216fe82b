"""Rule example_figures: Figure-3-style grids for the clips whose relevance is most on motion."""

from _stage import logged

from videoxai.study.per_study import example_figures

with logged(snakemake):
    example_figures(
        snakemake.input.metrics,
        snakemake.input.clips,
        snakemake.params.explain_shards,
        snakemake.input.selective,
        list(snakemake.output),
        n=snakemake.params.n,
        headline_tau=snakemake.params.headline_tau,
    )
