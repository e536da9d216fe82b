# Ground-truth benchmark: synthetic videos with known evidence, a motion-trained and a
# context-trained small 3D CNN, every method scored against the evidence (videoxai.ground_truth.benchmark).
# Models are cached under <resources>/models/ground_truth/ by a hash of their data and training.

GROUND_TRUTH = config["ground_truth"]
GROUND_TRUTH_MODELS = ["motion", "context"]


rule ground_truth:
    output:
        metrics=f"{RESULTS}/ground_truth/{{gt_model}}.csv",
        meta=f"{RESULTS}/ground_truth/{{gt_model}}.json",
    log:
        f"{RESULTS}/logs/ground_truth/{{gt_model}}.log",
    wildcard_constraints:
        gt_model="motion|context",
    conda:
        "../../envs/videoxai.yaml"
    threads: 1
    params:
        settings=GROUND_TRUTH,
        selective=config["selective"],
        flow=config["flow"],
        cache_dir=f"{RESOURCES}/models/ground_truth",
    script:
        "../../scripts/ground_truth.py"


rule ground_truth_table:
    input:
        metrics=expand(f"{RESULTS}/ground_truth/{{gt_model}}.csv", gt_model=GROUND_TRUTH_MODELS),
        meta=expand(f"{RESULTS}/ground_truth/{{gt_model}}.json", gt_model=GROUND_TRUTH_MODELS),
    output:
        csv=f"{RESULTS}/tables/ground_truth.csv",
        md=f"{RESULTS}/tables/ground_truth.md",
        tex=f"{RESULTS}/tables/ground_truth.tex",
        figure=report(
            f"{RESULTS}/figures/ground_truth.png",
            caption="../report/ground_truth.rst",
            category="Ground truth",
        ),
    log:
        f"{RESULTS}/logs/ground_truth_table.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        seed=GROUND_TRUTH["seed"],
        bootstrap=config["metrics"]["bootstrap"],
    script:
        "../../scripts/ground_truth_table.py"
