# Farnebäck optical flow between consecutive frames of every clip.


rule flow:
    input:
        clips=shard("clips"),
    output:
        shard("flow"),
    log:
        log_file("flow"),
    conda:
        "../../envs/videoxai.yaml"
    params:
        farneback=config["flow"],
    script:
        "../../scripts/flow.py"
