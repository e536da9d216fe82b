"""Rule report_summary: the report's front page."""

from _stage import logged

from videoxai.study.per_study import report_summary

params = snakemake.params
with logged(snakemake):
    report_summary(
        snakemake.input.metrics,
        snakemake.input.status,
        snakemake.input.failed,
        snakemake.output[0],
        run=params.run,
        headline_tau=params.headline_tau,
        bootstrap=params.bootstrap,
        min_videos=params.min_videos,
        ground_truth_table=snakemake.input.get("table"),
        ground_truth_meta=snakemake.input.get("meta", []),
    )
