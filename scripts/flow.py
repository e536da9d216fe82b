"""Rule flow: Farnebäck flow between consecutive frames of each clip -> float16 (N, T, H, W, 2)."""

from _stage import logged, run_stage

from videoxai.flow import farneback_clips
from videoxai.shards import read_shard

parameters = dict(snakemake.params.farneback)


def compute():
    clips = read_shard(snakemake.input.clips, names=["clips"]).arrays["clips"]
    flow = farneback_clips(clips, **parameters)
    return {"flow": flow.astype("float16")}, {"pairing": "frame t: flow t->t+1; last frame: flow t-1->t"}


with logged(snakemake):
    run_stage(snakemake, "flow", compute, upstream=[snakemake.input.clips], config={"farneback": parameters})
