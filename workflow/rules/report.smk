# Study-level outputs: the failed-video list, tables and figures (with report captions).


rule collect_failures:
    input:
        FINAL_INPUTS,
    params:
        shards=FINAL_SHARDS,
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
    script:
        "../../scripts/collect_failures.py"


rule aggregate:
    input:
        **metric_tables(),
    output:
        tables=[
            report(f"{RESULTS}/tables/{name}.csv", caption=f"../report/{name}.rst", category="Tables")
            for name in TABLE_NAMES
        ],
        text=[f"{RESULTS}/tables/{name}.{suffix}" for name in TABLE_NAMES for suffix in ("md", "tex")],
        metrics=f"{RESULTS}/tables/metrics.csv",
    params:
        methods=METHODS,
        n=config["selective"]["n"],
        tau=config["metrics"]["tau"],
        headline_tau=HEADLINE_TAU,
        top_q=config["metrics"]["top_q"],
        faithfulness_shards=[bucket_shard("faithfulness", video) for video in BUCKET_OF] if FAITHFULNESS else [],
    log:
        f"{RESULTS}/logs/aggregate.log",
    conda:
        "../../envs/videoxai.yaml"
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
    params:
        headline_tau=HEADLINE_TAU,
    log:
        f"{RESULTS}/logs/figures.log",
    conda:
        "../../envs/videoxai.yaml"
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
    params:
        explain_shards=EXPLAIN_SHARDS,
        n=HEADLINE_N,
        headline_tau=HEADLINE_TAU,
    log:
        f"{RESULTS}/logs/example_figures.log",
    conda:
        "../../envs/videoxai.yaml"
    script:
        "../../scripts/example_figures.py"


rule cfp_pyramid:
    input:
        clips=shards("clips"),
        explain=[bucket_folder("explain", bucket) for bucket in BUCKETS],
    params:
        explain_shards=EXPLAIN_SHARDS,
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
    script:
        "../../scripts/cfp_pyramid.py"
