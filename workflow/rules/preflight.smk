# The study's settings checked once, before any video: the model and its weights, every method
# with its options on that model, the input geometry, the annotation file. Every per-video job
# waits for it (as an ancient input: a rerun of the check alone reruns nothing downstream).


rule preflight:
    input:
        weights=MODEL_WEIGHTS or [],
        annotations=ANNOTATIONS or [],
    output:
        PREFLIGHT,
    log:
        f"{RESULTS}/logs/preflight.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        config={
            "model": {**config["model"], "weights": MODEL_WEIGHTS},
            "clips": config["clips"],
            "explain": {key: config["explain"][key] for key in ("methods", "options")},
            "faithfulness": {"enabled": FAITHFULNESS, "annotations": ANNOTATIONS},
        },
    script:
        "../../scripts/preflight.py"
