"""The study configuration's torch-free checks (videoxai.core.study_config): each refuses a setting
where it would be used, when the DAG is built, with a message that names the key."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from videoxai.core.errors import ConfigurationError
from videoxai.core.study_config import check_study_config

REPO = Path(__file__).resolve().parents[1]


def study(**sections) -> dict:
    """A validated-looking config (the schema's defaults where the checks read them)."""
    config = {
        "model": {"name": "c3d", "weights": None, "options": {}, "spec": None},
        "videos": {"label_map": None},
        "clips": {"length": 16},
        "explain": {"methods": ["gradcam"], "options": {}, "target": "top1"},
        "selective": {"n": [4.0], "mode": "paper", "margin": {"frames": 2, "pixels": None}},
        "static_control": {"enabled": True, "edge_frames": 1, "border": None},
        "faithfulness": {"enabled": False, "steps": 16},
        "ground_truth": {"enabled": False},
    }
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    return config


def test_the_weights_the_workflow_trains_need_not_exist_yet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # config/ucf101.yaml: model.weights is train.model, written by rule train_model
    check_study_config(
        study(model={"weights": "resources/models/c3d_ucf101.safetensors"}, train={"root": "data/UCF-101"})
    )
    check_study_config(study(model={"weights": "./runs/c3d.safetensors"}, train={"model": "runs/c3d.safetensors"}))
    with pytest.raises(ConfigurationError, match=r"^configuration error: model\.weights: weight file 'other\.pth'"):
        check_study_config(study(model={"weights": "other.pth"}, train={"model": "runs/c3d.safetensors"}))


def test_the_benchmark_clip_size_is_the_generators():
    from videoxai.core.study_config import GROUND_TRUTH_CLIP
    from videoxai.ground_truth.generator import SceneSettings
    from videoxai.ground_truth.settings import BenchmarkSettings

    scene = BenchmarkSettings.from_config({}).scene
    assert scene == SceneSettings()
    assert GROUND_TRUTH_CLIP == {"frames": scene.frames, "size": scene.size} == {"frames": 16, "size": 32}


def test_the_selective_margin_must_leave_an_interior_in_every_clip_it_is_cut_from():
    margin = {"mode": "margin", "margin": {"frames": 2, "pixels": 16}}
    # I3D's 224 x 224 clips keep 192 x 192 pixels inside a 16-pixel band ...
    check_study_config(study(model={"name": "i3d_kinetics400"}, selective=margin))
    # ... the benchmark's 32 x 32 clips keep nothing: refused before anything is trained
    with pytest.raises(ConfigurationError) as error:
        check_study_config(study(model={"name": "i3d_kinetics400"}, selective=margin, ground_truth={"enabled": True}))
    assert str(error.value) == (
        "configuration error: selective.margin.pixels: a margin of 16 at either side leaves nothing of "
        "the ground-truth benchmark's clips (32 x 32 pixels)"
    )
    # in paper mode the benchmark's maps keep their margin (only the study's static control
    # reports the margin rows), so the same band is no error there
    check_study_config(
        study(model={"name": "i3d_kinetics400"}, selective={**margin, "mode": "paper"}, ground_truth={"enabled": True})
    )
    # a clip longer than the benchmark's 16 frames: 8 frames at either end fit the model, not the benchmark
    frames = {"mode": "margin", "margin": {"frames": 8, "pixels": None}}
    check_study_config(study(clips={"length": 32}, selective=frames))
    with pytest.raises(
        ConfigurationError, match=r"selective\.margin\.frames: a margin of 8 .* benchmark's clips \(16 frames\)"
    ):
        check_study_config(study(clips={"length": 32}, selective=frames, ground_truth={"enabled": True}))


def test_the_margin_and_the_static_control_bands_are_checked_only_where_they_are_used():
    wide = {"margin": {"frames": 2, "pixels": 60}}  # C3D's clips are 112 x 112
    with pytest.raises(
        ConfigurationError, match=r"selective\.margin\.pixels: .* the model's clips \(112 x 112 pixels\)"
    ):
        check_study_config(study(selective=wide))  # paper mode: the static control reports margin rows
    check_study_config(study(selective=wide, static_control={"enabled": False}))  # used nowhere
    with pytest.raises(ConfigurationError, match=r"static_control\.edge_frames: 8 at either side covers all"):
        check_study_config(study(static_control={"edge_frames": 8}))
    check_study_config(study(static_control={"enabled": False, "edge_frames": 8}))


@pytest.mark.parametrize("steps", [1, 2])
def test_faithfulness_steps_that_cannot_tell_maps_apart_are_refused(steps):
    with pytest.raises(ConfigurationError) as error:
        check_study_config(study(faithfulness={"enabled": True, "steps": steps}))
    message = str(error.value)
    assert message.startswith(f"configuration error: faithfulness.steps: {steps} step(s) measure deletion/insertion")
    assert "the same for every map" in message and message.endswith("use at least 3")
    check_study_config(study(faithfulness={"enabled": False, "steps": steps}))  # off: not used, not refused


def test_three_faithfulness_steps_are_enough():
    check_study_config(study(faithfulness={"enabled": True, "steps": 3}))


def test_the_schema_refuses_the_same_steps():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    steps = schema["properties"]["faithfulness"]["properties"]["steps"]
    jsonschema.validate(3, steps)
    with pytest.raises(jsonschema.ValidationError, match="2 is less than the minimum of 3"):
        jsonschema.validate(2, steps)
