# Study-level outputs: the failed-video list, tables and figures (with report captions).


rule collect_failures:
    input:
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
        metrics=shards("metrics"),
    output:
        tables=directory(f"{RESULTS}/tables"),
        figures=report(
            directory(f"{RESULTS}/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    params:
        methods=METHODS,
        n=config["selective"]["n"],
        tau=config["metrics"]["tau"],
    log:
        f"{RESULTS}/logs/aggregate.log",
    conda:
        "../../envs/videoxai.yaml"
    script:
        "../../scripts/aggregate.py"
