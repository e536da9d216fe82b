# The study's settings that need the model, checked once before any video: the model and its
# weights, every method with its options on that model, the clip geometry (the annotation file
# is read when the DAG is built). Every per-video job takes the result as a plain input, so a
# change of these settings reruns the check and everything after it in one call. (As an
# ancient() input it would not: Snakemake skips the provenance checks of jobs downstream of a
# job that reruns when their input from it is ancient, so the first call after a change would
# run the check alone and leave the tables stale until a second call.)


rule preflight:
    input:
        weights=MODEL_WEIGHTS or [],
    output:
        PREFLIGHT,
    log:
        f"{RESULTS}/logs/preflight.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        config={
            "model": {**config["model"], "weights": MODEL_WEIGHTS},
            "clips": {"length": config["clips"]["length"]},
            "explain": {key: config["explain"][key] for key in ("methods", "options")},
        },
    script:
        "../../scripts/preflight.py"
