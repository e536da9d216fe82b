# Motion metrics: one row per (clip, method, baseline|selective, n, tau) in a per-video shard.


rule metrics:
    input:
        flow=shard("flow"),
        explain=shard("explain"),
        selective=shard("selective"),
    output:
        shard("metrics"),
    params:
        methods=METHODS,
        n=config["selective"]["n"],
        tau=config["metrics"]["tau"],
        top_q=config["metrics"]["top_q"],
    log:
        log_file("metrics"),
    conda:
        "../../envs/videoxai.yaml"
    script:
        "../../scripts/metrics.py"
