# Motion metrics: one row per (clip, method, baseline|selective, n, tau) in a per-video shard.


rule metrics:
    input:
        flow=shard("flow"),
        explain=video_bucket_folder("explain"),
        selective=shard("selective"),
    output:
        shard("metrics"),
    log:
        log_file("metrics"),
    conda:
        "../../envs/videoxai.yaml"
    params:
        explain_shard=video_bucket_shard("explain"),
        methods=METHODS,
        n=config["selective"]["n"],
        tau=config["metrics"]["tau"],
        top_q=config["metrics"]["top_q"],
        motion=config["metrics"]["motion"],
        border_margin=config["metrics"]["border_margin"],
        label_map=config["videos"]["label_map"],
    script:
        "../../scripts/metrics.py"
