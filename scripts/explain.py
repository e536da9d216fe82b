"""Rule explain: relevance (N, T, H, W), logits, target and seconds per clip for every method,
for every video of one bucket, with the model loaded once (videoxai.study.stages.explain_videos).

Each video gets its own shard in the bucket's folder, written atomically, with its own failure
record: a video that failed upstream, or whose clips cannot be explained, fails alone. Flow
methods get the flow shards (the rule declares them as input only when such a method is
configured). With static_control.enabled, each clip's frozen copy is explained in the same
batches and stored under static_control/ in the shard. Reading the next videos' shards overlaps the model's work (stages.prefetched).
"""

from pathlib import Path

import torch
from _stage import failure_reason, inherit, logged, torch_device, write_failure

from videoxai.core.label_map import class_index, read_label_map
from videoxai.models import load_configured
from videoxai.data.shards import read_shard, write_shard
from videoxai.study.stages import VideoClips, explain_videos, log_to_stderr, prefetched

params = snakemake.params
videos = list(params.videos)
device = torch_device(snakemake.config["device"])
flow_inputs = list(snakemake.input.flow) if "flow" in snakemake.input.keys() else [None] * len(videos)
config = {
    "model": params.model,
    "methods": list(params.methods),
    "method_options": dict(params.method_options),
    "target": params.target,
    "label_map": params.label_map,
}
# With target: label each video's clips explain its true class; a video whose label the model
# does not have (unlabelled, or unmapped by videos.label_map) explains its top-1 predictions.
label_map = read_label_map(params.label_map) if params.target == "label" else {}
class_names = []  # the model's, set once it is loaded
folder = Path(snakemake.output[0])
inherited = {}  # video id -> attributes passed on from its upstream shards


def output_of(video_id):
    return folder / f"{video_id}.h5"


def readable_videos():
    """The bucket's videos whose upstream shards are good; the others get their failed shard here."""
    for video_id, clips_path, flow_path in zip(videos, snakemake.input.clips, flow_inputs):
        upstream = [clips_path] + ([flow_path] if flow_path else [])
        inherited[video_id], failure = inherit(upstream)
        if failure:
            write_failure(
                output_of(video_id),
                "explain",
                video_id,
                failure["reason"],
                failure["failed_stage"],
                config,
                inherited[video_id],
            )
            continue
        clips = read_shard(clips_path, names=["clips"]).arrays["clips"]
        flow = read_shard(flow_path, names=["flow"]).arrays["flow"] if flow_path else None
        target = None
        if params.target == "label":
            target = class_index(inherited[video_id].get("label"), class_names, label_map)
            if target < 0:
                log.info(
                    "%s: label %r is not one of the model's classes: explaining top-1",
                    video_id,
                    inherited[video_id].get("label"),
                )
        yield VideoClips(video_id, clips, flow, target)


with logged(snakemake) as log:
    torch.set_num_threads(max(1, snakemake.threads))
    folder.mkdir(parents=True, exist_ok=True)
    model, spec = load_configured(params.model, device=device)
    class_names.extend(spec.class_names)
    attributes = {
        "model_name": spec.name,
        "model_weights_sha256": spec.weights_sha256 or "",
        "class_names": list(spec.class_names),
        "device": device,
    }
    results = explain_videos(
        model,
        spec,
        prefetched(readable_videos()),
        config["methods"],
        config["method_options"],
        batch_size=snakemake.config["explain"]["batch_size"],
        device=device,
        progress=log_to_stderr,
        static_control=bool(params.static_control),
    )
    for video_id, result in results:
        if isinstance(result, Exception):
            write_failure(
                output_of(video_id), "explain", video_id, failure_reason(result), "explain", config, inherited[video_id]
            )
            continue
        write_shard(
            output_of(video_id),
            "explain",
            result,
            video_id=video_id,
            config=config,
            attributes={**inherited[video_id], **attributes},
        )
        log.info("%s: wrote %s", video_id, output_of(video_id))
    missing = [video for video in videos if not output_of(video).is_file()]
    if missing:
        raise RuntimeError(f"explain wrote no shard for {missing}")
