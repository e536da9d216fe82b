# Faithfulness of every method's maps, baseline and selective, and of a random reference map:
# deletion / insertion (runs the model on perturbed clips), pointing game, smoothness.
# Its own rule, not part of explain: changing its settings reruns only this and the aggregate.


rule faithfulness:
    input:
        unpack(faithfulness_inputs),
    output:
        directory(bucket_folder("faithfulness")),
    log:
        f"{RESULTS}/logs/faithfulness/{{bucket}}.log",
    conda:
        "../../envs/videoxai.yaml"
    threads: config["explain"]["threads"]
    resources:
        gpu=config["explain"]["gpus"],
        mem_mb=config["explain"]["mem_mb"],
    params:
        videos=lambda wildcards: BUCKETS[wildcards.bucket],
        explain_shards=lambda wildcards: bucket_shards("explain", wildcards.bucket),
        model={**{key: config["model"][key] for key in ("name", "options", "spec")}, "weights": MODEL_WEIGHTS},
        methods=METHODS,
        n=config["selective"]["n"],
        # batch_size changes memory only, never the rows: it is read from the config, not a param
        settings={key: value for key, value in config["faithfulness"].items() if key not in ("enabled", "batch_size")},
    script:
        "../../scripts/faithfulness.py"
