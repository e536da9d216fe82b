"""The study configuration's torch-free checks (videoxai.core.study_config): each refuses a setting
where it would be used, when the DAG is built, with a message that names the key."""

import pytest

from videoxai.core.errors import ConfigurationError
from videoxai.core.study_config import check_study_config


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
