"""Rule train_model: train C3D on a UCF-101 split; all the work is videoxai.models.training.train_from_split."""

import os
import sys

import torch

# In a conda env from envs/ the library is not installed: _stage puts this checkout's src/ on the path.
import _stage  # noqa: F401

from videoxai.core.errors import VideoXAIError
from videoxai.models.training import TrainConfig, train_from_split

settings = dict(snakemake.params.settings)
cache_gb = float(settings.pop("cache_gb", 4.0))
if "mean" in settings:
    settings["mean"] = tuple(float(value) for value in settings["mean"])

with open(snakemake.log[0], "w", encoding="utf-8") as log:
    sys.stderr = log  # the progress bar and any error go to the rule's log
    torch.set_num_threads(max(1, snakemake.threads))
    try:
        train_from_split(
            root=snakemake.params.root,
            split_dir=os.path.dirname(snakemake.input.class_index) or ".",
            split=snakemake.params.split,
            out_dir=snakemake.params.out,
            config=TrainConfig(cache_bytes=int(cache_gb * (1 << 30)), **settings),
            init=snakemake.params.init,
            resume=True,
            progress=True,
            model_path=snakemake.output.model,
        )
    except VideoXAIError as error:
        print(f"train_model: error: {error}", file=log)
        raise SystemExit(1) from None
