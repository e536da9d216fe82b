"""Rule report_summary: the report's front page (what was run, the headline, the tables, why any is absent)."""

import json
from pathlib import Path

import pandas as pd
from _stage import logged

from videoxai.core.files import atomic_write
from videoxai.report.front_page import StudyRun, front_page
from videoxai.report.tables import build_tables, headline_q, normalise_metrics

params = snakemake.params

with logged(snakemake) as log:
    metrics = normalise_metrics(pd.read_csv(snakemake.input.metrics))
    absent = json.loads(Path(snakemake.input.status).read_text())["absent"]
    failed = len(pd.read_csv(snakemake.input.failed))
    q = headline_q(metrics)
    tables = build_tables(metrics, tau=params.headline_tau, q=q, bootstrap=params.bootstrap)
    run = StudyRun(
        videos_listed=params.videos,
        videos_studied=params.videos - failed,
        failed=failed,
        source=params.source,
        model=params.model,
        methods=params.methods,
        n=params.n,
        tau=params.tau,
        headline_tau=params.headline_tau,
        clips=len(metrics[["video", "clip"]].drop_duplicates()),
        clip_length=params.clip_length,
    )
    ground_truth = []
    if "table" in snakemake.input.keys():
        from videoxai.ground_truth.benchmark import caption, display_table
        from videoxai.report.front_page import ground_truth_lines

        summary = pd.read_csv(snakemake.input.table, keep_default_na=False, na_values=[""])
        summary["method"] = summary["method"].fillna("")
        info = {}
        for path in snakemake.input.meta:
            meta = json.loads(Path(path).read_text())
            info[meta["dataset"]] = meta
        headers, rows = display_table(summary)
        ground_truth = ground_truth_lines(summary, caption(summary, info), headers, rows)
    text = front_page(tables, absent, run, tau=params.headline_tau, q=q, ground_truth=ground_truth)
    atomic_write(snakemake.output[0], lambda path: path.write_text(text, encoding="utf-8"))
    log.info("front page -> %s", snakemake.output[0])
