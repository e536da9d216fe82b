"""Rule cfp_pyramid: the class feature pyramid of the first clip of the first video whose explain
shard holds one (kept kernels per layer and their summed activation, from the explain shard)."""

from pathlib import Path

from _stage import logged

from videoxai.explain.cfp import plot_pyramid, pyramid_from_arrays
from videoxai.data.shards import read_shard

with logged(snakemake) as log:
    output = Path(snakemake.output[0])
    for clips_path, explain_path in zip(snakemake.input.clips, snakemake.params.explain_shards):
        explained = read_shard(explain_path)
        if explained.failed or "cfp/pyramid/layers" not in explained.arrays:
            continue
        pyramid = pyramid_from_arrays(
            explained.arrays, explained.arrays["cfp/relevance"], explained.arrays["cfp/target"]
        )
        frames = read_shard(clips_path, names=["clips"]).arrays["clips"][0]
        figure = plot_pyramid(pyramid, clip=0, frames=frames)
        figure.suptitle(f"Class feature pyramid of {explained.attributes['video_id']}, clip 0", fontsize=10)
        figure.savefig(output, dpi=100)
        log.info("pyramid of %s clip 0 -> %s", explain_path, output)
        break
    else:  # every video failed: still write the declared file, saying so
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6, 2))
        figure.text(0.5, 0.5, "no video has a class feature pyramid (all failed)", ha="center", va="center")
        figure.savefig(output)
        log.info("no pyramid to draw")
