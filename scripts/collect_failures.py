"""Rule collect_failures: every video whose shards record a failure -> failed_videos.csv."""

from _stage import logged

from videoxai.study.per_study import collect_failures

with logged(snakemake):
    collect_failures(snakemake.params.shards, snakemake.output[0])
