"""Rule randomisation_table: every video's randomisation rows -> tables/randomisation.{csv,md,tex}
and one curve figure per method (figures/randomisation_<method>.{png,pdf})."""

from pathlib import Path

import pandas as pd
from _stage import logged

from videoxai.evaluation.randomisation import COLUMNS
from videoxai.report.randomisation import summarise, write_figures, write_table
from videoxai.data.shards import read_table_shard

with logged(snakemake) as log:
    frames = []
    failed = 0
    for path in snakemake.params.shards:
        table, shard = read_table_shard(path)
        if shard.failed:
            failed += 1
        elif len(table):
            frames.append(table)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    log.info("%d randomisation rows from %d videos (%d failed)", len(rows), len(frames), failed)
    summary = summarise(rows)
    top_q = float(snakemake.params.top_q)
    written = write_table(summary, Path(snakemake.output.csv).parent, top_q)
    written += write_figures(summary, Path(snakemake.output.png[0]).parent, snakemake.params.methods, top_q)
    log.info("wrote %s", ", ".join(map(str, written)))
