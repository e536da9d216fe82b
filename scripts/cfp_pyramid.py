"""Rule cfp_pyramid: the class feature pyramid of the first clip that has one."""

from _stage import logged

from videoxai.study.per_study import cfp_pyramid

with logged(snakemake):
    cfp_pyramid(snakemake.input.clips, snakemake.params.explain_shards, snakemake.output[0])
