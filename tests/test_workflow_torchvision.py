"""The workflow on a torchvision video network by name, with a weight file the test saves.

Two generated videos (a square moving right, one moving down), ``torchvision:r3d_18`` with a
3-class state dict, no ``model.spec``: decode geometry (resize to 128 x 171, crop 112) and
preprocessing come from the library.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
import yaml
from test_workflow import snakemake

from videoxai.data.shards import read_shard

pytestmark = [pytest.mark.slow]


def write_moving_square(path, direction: str, frames: int = 24) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (160, 120))
    for index in range(frames):
        frame = np.full((120, 160, 3), 40, dtype=np.uint8)
        top, left = (30, 10 + 4 * index) if direction == "right" else (5 + 3 * index, 60)
        frame[top : top + 30, left : left + 30] = (40, 200, 230)
        writer.write(frame)
    writer.release()


def test_r3d_18_with_a_saved_state_dict_runs_the_study(tmp_path):
    from videoxai.models import load

    torch.manual_seed(0)
    model, _ = load("torchvision:r3d_18", num_classes=3)
    weights = tmp_path / "r3d_finetuned.pth"
    torch.save(model.state_dict(), weights)
    write_moving_square(tmp_path / "videos" / "Right" / "right.mp4", "right")
    write_moving_square(tmp_path / "videos" / "Down" / "down.mp4", "down")
    config = {
        "results": "results",
        "resources": "resources",
        "videos": {"source": "folder", "root": "videos"},
        "model": {"name": "torchvision:r3d_18", "weights": str(weights), "options": {"num_classes": 3}},
        "device": "cpu",
        "clips": {"length": 8, "max_per_video": 1},
        "explain": {"batch_size": 1, "threads": 1},
        "selective": {"n": [4.0]},
        "metrics": {"tau": [1.0]},
        "report": {"examples": 1},
        "ground_truth": {"enabled": False},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(tmp_path)
    results = tmp_path / "results"
    shards = sorted((results / "explain").glob("b*/*.h5"))  # one folder per bucket of videos
    assert len(shards) == 2
    clips = read_shard(results / "clips" / shards[0].name).arrays["clips"]
    assert clips.shape == (1, 8, 112, 112, 3)
    explained = read_shard(shards[0])
    assert explained.attributes["model_name"] == "torchvision:r3d_18"
    assert len(explained.attributes["model_weights_sha256"]) == 64
    assert json.loads(explained.attributes["class_names"]) == ["class_0", "class_1", "class_2"]
    for method in ("dtd", "gradcam", "guided_backprop", "guided_gradcam"):
        relevance = explained.arrays[f"{method}/relevance"]
        assert relevance.shape == (1, 8, 112, 112) and np.abs(relevance).max() > 0
    assert (results / "tables" / "table1.md").read_text().strip()
