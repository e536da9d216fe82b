"""Rule decode: one video -> uint8 clips (N, T, H, W, 3) in a `clips` shard, or its failure reason."""

from _stage import logged

from videoxai.study.per_video import decode_video

with logged(snakemake):
    decode_video(snakemake.output[0], snakemake.params.video, snakemake.params.geometry, snakemake.params.clips)
