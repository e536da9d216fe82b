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
