"""A broken configuration stops the run before any video is processed, with one message that
names the bad key, and writes no table; a broken video still fails alone (tests/test_workflow.py).

Runs on generated videos, so it needs no shared data.
"""

import subprocess
from pathlib import Path

import pytest
import torch
import yaml
from conftest import write_generated_video
from safetensors.torch import save_file
from test_workflow import snakemake

REPO = Path(__file__).resolve().parents[1]
TINY_SPEC = {"num_frames": 8, "size": 32, "resize_short_side": 36, "scale": 1 / 127.5, "offset": -1.0, "num_classes": 3}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("config_error_videos")
    for index, name in enumerate(("A", "B")):
        write_generated_video(root / name / f"{name.lower()}.mp4", seed=index, frames=20, height=48, width=64)
    return root


def run_study(workdir: Path, video_root: Path, **changes) -> subprocess.CompletedProcess:
    config = {
        "videos": {"source": "folder", "root": str(video_root)},
        "model": {"name": "workflow_models:tiny_net", "spec": TINY_SPEC},
        "device": "cpu",
        "clips": {"length": 8, "max_per_video": 1},
        "explain": {"methods": ["gradcam"], "batch_size": 1, "threads": 1},
        "metrics": {"tau": [1.0]},
        "report": {"examples": 0},
        "faithfulness": {"enabled": False},
        "ground_truth": {"enabled": False},
    }
    for key, value in changes.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return snakemake(workdir, check=False)


def assert_stopped_before_any_video(workdir: Path, run: subprocess.CompletedProcess, *messages: str) -> None:
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-3000:]
    for message in messages:
        assert message in output, output[-5000:]
    results = workdir / "results"
    assert not (results / "tables").exists()
    assert not list(results.glob("clips/*.h5")), "a video was decoded despite the configuration error"
    assert not (results / "failed_videos.csv").exists()


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        (
            {"explain": {"methods": ["gradcam"], "options": {"gradcam": {"layr": "3"}}}},
            ["configuration error: explain.options.gradcam.layr", "does not take option 'layr'"],
        ),
        (
            {"explain": {"methods": ["gradcam"], "options": {"gradcma": {"layer": "3"}}}},
            ["explain.options.gradcma: options for an unknown method"],
        ),
        ({"explain": {"methods": ["lrp"]}}, ["'lrp' is not one of"]),
        ({"model": {"name": "no_such_model"}}, ["configuration error: model.name: unknown model 'no_such_model'"]),
        (
            {"model": {"name": "torchvision:r4d_18"}},
            ["configuration error: model.name: unknown torchvision video network 'torchvision:r4d_18'"],
        ),
        (
            {"model": {"name": "workflow_models:tiny_net", "spec": TINY_SPEC, "weights": "missing.safetensors"}},
            ["configuration error: model.weights: weight file 'missing.safetensors' not found"],
        ),
        (
            {"model": {"name": "workflow_models:tiny_net", "spec": {**TINY_SPEC, "sise": 32}}},
            ["configuration error: model.spec.sise: unknown key 'sise'"],
        ),
        (
            {"explain": {"methods": ["saliency_tubes"]}, "model": {"name": "c3d"}},
            ["configuration error: explain.methods: method 'saliency_tubes' cannot explain model 'c3d'"],
        ),
        (
            {"faithfulness": {"enabled": True, "annotations": "boxes.txt"}},
            ["configuration error: faithfulness.annotations: annotation file 'boxes.txt' not found"],
        ),
        ({"metrics": {"bootstrap": {"level": 95}}}, ["95 is greater than or equal to the maximum of 1"]),
        (
            {"metrics": {"tau": [1.0], "motion": "compensated"}},
            ["configuration error: metrics.motion: compensated motion needs the camera fit", "flow.camera.compensate"],
        ),
        (
            {"ground_truth": {"enabled": True, "methods": ["gradcam"], "options": {"gradcam": {"layr": "x"}}}},
            ["configuration error: ground_truth.options.gradcam.layr", "does not take option 'layr'"],
        ),
        (
            {"selective": {"mode": "margin", "margin": {"frames": 4}}},
            ["configuration error: selective.margin.frames: a margin of 4 at either side leaves nothing"],
        ),
        (
            {"videos": {"label_map": "no_such_map.csv"}},
            ["configuration error: videos.label_map: label map 'no_such_map.csv' is neither a shipped map"],
        ),
        ({"explain": {"methods": ["gradcam"], "target": "truth"}}, ["'truth' is not one of"]),
        (
            {"faithfulness": {"enabled": True, "steps": 1}},
            ["1 is less than the minimum of 3", "['faithfulness']['steps']", "so 1 step gives every map the same AUC"],
        ),
    ],
    ids=[
        "option",
        "options-of-unknown-method",
        "method",
        "model-name",
        "torchvision-name",
        "weights-missing",
        "spec-key",
        "shipped-refusal",
        "annotations-missing",
        "bootstrap-level",
        "compensated-without-camera-fit",
        "ground-truth-option",
        "selective-margin",
        "label-map-missing",
        "target",
        "faithfulness-steps",
    ],
)
def test_settings_errors_stop_the_run_when_the_dag_is_built(tmp_path, videos, changes, messages):
    run = run_study(tmp_path, videos, **changes)
    assert_stopped_before_any_video(tmp_path, run, *messages)


def test_weights_that_do_not_fit_stop_the_run_at_preflight(tmp_path, videos):
    save_file({"0.weight": torch.zeros(5, 3, 3, 3, 3), "0.bias": torch.zeros(5)}, str(tmp_path / "other.safetensors"))
    run = run_study(
        tmp_path,
        videos,
        model={"name": "workflow_models:tiny_net", "spec": TINY_SPEC, "weights": str(tmp_path / "other.safetensors")},
    )
    assert_stopped_before_any_video(tmp_path, run, "videoxai: configuration error: model:", "other.safetensors")
    assert "Error in rule preflight" in run.stdout + run.stderr


def test_a_method_that_refuses_the_architecture_stops_the_run_at_preflight(tmp_path, videos):
    run = run_study(
        tmp_path,
        videos,
        model={"name": "workflow_models:tiny_fc_net", "spec": TINY_SPEC},
        explain={"methods": ["gradcam", "saliency_tubes"]},
    )
    assert_stopped_before_any_video(
        tmp_path,
        run,
        "videoxai: configuration error: explain.methods: method 'saliency_tubes' cannot explain",
        "saliency_tubes needs a classifier that directly follows global pooling",
    )


def test_a_bad_annotation_file_stops_the_run_when_the_dag_is_built(tmp_path, videos):
    # read in full, torch-free, by check_study_config: no job starts, the preflight included
    (tmp_path / "boxes.csv").write_text("clip,left,top\n1,2,3\n")
    run = run_study(
        tmp_path, videos, faithfulness={"enabled": True, "steps": 3, "annotations": str(tmp_path / "boxes.csv")}
    )
    assert_stopped_before_any_video(
        tmp_path, run, "configuration error: faithfulness.annotations:", "the header must hold the columns"
    )
    assert not (tmp_path / "results" / "preflight.json").exists()


def test_a_model_that_rejects_the_clip_length_stops_the_run_at_preflight(tmp_path, videos):
    # tiny_fc_net pools to a fixed (2, 4, 4) grid, so it takes any size; a spec whose classes do
    # not match the logits is the mistake here
    run = run_study(
        tmp_path, videos, model={"name": "workflow_models:tiny_net", "spec": {**TINY_SPEC, "num_classes": 5}}
    )
    assert_stopped_before_any_video(tmp_path, run, "configuration error: model.spec:", "names 5 classes")
