# Selective relevance: a mask and a map per method and per n (sigma multiplier).


rule selective:
    input:
        explain=video_bucket_folder("explain"),
    output:
        shard("selective"),
    log:
        log_file("selective"),
    conda:
        "../../envs/videoxai.yaml"
    params:
        explain_shard=video_bucket_shard("explain"),
        methods=METHODS,
        settings=config["selective"],
        static_control=config["static_control"]["enabled"],
    script:
        "../../scripts/selective.py"
