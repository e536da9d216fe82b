"""Rule static_control: the static-control table and its per-frame figure from every video's
frozen-copy relevance (explain shards) and masks (selective shards).

Rows come for the paper's selective relevance and for the margin mode, so every study shows
what the remedy removes; the masks of the study's own mode are the ones its selective shards
hold, the other mode's are computed here from the same relevance (selective_from_settings).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _stage import logged

from videoxai.core.methods import method_label
from videoxai.motion.selective import DEFAULT_MARGIN, default_border, selective_from_settings
from videoxai.data.shards import n_group, read_shard
from videoxai.evaluation.static_control import (
    PREFIX,
    area_shares,
    artifact_rows,
    caption,
    frame_profile,
    static_control_table,
    write_static_control,
)

params = snakemake.params
methods = list(params.methods)
settings = dict(params.settings)
n_values = [float(n) for n in settings["n"]]
mode = settings.get("mode", "paper")
margin = {**DEFAULT_MARGIN, **(settings.get("margin") or {})}
edge = int(params.control["edge_frames"])

with logged(snakemake) as log:
    frames = []
    profiles = {(definition, method): [] for definition in ("paper", "margin") for method in methods}
    shape = None
    for explain_path, selective_path in zip(params.explain_shards, snakemake.input.selective):
        names = [f"{PREFIX}/{method}/relevance" for method in methods]
        explained = read_shard(explain_path, names=names)
        selected = read_shard(
            selective_path, names=[f"{PREFIX}/{m}/{n_group(n)}/mask" for m in methods for n in n_values]
        )
        if explained.failed or selected.failed:
            log.info("%s: failed upstream, not in the static control", explain_path)
            continue
        video = explained.attributes["video_id"]
        for method in methods:
            relevance = explained.arrays[f"{PREFIX}/{method}/relevance"]
            shape = relevance.shape[1:]
            border = int(params.control["border"] or default_border(min(shape[1:])))
            if margin["pixels"] is None:
                margin["pixels"] = default_border(min(shape[1:]))
            for definition in ("paper", "margin"):
                if definition == mode:
                    masks = {n: selected.arrays[f"{PREFIX}/{method}/{n_group(n)}/mask"] for n in n_values}
                else:
                    result = selective_from_settings(torch.from_numpy(relevance), {**settings, "mode": definition})
                    masks = {n: result.masks[index].numpy() for index, n in enumerate(n_values)}
                frames.append(
                    artifact_rows(video, method, relevance, masks, definition=definition, edge=edge, border=border)
                )
                profiles[(definition, method)].append(masks[n_values[len(n_values) // 2]])
    if not frames:
        raise RuntimeError("static control: no video has frozen-copy relevance (all failed upstream)")
    rows = pd.concat(frames, ignore_index=True)
    table = static_control_table(rows, order=methods)
    text = caption(area_shares(shape, edge, border), edge, border, margin)
    text += f" The study's selective maps use '{mode}'."
    for path in write_static_control(table, Path(snakemake.output.csv).parent, text):
        log.info("wrote %s", path)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_shown = n_values[len(n_values) // 2]
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for axis, definition in zip(axes, ("paper", "margin")):
        for method in methods:
            profile = frame_profile(profiles[(definition, method)])
            axis.plot(np.arange(len(profile)), profile, marker="o", markersize=3, label=method_label(method))
        axis.axhline(1.0 / shape[0], color="grey", linestyle="--", linewidth=1, label="uniform")
        axis.set_title(f"{definition}, n = {n_shown:g}")
        axis.set_xlabel("frame of the frozen clip")
    axes[0].set_ylabel("share of kept voxels")
    axes[1].legend(fontsize=7)
    figure.suptitle("Static control: where selective relevance keeps voxels on frozen clips", fontsize=9)
    figure.tight_layout()
    figure.savefig(snakemake.output.png, dpi=120)
    log.info("wrote %s", snakemake.output.png)
