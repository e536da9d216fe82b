# Training C3D on a UCF-101 split with the paper's recipe (Hiley et al. 2020, §4.2).
# Needs only config["train"] (see docs/c3d.md); the explain rules read `model` as their C3D weights.
# Resumable: checkpoint.pth in `out` is not a declared output, so an interrupted job picks up
# from its last checkpoint when it is run again.

TRAIN = config.get("train", {})
TRAIN_OUT = str(TRAIN.get("out", "resources/models/c3d_ucf101")).rstrip("/")
TRAIN_SPLITS = str(TRAIN.get("splits", "data/ucfTrainTestlist")).rstrip("/")
TRAIN_SPLIT = int(TRAIN.get("split", 1))


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
    threads: int(TRAIN.get("threads", 4))
    resources:
        mem_mb=int(TRAIN.get("mem_mb", 16000)),
    params:
        root=TRAIN.get("root", "data/UCF-101"),
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
            if TRAIN.get(key) is not None
        },
        init=TRAIN.get("init") or None,
    script:
        "../../scripts/train_model.py"
