"""Rule example_videos: H.264 overlay videos of the best clips and an HTML player for each."""

from _stage import logged

from videoxai.study.per_study import example_videos

with logged(snakemake):
    example_videos(
        snakemake.input.metrics,
        snakemake.input.clips,
        snakemake.params.explain_shards,
        snakemake.input.selective,
        list(snakemake.output.mp4),
        list(snakemake.output.html),
        n=snakemake.params.n,
        headline_tau=snakemake.params.headline_tau,
    )
