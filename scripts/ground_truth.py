"""Rule ground_truth: train (or load) one benchmark model and score every method on its videos."""

from _stage import logged

from videoxai.ground_truth.benchmark import run_ground_truth_model

with logged(snakemake, threads=True) as log:
    run_ground_truth_model(
        snakemake.params.settings,
        snakemake.wildcards.gt_model,
        snakemake.params.selective,
        snakemake.params.flow,
        snakemake.output.metrics,
        snakemake.output.meta,
        snakemake.params.cache_dir,
        progress=log.info,
    )
