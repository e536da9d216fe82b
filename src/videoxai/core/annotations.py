"""Reading annotation files (boxes or masks of the actors), torch-free.

The study checks an annotation file when it builds the DAG, before any job, so this module
imports nothing heavier than NumPy; :mod:`videoxai.evaluation.faithfulness` uses it for the pointing game.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from videoxai.core.errors import VideoXAIError


def read_annotations(path: str | os.PathLike) -> dict[str, dict]:
    """Per-frame annotations of videos, from a CSV of boxes or an NPZ of masks.

    CSV: a header ``video,frame,x1,y1,x2,y2`` and one row per box, frame indices of the source
    video (0-based), coordinates in source pixels (inclusive); several rows per frame are several
    boxes. Returns ``{video: {"boxes": {frame: float64 (B, 4)}}}``.

    NPZ: one bool array ``(F, H, W)`` per video (key = video name), frame f = source frame f.
    Returns ``{video: {"masks": bool (F, H, W)}}``.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoXAIError("annotation file not found", path)
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                result = {name: {"masks": archive[name].astype(bool)} for name in archive.files}
        except ValueError as error:
            raise VideoXAIError(f"not a mask archive: {error}", path) from None
        for name, entry in result.items():
            if entry["masks"].ndim != 3:
                raise VideoXAIError(f"masks of {name!r} must be (F, H, W), got {entry['masks'].shape}", path)
        return result
    if path.suffix.lower() != ".csv":
        raise VideoXAIError("annotations must be a .csv (boxes) or .npz (masks) file", path)
    result: dict[str, dict] = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        needed = ["video", "frame", "x1", "y1", "x2", "y2"]
        if reader.fieldnames is None or any(column not in reader.fieldnames for column in needed):
            raise VideoXAIError(f"the header must hold the columns {needed}, got {reader.fieldnames}", path)
        for line, row in enumerate(reader, start=2):
            try:
                frame = int(row["frame"])
                box = [float(row[key]) for key in ("x1", "y1", "x2", "y2")]
            except (TypeError, ValueError):
                raise VideoXAIError(f"line {line}: frame must be an integer and x1..y2 numbers", path) from None
            frames = result.setdefault(row["video"], {"boxes": {}})["boxes"]
            frames.setdefault(frame, []).append(box)
    for entry in result.values():
        entry["boxes"] = {frame: np.asarray(boxes, np.float64) for frame, boxes in entry["boxes"].items()}
    return result


__all__ = ["read_annotations"]
