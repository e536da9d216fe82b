"""Rule flow: Farnebäck flow between consecutive frames of each clip -> float16 (N, T, H, W, 2).

With flow.camera.compensate, the camera's (global) motion of every frame pair is fitted robustly
(videoxai.motion.flow.compensate_camera) and the flow shard also holds the residual, object motion
(``object_flow``), the fitted maps (``camera_transform``) and their RANSAC inlier shares.
"""

from _stage import logged, run_stage

from videoxai.motion.flow import compensate_camera, farneback_clips, split_flow_settings
from videoxai.data.shards import read_shard

settings, camera = split_flow_settings(snakemake.params.farneback)
compensate = bool(camera.pop("compensate"))


def compute():
    clips = read_shard(snakemake.input.clips, names=["clips"]).arrays["clips"]
    flow = farneback_clips(clips, **settings)
    arrays = {"flow": flow.astype("float16")}
    attributes = {"pairing": "frame t: flow t->t+1; last frame: flow t-1->t", "camera_compensated": compensate}
    if compensate:
        fitted = compensate_camera(flow, **camera)
        arrays["object_flow"] = fitted["object_flow"].astype("float16")
        arrays["camera_transform"] = fitted["camera_transform"]
        arrays["camera_inliers"] = fitted["camera_inliers"]
    return arrays, attributes


with logged(snakemake):
    run_stage(
        snakemake,
        "flow",
        compute,
        upstream=[snakemake.input.clips],
        config={"farneback": settings, "camera": {"compensate": compensate, **camera}},
    )
