"""Rule figures: summary figures (png + pdf) from the study's tidy metrics.csv."""

from pathlib import Path

import pandas as pd
from _stage import logged

from videoxai.report.figures import write_figures

with logged(snakemake) as log:
    metrics = pd.read_csv(snakemake.input.metrics)
    written = write_figures(
        metrics,
        Path(snakemake.output.png[0]).parent,
        tau=snakemake.params.headline_tau,
        bootstrap=snakemake.params.bootstrap,
    )
    log.info("wrote %s", ", ".join(map(str, written)))
