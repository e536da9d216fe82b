# Cascading model-parameter randomisation test (Adebayo et al. 2018): every method's maps,
# baseline and selective, recomputed as the model's levels are re-initialised from the top down,
# compared with the trained model's maps. Off unless randomisation.enabled; one job per bucket of
# the chosen videos (model loaded once), one table shard per video; then a table and curves.


rule randomisation:
    input:
        unpack(randomisation_inputs),
    output:
        directory(bucket_folder("randomisation")),
    log:
        f"{RESULTS}/logs/randomisation/{{bucket}}.log",
    conda:
        "../../envs/videoxai.yaml"
    threads: config["explain"]["threads"]
    resources:
        gpu=config["explain"]["gpus"],
        mem_mb=config["explain"]["mem_mb"],
    params:
        videos=lambda wildcards: RANDOMISATION_BUCKETS[wildcards.bucket],
        model={**{key: config["model"][key] for key in ("name", "options", "spec")}, "weights": MODEL_WEIGHTS},
        methods=RANDOMISATION_METHODS,
        method_options={method: config["explain"]["options"].get(method) or {} for method in RANDOMISATION_METHODS},
        selective=config["selective"],
        settings={
            key: value for key, value in config["randomisation"].items() if key not in ("enabled", "methods", "videos")
        },
    script:
        "../../scripts/randomisation.py"


rule randomisation_table:
    input:
        [bucket_folder("randomisation", bucket) for bucket in RANDOMISATION_BUCKETS],
    output:
        csv=f"{RESULTS}/tables/randomisation.csv",
        md=f"{RESULTS}/tables/randomisation.md",
        tex=f"{RESULTS}/tables/randomisation.tex",
        html=report(
            f"{RESULTS}/tables/randomisation.html",
            caption="../report/randomisation_table.rst",
            category="Tables",
            labels={"table": "randomisation"},
        ),
        png=[
            report(
                f"{RESULTS}/figures/randomisation_{method}.png",
                caption="../report/randomisation.rst",
                category="Randomisation test",
                labels={"method": method},
            )
            for method in RANDOMISATION_METHODS
        ],
        pdf=[f"{RESULTS}/figures/randomisation_{method}.pdf" for method in RANDOMISATION_METHODS],
    log:
        f"{RESULTS}/logs/randomisation_table.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        shards=[bucket_shard("randomisation", video) for video in RANDOMISATION_VIDEOS],
        methods=RANDOMISATION_METHODS,
        top_q=config["randomisation"]["top_q"],
        bootstrap=config["metrics"]["bootstrap"],
    script:
        "../../scripts/randomisation_table.py"
