# Training C3D on a UCF-101 split with the paper's recipe (Hiley et al. 2020, §4.2).
# Needs only config["train"] (keys and defaults in the schema; docs/c3d.md); the explain rules
# read `model` as their C3D weights. Resumable: checkpoint.pth in `out` is not a declared output,
# so an interrupted job picks up from its last checkpoint when it is run again.

TRAIN = config["train"]
TRAIN_OUT = TRAIN["out"].rstrip("/")
TRAIN_SPLITS = TRAIN["splits"].rstrip("/")
TRAIN_SPLIT = TRAIN["split"]


rule train_model:
    input:
        class_index=f"{TRAIN_SPLITS}/classInd.txt",
        train_list=f"{TRAIN_SPLITS}/trainlist{TRAIN_SPLIT:02d}.txt",
        test_list=f"{TRAIN_SPLITS}/testlist{TRAIN_SPLIT:02d}.txt",
    output:
        model=trained_weights(config),
        metrics=f"{TRAIN_OUT}/metrics.json",
        log_csv=f"{TRAIN_OUT}/log.csv",
    log:
        f"{TRAIN_OUT}/train_model.log",
    conda:
        "../../envs/videoxai.yaml"
    threads: TRAIN["threads"]
    resources:
        mem_mb=TRAIN["mem_mb"],
    params:
        root=TRAIN["root"],
        split=TRAIN_SPLIT,
        # the folder of the declared outputs, where checkpoint.pth (undeclared, for resuming) lives
        out=lambda wildcards, output: os.path.dirname(output.metrics),
        settings={
            key: TRAIN[key]
            for key in (
                "width",
                "iterations",
                "batch_size",
                "lr",
                "momentum",
                "weight_decay",
                "checkpoint_every",
                "seed",
                "test_max_clips",
                "mean",
                "cache_gb",
                "device",
            )
            if TRAIN[key] is not None
        },
        init=TRAIN["init"],
    script:
        "../../scripts/train_model.py"
