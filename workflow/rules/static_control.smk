# Static control: what selective relevance keeps on the frozen copies of the clips (explained in
# the explain jobs, masked in the selective jobs), as a table and a per-frame figure.


rule static_control:
    input:
        explain=[bucket_folder("explain", bucket) for bucket in BUCKETS],
        selective=shards("selective"),
    output:
        csv=report(
            f"{RESULTS}/tables/static_control.csv",
            caption="../report/static_control.rst",
            category="Quality control",
        ),
        md=f"{RESULTS}/tables/static_control.md",
        tex=f"{RESULTS}/tables/static_control.tex",
        png=report(
            f"{RESULTS}/figures/static_control.png",
            caption="../report/static_control_frames.rst",
            category="Quality control",
        ),
    log:
        f"{RESULTS}/logs/static_control.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        explain_shards=EXPLAIN_SHARDS,
        methods=METHODS,
        settings=config["selective"],
        control=config["static_control"],
        n=HEADLINE_N,
        bootstrap=config["metrics"]["bootstrap"],
    script:
        "../../scripts/static_control.py"
