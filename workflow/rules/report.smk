# Study-level outputs: the failed-video list, tables and figures (with report captions).


rule collect_failures:
    input:
        FINAL_INPUTS,
    output:
        report(
            f"{RESULTS}/failed_videos.csv",
            caption="../report/failed_videos.rst",
            category="Quality control",
        ),
    log:
        f"{RESULTS}/logs/collect_failures.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        shards=FINAL_SHARDS,
    script:
        "../../scripts/collect_failures.py"


# Tables with rows are written as tables/{name}.{csv,md,tex} and tables/html/{name}.html; a table
# without rows is not written, so those files are not declared one by one: status.json lists
# which exist and why the others do not, and the report shows every html page as a table.
rule aggregate:
    input:
        **metric_tables(),
    output:
        metrics=f"{RESULTS}/tables/metrics.csv",
        status=f"{RESULTS}/tables/status.json",
        html=report(
            directory(f"{RESULTS}/tables/html"),
            patterns=["{name}.html"],
            caption="../report/tables.rst",
            category="Tables",
            labels={"table": "{name}"},
        ),
    log:
        f"{RESULTS}/logs/aggregate.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        absent_reasons=ABSENT_REASONS,
        methods=METHODS,
        n=config["selective"]["n"],
        tau=config["metrics"]["tau"],
        headline_tau=HEADLINE_TAU,
        top_q=config["metrics"]["top_q"],
        bootstrap=config["metrics"]["bootstrap"],
        faithfulness_shards=[bucket_shard("faithfulness", video) for video in BUCKET_OF] if FAITHFULNESS else [],
        split_by_correct=config["metrics"]["split_by_correct"],
    script:
        "../../scripts/aggregate.py"


rule figures:
    input:
        metrics=f"{RESULTS}/tables/metrics.csv",
    output:
        png=[
            report(f"{RESULTS}/figures/{name}.png", caption=f"../report/{name}.rst", category="Figures")
            for name in FIGURE_NAMES
        ],
        pdf=[f"{RESULTS}/figures/{name}.pdf" for name in FIGURE_NAMES],
    log:
        f"{RESULTS}/logs/figures.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        headline_tau=HEADLINE_TAU,
        bootstrap=config["metrics"]["bootstrap"],
    script:
        "../../scripts/figures.py"


rule example_figures:
    input:
        metrics=f"{RESULTS}/tables/metrics.csv",
        clips=shards("clips"),
        explain=[bucket_folder("explain", bucket) for bucket in BUCKETS],
        selective=shards("selective"),
    output:
        [
            report(
                f"{RESULTS}/figures/example_{rank}.png",
                caption="../report/example.rst",
                category="Examples",
            )
            for rank in range(1, config["report"]["examples"] + 1)
        ],
    log:
        f"{RESULTS}/logs/example_figures.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        explain_shards=EXPLAIN_SHARDS,
        n=HEADLINE_N,
        headline_tau=HEADLINE_TAU,
    script:
        "../../scripts/example_figures.py"


rule cfp_pyramid:
    input:
        clips=shards("clips"),
        explain=[bucket_folder("explain", bucket) for bucket in BUCKETS],
    output:
        report(
            f"{RESULTS}/figures/cfp_pyramid.png",
            caption="../report/cfp_pyramid.rst",
            category="Figures",
        ),
    log:
        f"{RESULTS}/logs/cfp_pyramid.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        explain_shards=EXPLAIN_SHARDS,
    script:
        "../../scripts/cfp_pyramid.py"


rule report_summary:
    input:
        **GROUND_TRUTH_OUTPUTS,
        metrics=f"{RESULTS}/tables/metrics.csv",
        status=f"{RESULTS}/tables/status.json",
        failed=f"{RESULTS}/failed_videos.csv",
    output:
        f"{RESULTS}/report/summary.rst",
    log:
        f"{RESULTS}/logs/report_summary.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        run={
            "videos": len(VIDEOS),
            "source": VIDEO_SETTINGS["source"],
            "model": config["model"]["name"],
            "methods": METHODS,
            "n": config["selective"]["n"],
            "tau": config["metrics"]["tau"],
            "clip_length": config["clips"]["length"],
        },
        headline_tau=HEADLINE_TAU,
        bootstrap=config["metrics"]["bootstrap"],
        min_videos=config["report"]["min_videos"],
    script:
        "../../scripts/report_summary.py"


rule example_videos:
    input:
        metrics=f"{RESULTS}/tables/metrics.csv",
        clips=shards("clips"),
        explain=[bucket_folder("explain", bucket) for bucket in BUCKETS],
        selective=shards("selective"),
    output:
        mp4=[
            report(
                f"{RESULTS}/figures/example_{rank}.mp4",
                caption="../report/example_video.rst",
                category="Example videos",
                subcategory="MP4 files (H.264)",
            )
            for rank in range(1, EXAMPLE_VIDEOS + 1)
        ],
        html=[
            report(
                f"{RESULTS}/report/example_{rank}.html",
                caption="../report/example_video.rst",
                category="Example videos",
                subcategory="Playing",
            )
            for rank in range(1, EXAMPLE_VIDEOS + 1)
        ],
    log:
        f"{RESULTS}/logs/example_videos.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        explain_shards=EXPLAIN_SHARDS,
        n=HEADLINE_N,
        headline_tau=HEADLINE_TAU,
    script:
        "../../scripts/example_videos.py"
