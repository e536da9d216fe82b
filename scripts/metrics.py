"""Rule metrics: tidy metric rows of one video in a `metrics` shard."""

from _stage import logged

from videoxai.study.per_video import metrics_video

params = snakemake.params
with logged(snakemake):
    metrics_video(
        snakemake.output[0],
        snakemake.wildcards.video,
        snakemake.input.flow,
        params.explain_shard,
        snakemake.input.selective,
        methods=params.methods,
        n=params.n,
        tau=params.tau,
        top_q=params.top_q,
        motion=params.motion,
        border_margin=params.border_margin,
        label_map=params.label_map,
    )
