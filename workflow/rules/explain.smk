# Relevance maps of every configured method for every clip of a bucket of videos (one model load
# per bucket; one shard per video in the bucket's folder).


rule fetch_i3d_weights:
    output:
        f"{RESOURCES}/models/i3d_kinetics400.safetensors",
    log:
        f"{RESULTS}/logs/fetch_i3d_weights.log",
    conda:
        "../../envs/videoxai.yaml"
    script:
        "../../scripts/fetch_i3d_weights.py"


rule explain:
    input:
        unpack(explain_inputs),
    output:
        directory(bucket_folder("explain")),
    log:
        f"{RESULTS}/logs/explain/{{bucket}}.log",
    conda:
        "../../envs/videoxai.yaml"
    threads: config["explain"]["threads"]
    resources:
        gpu=config["explain"]["gpus"],
        mem_mb=config["explain"]["mem_mb"],
    params:
        model={**{key: config["model"][key] for key in ("name", "options", "spec")}, "weights": MODEL_WEIGHTS},
        methods=METHODS,
        method_options=config["explain"]["options"],
        target=config["explain"]["target"],
        # only a label target reads the map: a new map must not rerun top-1 explanations
        label_map=(config["videos"]["label_map"] if config["explain"]["target"] == "label" else None),
        videos=lambda wildcards: BUCKETS[wildcards.bucket],
        stills=STILLS,
    script:
        "../../scripts/explain.py"
