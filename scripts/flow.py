"""Rule flow: Farnebäck flow of each clip (and, with flow.camera.compensate, the object motion)."""

from _stage import logged

from videoxai.study.per_video import flow_video

with logged(snakemake):
    flow_video(snakemake.output[0], snakemake.wildcards.video, snakemake.input.clips, snakemake.params.farneback)
