"""Rule preflight: check the study's model settings once, before any video is processed."""

from _stage import logged

from videoxai.study.explain import run_preflight

with logged(snakemake):
    run_preflight(snakemake.params.config, snakemake.output[0])
