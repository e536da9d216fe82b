# Selective relevance: a mask and a map per method and per n (sigma multiplier).


rule selective:
    input:
        explain=shard("explain"),
    output:
        shard("selective"),
    params:
        methods=METHODS,
        n=config["selective"]["n"],
        padding=config["selective"]["padding"],
    log:
        log_file("selective"),
    conda:
        "../../envs/videoxai.yaml"
    script:
        "../../scripts/selective.py"
