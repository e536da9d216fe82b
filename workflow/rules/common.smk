# Configuration parsed once, the video listing, and the input functions of every rule.
import os
import sys

try:
    import videoxai
except ImportError:  # running snakemake from an environment without the package: use src/
    sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from videoxai.dataset_listing import list_videos
from videoxai.explain import FLOW_METHODS
from videoxai.plots import FIGURE_NAMES
from videoxai.metrics import tau_for_resolution
from videoxai.models.torchvision_video import input_geometry
from videoxai.tables import TABLE_NAMES

RESULTS = config["results"].rstrip("/")
RESOURCES = config["resources"].rstrip("/")
SAMPLE_VIDEOS_DIR = f"{RESOURCES}/sample_videos"

# Pre-crop geometry of the shipped models, so decoding never has to build a network.
SHIPPED_GEOMETRY = {
    "i3d_kinetics400": {"size": 224, "resize_short_side": 256, "resize_hw": None},
    "c3d": {"size": 112, "resize_short_side": None, "resize_hw": [128, 171]},
}


def decode_geometry(model):
    """size / resize_short_side / resize_hw of the model input: the shipped table, overridden by model.spec."""
    geometry = dict(SHIPPED_GEOMETRY.get(model["name"]) or input_geometry(model["name"]) or {})
    for key in ("size", "resize_short_side", "resize_hw"):
        if model.get("spec") and key in model["spec"]:
            geometry[key] = model["spec"][key]
    if "size" not in geometry:
        raise WorkflowError(
            f"model {model['name']!r} is not shipped: give model.spec with at least `size` "
            "(and resize_short_side or resize_hw) in the config"
        )
    geometry.setdefault("resize_short_side", None)
    geometry.setdefault("resize_hw", None)
    return geometry


def listing_settings(videos):
    settings = dict(videos)
    if settings["source"] == "sample_videos":
        settings["root"] = settings.get("root") or SAMPLE_VIDEOS_DIR
    elif not settings.get("root") and settings["source"] != "csv":
        raise WorkflowError(f"videos.root is required for videos.source {settings['source']!r}")
    if settings["source"] == "ucf101" and not settings["ucf101"].get("split_dir"):
        raise WorkflowError("videos.ucf101.split_dir is required for videos.source ucf101")
    return settings


VIDEO_SETTINGS = listing_settings(config["videos"])
VIDEOS = list_videos(VIDEO_SETTINGS)
VIDEO_BY_ID = {entry.video_id: entry for entry in VIDEOS}
GEOMETRY = decode_geometry(config["model"])
METHODS = list(config["explain"]["methods"])
# The tau the tables and figures headline: the configured one nearest to the calibrated
# threshold for this clip size (flow grows with resolution: 1 px/frame at 112, 2 at 224).
HEADLINE_TAU = min(config["metrics"]["tau"], key=lambda tau: (abs(tau - tau_for_resolution(GEOMETRY["size"])), tau))
FAITHFULNESS = config["faithfulness"]["enabled"]
def model_weights(model):
    """The weight file explain reads, declared as input so new weights rerun explain (None = the factory's own init)."""
    if model["weights"]:
        return model["weights"]
    if model["name"] == "i3d_kinetics400":
        return f"{RESOURCES}/models/i3d_kinetics400.safetensors"  # made by rule fetch_i3d_weights
    return None


MODEL_WEIGHTS = model_weights(config["model"])
VIDEO_GROUP = "video" if config["grouping"]["videos_per_job"] > 1 else None

if not VIDEOS:
    raise WorkflowError(f"no videos found for videos = {VIDEO_SETTINGS}")


def video_file(wildcards):
    """The video as a rule input, so a changed file reruns its jobs. A listed file that does
    not exist is no input at all: decode then records it as a failed video."""
    entry = VIDEO_BY_ID[wildcards.video]
    if VIDEO_SETTINGS["source"] == "sample_videos" or os.path.exists(entry.path):
        return entry.path
    return []


def video_entry(wildcards):
    entry = VIDEO_BY_ID[wildcards.video]
    return {"video_id": entry.video_id, "path": entry.path, "label": entry.label}


def shard(stage, video="{video}"):
    return f"{RESULTS}/{stage}/{video}.h5"


def shards(stage):
    return [shard(stage, entry.video_id) for entry in VIDEOS]


def log_file(stage):
    return f"{RESULTS}/logs/{stage}/{{video}}.log"


# The per-video shards whose failures collect_failures lists (each passes on upstream failures).
FINAL_SHARDS = shards("metrics") + (shards("faithfulness") if FAITHFULNESS else [])


def study_targets():
    """Targets of the default target: every per-video final shard, the failures and the tables."""
    return [
        *FINAL_SHARDS,
        *[f"{RESULTS}/tables/{name}.csv" for name in TABLE_NAMES],
        *([f"{RESULTS}/figures/cfp_pyramid.png"] if "cfp" in METHODS else []),
        *[f"{RESULTS}/figures/{name}.png" for name in FIGURE_NAMES],
        *[f"{RESULTS}/figures/example_{rank}.png" for rank in range(1, config["report"]["examples"] + 1)],
        f"{RESULTS}/failed_videos.csv",
    ]


FLOW_METHODS_CONFIGURED = [method for method in METHODS if method in FLOW_METHODS]


def explain_inputs(wildcards):
    """Clips and weights; the flow shard only when a flow method is configured, so the paper's
    four methods never wait for (or rerun after) the flow stage."""
    inputs = {"clips": shard("clips"), "weights": MODEL_WEIGHTS or []}
    if FLOW_METHODS_CONFIGURED:
        inputs["flow"] = shard("flow")
    return inputs


def faithfulness_inputs(wildcards):
    """Clips (deletion/insertion runs the model on them), relevance, selective maps, weights and
    the annotation file when one is given."""
    inputs = {
        "clips": shard("clips"),
        "explain": shard("explain"),
        "selective": shard("selective"),
        "weights": MODEL_WEIGHTS or [],
    }
    if config["faithfulness"]["annotations"]:
        inputs["annotations"] = config["faithfulness"]["annotations"]
    return inputs


def metric_tables():
    """The per-video tables the aggregate reads: motion metrics, and faithfulness when enabled."""
    return {"metrics": shards("metrics"), "faithfulness": shards("faithfulness") if FAITHFULNESS else []}
