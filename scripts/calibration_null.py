"""Rule calibration_null: the calibrated test's null, pooled over every video's still copies."""

from _stage import logged

from videoxai.study.calibration import calibration_null

with logged(snakemake):
    calibration_null(
        snakemake.params.explain_shards,
        snakemake.output[0],
        methods=snakemake.params.methods,
        settings=snakemake.params.settings,
    )
