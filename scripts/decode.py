"""Rule decode: one video -> uint8 clips (N, T, H, W, 3) in a `clips` shard, or its failure reason."""

from types import SimpleNamespace

from _stage import logged, run_stage

from videoxai.core.errors import VideoXAIError
from videoxai.data.video import decode_clips

video = snakemake.params.video
geometry = snakemake.params.geometry
clips = snakemake.params.clips
config = {"geometry": geometry, "clips": clips}
# Only the input geometry of the model is needed here, never the network.
spec = SimpleNamespace(
    num_frames=clips["length"],
    size=geometry["size"],
    resize_short_side=geometry["resize_short_side"],
    resize_hw=tuple(geometry["resize_hw"]) if geometry["resize_hw"] else None,
)


def compute():
    try:
        decoded = decode_clips(
            video["path"], spec, clip_length=clips["length"], stride=clips["stride"], max_clips=clips["max_per_video"]
        )
    except VideoXAIError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever breaks while reading one file is that file's problem
        raise VideoXAIError(f"cannot decode ({type(error).__name__}: {error})", video["path"]) from error
    arrays = {"clips": decoded.clips, "frame_indices": decoded.frame_indices}
    attributes = {
        "fps": decoded.fps,
        "source_height": decoded.source_size[0],
        "source_width": decoded.source_size[1],
        "source_num_frames": decoded.num_frames,
    }
    return arrays, attributes


with logged(snakemake):
    run_stage(
        snakemake,
        "clips",
        compute,
        upstream=[],
        config=config,
        attributes={"video_path": video["path"], "label": video["label"] or ""},
    )
