# Configuration parsed once, the video listing, and the input functions of every rule.
import json
import os
import sys

try:
    import videoxai
except ImportError:  # running snakemake from an environment without the package: use src/
    sys.path.insert(0, os.path.join(workflow.basedir, "src"))

# Only torch-free modules here: building the DAG never imports torch, zennit or seaborn.
from videoxai.core.batching import assign_buckets, spread_selection
from videoxai.core.errors import ConfigurationError
from videoxai.core.headline import headline_n, headline_tau
from videoxai.core.methods import FLOW_METHODS
from videoxai.core.outputs import ABSENT_REASONS as TABLE_ABSENT_REASONS
from videoxai.core.outputs import FIGURE_NAMES
from videoxai.core.study_config import check_study_config, decode_geometry, trained_weights
from videoxai.data.listing import list_videos

# Settings mistakes stop here, before the DAG is built, with a message naming the key.
try:
    check_study_config(config)
    GEOMETRY = decode_geometry(config["model"])
except ConfigurationError as error:
    raise WorkflowError(str(error)) from None

RESULTS = config["results"].rstrip("/")
RESOURCES = config["resources"].rstrip("/")
SAMPLE_VIDEOS_DIR = f"{RESOURCES}/sample_videos"


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
METHODS = list(config["explain"]["methods"])
# The tau and n every table, figure, example and the front page headline (videoxai.core.headline):
# the configured tau nearest the threshold calibrated for this clip size (flow grows with
# resolution: 1 px/frame at 112, 2 at 224), and the configured n nearest the paper's n = 4.
HEADLINE_TAU = headline_tau(config["metrics"]["tau"], GEOMETRY["size"])
HEADLINE_N = headline_n(config["selective"]["n"])
# Still copies of every clip (its middle frame repeated) are explained when the static control,
# the calibrated test or the behavioural test needs them; shifted ones for the calibrated test's
# null, shuffled ones' logits for the behaviour (videoxai.explain.batched.StillCopies).
CALIBRATION = config["selective"]["calibration"]["enabled"]
BEHAVIOUR = config["behaviour"]["enabled"]
STILLS = (
    {
        "shifts": config["selective"]["calibration"]["shifts"] if CALIBRATION else 0,
        "shuffles": config["behaviour"]["shuffles"] if BEHAVIOUR else 0,
        "seed": config["behaviour"]["seed"],
    }
    if (config["static_control"]["enabled"] or CALIBRATION or BEHAVIOUR)
    else None
)
CALIBRATION_NULL = f"{RESULTS}/calibration/null.npz"
FAITHFULNESS = config["faithfulness"]["enabled"]
# Why a table can be absent in this study; the aggregate logs it and the report's front page says it.
ABSENT_REASONS = {
    **TABLE_ABSENT_REASONS,
    **({} if FAITHFULNESS else {"faithfulness": "faithfulness is off (faithfulness.enabled: false)"}),
}
FRONT_PAGE = f"{RESULTS}/report/summary.rst"


def table_status():
    """status.json of the last aggregate: which tables exist, and why the others do not."""
    path = f"{RESULTS}/tables/status.json"
    if not os.path.exists(path):
        return {"written": [], "absent": {}}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


# Example overlay videos in the report: as many as the Figure-3 examples, at most three.
EXAMPLE_VIDEOS = min(config["report"]["examples"], 3)


def model_weights(model):
    """The weight file explain reads, declared as input so new weights rerun explain (None = the factory's own init)."""
    if model["weights"]:
        return model["weights"]
    if model["name"] == "i3d_kinetics400":
        return f"{RESOURCES}/models/i3d_kinetics400.safetensors"  # made by rule fetch_i3d_weights
    return None


MODEL_WEIGHTS = model_weights(config["model"])
ANNOTATIONS = config["faithfulness"]["annotations"] if FAITHFULNESS else None
# Written by rule preflight; every per-video job waits for it.
PREFLIGHT = f"{RESULTS}/preflight.json"

if not VIDEOS:
    raise WorkflowError(f"no videos found for videos = {VIDEO_SETTINGS}")

# The stages that load a model (explain, faithfulness) run one job per bucket of videos, so the
# model is loaded once per bucket; a video's bucket depends only on its id (videoxai.core.batching).
BUCKETS = assign_buckets([entry.video_id for entry in VIDEOS], config["explain"]["videos_per_job"])
BUCKET_OF = {video: bucket for bucket, members in BUCKETS.items() for video in members}


def video_file(wildcards):
    """The video as a rule input, so a changed file reruns its jobs. A listed path that is not a
    file (missing, or a directory) is no input at all: decode then records it as a failed video
    with the reason."""
    entry = VIDEO_BY_ID[wildcards.video]
    if VIDEO_SETTINGS["source"] == "sample_videos" or os.path.isfile(entry.path):
        return entry.path
    return []


def video_entry(wildcards):
    entry = VIDEO_BY_ID[wildcards.video]
    return {"video_id": entry.video_id, "path": entry.path, "label": entry.label}


def shard(stage, video="{video}"):
    return f"{RESULTS}/{stage}/{video}.h5"


def shards(stage):
    return [shard(stage, entry.video_id) for entry in VIDEOS]


def bucket_folder(stage, bucket="{bucket}"):
    """The folder a bucket job of a model stage writes, one shard per video inside."""
    return f"{RESULTS}/{stage}/{bucket}"


def bucket_shard(stage, video):
    """Where a model stage wrote one video's shard: inside its bucket's folder. Rules read it
    through params (Snakemake tracks the folder, declared as input, not the files in it)."""
    return f"{bucket_folder(stage, BUCKET_OF[video])}/{video}.h5"


def bucket_shards(stage, bucket):
    return [bucket_shard(stage, video) for video in BUCKETS[bucket]]


def video_bucket_folder(stage):
    """Input function: the bucket folder of stage ``stage`` that holds this video's shard."""
    return lambda wildcards: bucket_folder(stage, BUCKET_OF[wildcards.video])


def video_bucket_shard(stage):
    """Params function: this video's shard inside that folder."""
    return lambda wildcards: bucket_shard(stage, wildcards.video)


def log_file(stage):
    return f"{RESULTS}/logs/{stage}/{{video}}.log"


# The randomisation test runs on at most randomisation.videos videos, spread evenly over the
# listing (classes are listed together, so every class gets its share); buckets as explain's.
RANDOMISATION = config["randomisation"]["enabled"]
RANDOMISATION_METHODS = list(config["randomisation"]["methods"] or METHODS)
RANDOMISATION_VIDEOS = (
    spread_selection([entry.video_id for entry in VIDEOS], config["randomisation"]["videos"]) if RANDOMISATION else []
)
RANDOMISATION_BUCKETS = {
    bucket: [video for video in members if video in set(RANDOMISATION_VIDEOS)]
    for bucket, members in BUCKETS.items()
    if set(members) & set(RANDOMISATION_VIDEOS)
}


# The per-video shards whose failures collect_failures lists (each passes on upstream failures),
# and what the rule takes as input to have them.
FINAL_SHARDS = (
    shards("metrics")
    + ([bucket_shard("faithfulness", video) for video in BUCKET_OF] if FAITHFULNESS else [])
    + [bucket_shard("randomisation", video) for video in RANDOMISATION_VIDEOS]
)
FINAL_INPUTS = (
    shards("metrics")
    + ([bucket_folder("faithfulness", bucket) for bucket in BUCKETS] if FAITHFULNESS else [])
    + [bucket_folder("randomisation", bucket) for bucket in RANDOMISATION_BUCKETS]
)
EXPLAIN_SHARDS = [bucket_shard("explain", entry.video_id) for entry in VIDEOS]


GROUND_TRUTH_ENABLED = config["ground_truth"]["enabled"]
# The benchmark's outputs, in the default target and on the front page when it is on.
GROUND_TRUTH_OUTPUTS = (
    {
        "table": f"{RESULTS}/tables/ground_truth.csv",
        "figure": f"{RESULTS}/figures/ground_truth.png",
        "meta": [f"{RESULTS}/ground_truth/{model}.json" for model in ("motion", "context")],
    }
    if GROUND_TRUTH_ENABLED
    else {}
)


def shown_path(path):
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def study_summary():
    """What this study runs, said when the DAG is built (a dry run shows it too): the config files
    read, and the settings that decide how much work it is."""
    sources = [shown_path(path) for path in workflow.configfiles]
    if workflow.config_settings.config:
        sources.append("--config")
    clips = config["clips"]
    per_video = (
        f"at most {clips['max_per_video']} clip{'s' if clips['max_per_video'] > 1 else ''} per video"
        if clips["max_per_video"]
        else "every clip of each video (clips.max_per_video: null)"
    )
    switches = ", ".join(
        f"{label} {'on' if on else 'off'}"
        for label, on in (
            ("ground-truth benchmark", GROUND_TRUTH_ENABLED),
            ("static control", config["static_control"]["enabled"]),
            ("faithfulness", FAITHFULNESS),
            ("randomisation test", RANDOMISATION),
        )
    )
    return (
        f"videoxai: settings from {', '.join(sources)}; every key they do not set takes the schema's default\n"
        f"videoxai: {len(VIDEOS)} videos ({VIDEO_SETTINGS['source']}), model {config['model']['name']}, "
        f"methods {', '.join(METHODS)}, n = {config['selective']['n']}, tau = {config['metrics']['tau']}, "
        f"clips of {clips['length']} frames, {per_video}; {switches}; results in {RESULTS}/"
    )


def study_targets():
    """Targets of the default target: every per-video final shard, the failures and the tables
    (the ground-truth benchmark's table and figure first, when it is on)."""
    return [
        *([GROUND_TRUTH_OUTPUTS["table"], GROUND_TRUTH_OUTPUTS["figure"]] if GROUND_TRUTH_ENABLED else []),
        *FINAL_INPUTS,
        f"{RESULTS}/tables/status.json",
        f"{RESULTS}/report/summary.rst",
        *[f"{RESULTS}/report/example_{rank}.html" for rank in range(1, EXAMPLE_VIDEOS + 1)],
        *([f"{RESULTS}/figures/cfp_pyramid.png"] if "cfp" in METHODS else []),
        *[f"{RESULTS}/figures/{name}.png" for name in FIGURE_NAMES],
        *[f"{RESULTS}/figures/example_{rank}.png" for rank in range(1, config["report"]["examples"] + 1)],
        f"{RESULTS}/failed_videos.csv",
        *([f"{RESULTS}/tables/static_control.csv"] if config["static_control"]["enabled"] else []),
        *([f"{RESULTS}/tables/randomisation.csv"] if RANDOMISATION else []),
    ]


FLOW_METHODS_CONFIGURED = [method for method in METHODS if method in FLOW_METHODS]


def explain_inputs(wildcards):
    """Clips of the bucket's videos and the weights; their flow shards only when a flow method is
    configured, so the paper's four methods never wait for (or rerun after) the flow stage."""
    videos = BUCKETS[wildcards.bucket]
    inputs = {
        "clips": [shard("clips", video) for video in videos],
        "weights": MODEL_WEIGHTS or [],
        "preflight": PREFLIGHT,
    }
    if FLOW_METHODS_CONFIGURED:
        inputs["flow"] = [shard("flow", video) for video in videos]
    return inputs


def selective_inputs(wildcards):
    """The explain shards of the video's bucket; the study's pooled null when the calibrated test
    is on."""
    inputs = {"explain": bucket_folder("explain", BUCKET_OF[wildcards.video])}
    if CALIBRATION:
        inputs["null"] = CALIBRATION_NULL
    return inputs


def faithfulness_inputs(wildcards):
    """Clips of the bucket's videos (deletion/insertion runs the model on them), their relevance,
    selective maps, the weights and the annotation file when one is given."""
    videos = BUCKETS[wildcards.bucket]
    inputs = {
        "clips": [shard("clips", video) for video in videos],
        "explain": bucket_folder("explain", wildcards.bucket),
        "selective": [shard("selective", video) for video in videos],
        "weights": MODEL_WEIGHTS or [],
        "preflight": PREFLIGHT,
    }
    if ANNOTATIONS:
        inputs["annotations"] = ANNOTATIONS
    return inputs


def randomisation_inputs(wildcards):
    """Clips of the bucket's chosen videos (the test re-runs the model on them) and the weights."""
    return {
        "clips": [shard("clips", video) for video in RANDOMISATION_BUCKETS[wildcards.bucket]],
        "weights": MODEL_WEIGHTS or [],
        "preflight": PREFLIGHT,
    }


def metric_tables():
    """The per-video tables the aggregate reads: motion metrics, and faithfulness when enabled
    (as bucket folders; the shards inside are passed as params)."""
    return {
        "metrics": shards("metrics"),
        "faithfulness": [bucket_folder("faithfulness", bucket) for bucket in BUCKETS] if FAITHFULNESS else [],
    }
