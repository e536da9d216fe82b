"""Rule selective: mask and selective map per method and n (and the still copies' masks, and the
calibrated test's maps and p-values against the study's null)."""

from _stage import logged

from videoxai.study.per_video import selective_video

with logged(snakemake):
    selective_video(
        snakemake.output[0],
        snakemake.wildcards.video,
        snakemake.params.explain_shard,
        snakemake.params.methods,
        snakemake.params.settings,
        static_control=bool(snakemake.params.static_control),
        null=snakemake.input.get("null"),
    )
