"""Rule example_figures: Figure-3-style grids for the clips whose relevance is most on motion.

Clips are ranked at the tau the tables headline, and the grids show the selective maps at the
n nearest the paper's (both chosen in workflow/rules/common.smk)."""

import pandas as pd
from _stage import logged, shard_of
from matplotlib.figure import Figure

from videoxai.report.figures import figure3_grid, top_clips
from videoxai.data.shards import n_group, read_shard

n = float(snakemake.params.n)


def placeholder(path, message):
    # Fewer good clips than requested examples: the declared file still exists and says why.
    figure = Figure(figsize=(4, 1))
    figure.text(0.5, 0.5, message, ha="center", va="center")
    figure.savefig(path)


with logged(snakemake) as log:
    metrics = pd.read_csv(snakemake.input.metrics)
    best = (
        top_clips(metrics, count=len(snakemake.output), tau=snakemake.params.headline_tau)
        if len(metrics)
        else pd.DataFrame(columns=["video", "clip"])
    )
    for rank, output in enumerate(snakemake.output):
        if rank >= len(best):
            placeholder(output, "no clip for this example (too few videos succeeded)")
            continue
        video, clip = best.loc[rank, "video"], int(best.loc[rank, "clip"])
        clips = read_shard(shard_of(snakemake, "clips", video)).arrays["clips"]
        explained = read_shard(shard_of(snakemake, "explain", video))
        selected = read_shard(shard_of(snakemake, "selective", video))
        methods = [
            name.split("/")[0] for name in explained.arrays if name.endswith("/relevance") and name.count("/") == 1
        ]
        figure3_grid(
            clips[clip],
            {method: explained.arrays[f"{method}/relevance"][clip] for method in methods},
            {method: selected.arrays[f"{method}/{n_group(n)}/map"][clip] for method in methods},
            output,
            title=f"{video}, clip {clip} (selective n = {n:g})",
        )
        log.info("example %d: %s clip %d -> %s", rank + 1, video, clip, output)
