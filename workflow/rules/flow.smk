# Farnebäck optical flow between consecutive frames of every clip.


rule flow:
    input:
        clips=shard("clips"),
    output:
        shard("flow"),
    params:
        farneback=config["flow"],
    log:
        log_file("flow"),
    conda:
        "../../envs/videoxai.yaml"
    script:
        "../../scripts/flow.py"
