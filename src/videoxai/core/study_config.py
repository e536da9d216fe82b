"""A study's configuration, checked once at the edge, without importing torch.

The workflow calls :func:`check_study_config` while it builds its DAG: a mistyped method, option,
model name, weight file or annotation file then stops the run with a message naming the key,
before any job starts. What needs the network built (weights that do not fit, a method that
refuses the architecture, a model that rejects the input size) is checked by the preflight
(:func:`videoxai.study.explain.preflight`), which every per-video job waits for.
"""

from __future__ import annotations

import os

from videoxai.core.annotations import read_annotations
from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.core.label_map import check_label_map_classes, read_label_map
from videoxai.core.methods import FLOW_METHODS, check_methods
from videoxai.core.model_inputs import NAMES as TORCHVISION_NAMES
from videoxai.core.model_inputs import PREFIX as TORCHVISION_PREFIX
from videoxai.core.model_inputs import SHIPPED_GEOMETRY, shipped_geometry

# The clips of the ground-truth benchmark (videoxai.ground_truth.generator.SceneSettings: 16 frames
# of 32 x 32 pixels), here so that the DAG-time checks need no torch; tests/test_study_config.py
# checks them against the generator.
GROUND_TRUTH_CLIP: dict[str, int] = {"frames": 16, "size": 32}

# Pre-crop input geometry of the shipped models, so decoding never has to build a network
# (tests/test_workflow_listing.py checks it against the loaders' specs).
# Keys of model.spec (fields of videoxai.models.spec.ModelSpec a user may set, plus two
# shorthands for the class names); kept here so the check needs no torch.
SPEC_KEYS: tuple[str, ...] = (
    "num_frames",
    "size",
    "resize_short_side",
    "resize_hw",
    "scale",
    "offset",
    "mean",
    "std",
    "class_names",
    "num_classes",
    "class_names_file",
)


def is_shipped(name: str) -> bool:
    return shipped_geometry(name) is not None


def decode_geometry(model: dict) -> dict:
    """``size`` / ``resize_short_side`` / ``resize_hw`` of the model input: the shipped model's,
    overridden key by key by ``model.spec`` (the same merge the model loader applies)."""
    geometry = shipped_geometry(model["name"]) or {}
    for key in ("size", "resize_short_side", "resize_hw"):
        if model.get("spec") and key in model["spec"]:
            geometry[key] = model["spec"][key]
    if "size" not in geometry:
        raise ConfigurationError(
            f"model {model['name']!r} is not shipped: give model.spec with at least `size` "
            "(and resize_short_side or resize_hw)",
            "model.spec",
        )
    geometry.setdefault("resize_short_side", None)
    geometry.setdefault("resize_hw", None)
    return geometry


# The weight file rule train_model (workflow/rules/train.smk) writes when ``train.model`` does not
# name one; config/ucf101.yaml explains with the C3D it trains.
TRAINED_WEIGHTS = "resources/models/c3d_ucf101.safetensors"


def trained_weights(config: dict) -> str:
    """The weight file the workflow's training rule writes for this config."""
    return str((config.get("train") or {}).get("model") or TRAINED_WEIGHTS)


def check_model(model: dict, made_by_workflow: str | None = None) -> None:
    """The model's name, spec keys and weight file, as far as they can be checked without torch.

    ``made_by_workflow``: a weight file a rule of the workflow writes (the trained C3D), which
    need not exist yet.
    """
    name = model["name"]
    if name.startswith(TORCHVISION_PREFIX) and not is_shipped(name):
        raise ConfigurationError(
            f"unknown torchvision video network {name!r}: use one of {list(TORCHVISION_NAMES)}", "model.name"
        )
    if not is_shipped(name) and ":" not in name:
        raise ConfigurationError(
            f"unknown model {name!r}: use one of {sorted(SHIPPED_GEOMETRY)}, "
            "torchvision:<network> or 'package.module:factory'",
            "model.name",
        )
    spec = model.get("spec") or {}
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown key {unknown[0]!r}: model.spec takes {list(SPEC_KEYS)}", f"model.spec.{unknown[0]}"
        )
    if not is_shipped(name) and ":" in name and not ({"num_classes", "class_names", "class_names_file"} & set(spec)):
        raise ConfigurationError(
            f"model {name!r} is your own factory: give num_classes, class_names or class_names_file in model.spec",
            "model.spec",
        )
    weights = model.get("weights")
    made = weights and made_by_workflow and os.path.normpath(weights) == os.path.normpath(made_by_workflow)
    if weights and not made and not os.path.isfile(weights):
        raise ConfigurationError(f"weight file {weights!r} not found", "model.weights")
    names_file = spec.get("class_names_file")
    if names_file and not os.path.isfile(names_file):
        raise ConfigurationError(f"class names file {names_file!r} not found", "model.spec.class_names_file")
    decode_geometry(model)


def check_motion(config: dict) -> None:
    """``metrics.motion`` against the flow stage: compensated motion needs the camera fit."""
    metrics = config.get("metrics", {})
    motion = metrics.get("motion", "raw")
    if motion not in ("raw", "compensated"):
        raise ConfigurationError(f"must be 'raw' or 'compensated', got {motion!r}", "metrics.motion")
    camera = (config.get("flow") or {}).get("camera") or {}
    if motion == "compensated" and not camera.get("compensate", False):
        raise ConfigurationError(
            "compensated motion needs the camera fit of the flow stage: set flow.camera.compensate: true",
            "metrics.motion",
        )


def known_class_names(model: dict) -> list[str] | None:
    """The model's class names where they are known without building it (the shipped I3D's
    Kinetics-400 names, ``model.spec.class_names`` or ``class_names_file``), else None."""
    spec = model.get("spec") or {}
    if spec.get("class_names"):
        return [str(name) for name in spec["class_names"]]
    names_file = spec.get("class_names_file")
    if names_file and os.path.isfile(names_file):
        with open(names_file, encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip()]
    if model["name"] == "i3d_kinetics400" and not model.get("options"):
        from importlib import resources

        text = resources.files("videoxai.models").joinpath("data/kinetics400_labels.txt").read_text("utf-8")
        return [line.strip() for line in text.splitlines() if line.strip()]
    return None


def check_labels(config: dict) -> None:
    """``videos.label_map`` must be readable and name only classes the model has (when they are
    known without torch); ``explain.target`` must be one of top1/label."""
    mapping = read_label_map(config.get("videos", {}).get("label_map"))
    names = known_class_names(config["model"]) if mapping else None
    if names:
        check_label_map_classes(mapping, names)
    target = config.get("explain", {}).get("target", "top1")
    if target not in ("top1", "label"):
        raise ConfigurationError(f"use top1 or label, got {target!r}", "explain.target")


def check_randomisation(config: dict) -> None:
    """The randomisation test re-runs methods from explain.methods with their options; flow
    methods would need flow of the randomised model's input, which the stage does not read."""
    settings = config.get("randomisation") or {}
    if not settings.get("enabled"):
        return
    configured = list(config["explain"]["methods"])
    chosen = list(settings.get("methods") or configured)
    unknown = [method for method in chosen if method not in configured]
    if unknown:
        raise ConfigurationError(
            f"{unknown} not in explain.methods {configured}; the test re-runs configured methods only",
            "randomisation.methods",
        )
    flow = [method for method in chosen if method in FLOW_METHODS]
    if flow:
        raise ConfigurationError(
            f"{flow} read optical flow, which the randomisation test does not provide; list the other methods",
            "randomisation.methods",
        )


# Deletion/insertion with K steps measures the model at K + 1 removed fractions 0, 1/K, ..., 1. The
# two ends (the clip itself, the baseline alone) are the same for every map, so K = 1 gives every
# map, the random one included, the same AUC (and every selective row a difference of 0), and
# K = 2 compares maps at one fraction (half removed). Two points inside, K = 3, is the fewest that
# shows how fast the probability falls, which is what the AUC is meant to measure.
MIN_FAITHFULNESS_STEPS = 3


def check_faithfulness(config: dict) -> None:
    """``faithfulness.steps`` must give deletion/insertion curves that can tell maps apart; the
    annotation file must exist and be read in full."""
    faithfulness = config.get("faithfulness") or {}
    if not faithfulness.get("enabled"):
        return
    steps = faithfulness.get("steps", 16)
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise ConfigurationError(f"must be an integer, got {steps!r}", "faithfulness.steps")
    if steps < MIN_FAITHFULNESS_STEPS:
        raise ConfigurationError(
            f"{steps} step(s) measure deletion/insertion at {steps + 1} points, and the first and last "
            "(nothing and everything removed) are the same for every map: with 1 step every map, the random "
            "one included, gets the same AUC, with 2 maps are compared at a single point; use at least "
            f"{MIN_FAITHFULNESS_STEPS}",
            "faithfulness.steps",
        )
    annotations = faithfulness.get("annotations")
    if annotations:
        if not os.path.isfile(annotations):
            raise ConfigurationError(f"annotation file {annotations!r} not found", "faithfulness.annotations")
        if os.path.splitext(annotations)[1].lower() not in (".csv", ".npz"):
            raise ConfigurationError(
                "annotations must be a .csv (boxes) or .npz (masks) file", "faithfulness.annotations"
            )
        # Read in full here, torch-free, so a broken file stops the run before any job.
        try:
            read_annotations(annotations)
        except VideoXAIError as error:
            raise ConfigurationError(str(error), "faithfulness.annotations") from None


def check_study_config(config: dict) -> None:
    """Every check of a validated (schema defaults filled) study config that needs no torch.

    Raises:
        ConfigurationError: naming the config key at fault.
    """
    check_model(config["model"], made_by_workflow=trained_weights(config))
    check_methods(config["explain"]["methods"], config["explain"]["options"], model_name=config["model"]["name"])
    check_motion(config)
    check_bands(config)
    check_labels(config)
    check_randomisation(config)
    check_faithfulness(config)
    check_ground_truth(config.get("ground_truth") or {})


def check_ground_truth(section: dict) -> None:
    """The ``ground_truth`` section: method names and options, and the architecture's form."""
    if not section.get("enabled"):
        return
    architecture = section.get("architecture") or "videoxai.ground_truth.model:tiny_c3d"
    module, _, factory = architecture.partition(":")
    if not module or not factory:
        raise ConfigurationError(f"must be 'package.module:factory', got {architecture!r}", "ground_truth.architecture")
    if section.get("methods") is not None:
        check_methods(section["methods"], section.get("options") or {}, where="ground_truth")
    elif section.get("options"):
        check_methods([], section["options"], where="ground_truth")


def check_bands(config: dict) -> None:
    """The selective margin and the static control's bands must leave an interior in every clip
    they are cut from.

    The margin (``selective.margin``) meets the model's clips (``clips.length`` frames of the
    model's ``size``) in ``margin`` mode and in the static control, which always reports the margin
    rows too; with ``ground_truth.enabled`` in ``margin`` mode it also meets the benchmark's clips
    (:data:`GROUND_TRUTH_CLIP`, much smaller than any model's). The static control's bands meet the
    model's clips only: the benchmark has no static control.
    """
    length = int((config.get("clips") or {}).get("length") or 16)
    size = int(decode_geometry(config["model"])["size"])
    selective = config.get("selective") or {}
    margin_mode = selective.get("mode", "paper") == "margin"
    control = config.get("static_control") or {}
    control_on = control.get("enabled", True)
    clips = []
    if margin_mode or control_on:
        clips.append(("the model's clips", length, size))
    if margin_mode and (config.get("ground_truth") or {}).get("enabled"):
        clips.append(("the ground-truth benchmark's clips", GROUND_TRUTH_CLIP["frames"], GROUND_TRUTH_CLIP["size"]))
    margin = selective.get("margin") or {}
    for what, frames, pixels in clips:
        for key, limit, extent in (
            ("frames", frames, f"{frames} frames"),
            ("pixels", pixels, f"{pixels} x {pixels} pixels"),
        ):
            # pixels null is 16/224 of each frame, which always leaves an interior
            value = int(margin.get(key) or 0)
            if 2 * value >= limit:
                raise ConfigurationError(
                    f"a margin of {value} at either side leaves nothing of {what} ({extent})",
                    f"selective.margin.{key}",
                )
    if not control_on:
        return
    for key, limit, extent in (
        ("edge_frames", length, f"{length} frames"),
        ("border", size, f"{size} x {size} pixels"),
    ):
        value = int(control.get(key) or 1)
        if 2 * value >= limit:
            raise ConfigurationError(
                f"{value} at either side covers all of the model's clips ({extent})", f"static_control.{key}"
            )
