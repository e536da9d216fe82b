"""Rule train_model: train C3D on a UCF-101 split (videoxai.models.training.train_from_split)."""

import os

from _stage import logged

from videoxai.models.training import TrainConfig, train_from_split

with logged(snakemake, threads=True):
    train_from_split(
        root=snakemake.params.root,
        split_dir=os.path.dirname(snakemake.input.class_index) or ".",
        split=snakemake.params.split,
        out_dir=snakemake.params.out,
        config=TrainConfig.from_settings(snakemake.params.settings),
        init=snakemake.params.init,
        resume=True,
        progress=True,
        model_path=snakemake.output.model,
    )
