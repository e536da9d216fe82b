"""Which videos a study runs on: a folder of class folders, a CSV, explicit files or a UCF-101 split.

Every listing returns :class:`VideoEntry` objects sorted by path, each with a ``video_id``
that is safe as a file name and a Snakemake wildcard (no spaces, quotes, slashes or
non-ASCII), unique within the listing and stable as long as the file's path is.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from videoxai.core.errors import VideoXAIError
from videoxai.data.splits import read_ucf101_split

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv", ".flv", ".ogv", ".3gp")

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class VideoEntry:
    """One video of the study. ``relative`` is its path relative to the listing's root."""

    video_id: str
    path: str
    label: str | None
    relative: str


def safe_id(relative: str) -> str:
    """A readable identifier for ``relative``: folders joined by ``__``, unsafe characters as ``_``,
    plus 8 hex digits of the path's SHA-1 whenever characters had to be replaced."""
    stem = os.path.splitext(relative.replace("\\", "/"))[0]
    readable = "__".join(_UNSAFE.sub("_", part) for part in stem.split("/") if part not in ("", ".", ".."))
    readable = readable.lstrip(".") or "video"
    if readable != stem.replace("/", "__"):
        readable = f"{readable}-{_short_hash(relative)}"
    return readable


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def assign_ids(items: Iterable[tuple[str, str, str | None]]) -> list[VideoEntry]:
    """``(path, relative, label)`` triples -> entries with unique ids, sorted by relative path."""
    items = sorted(items, key=lambda item: item[1])
    ids = [safe_id(relative) for _, relative, _ in items]
    counts: dict[str, int] = {}
    for video_id in ids:
        counts[video_id] = counts.get(video_id, 0) + 1
    entries = []
    for (path, relative, label), video_id in zip(items, ids):
        if counts[video_id] > 1:  # e.g. a.mp4 and a.avi: the full path disambiguates
            video_id = f"{video_id}-{_short_hash(relative)}"
        entries.append(VideoEntry(video_id, path, label, relative))
    return entries


def list_folder(root: str | os.PathLike, extensions: Sequence[str] = VIDEO_EXTENSIONS) -> list[VideoEntry]:
    """Videos under ``root``; a video's label is its top-level folder (None directly in ``root``).

    A folder whose name ends in a video extension (``clip.mp4/``) is listed too, as what its name
    says it is: the workflow's decode step then records it in ``failed_videos.csv`` as "is a
    directory, not a video file" instead of leaving it out without a word. Its contents are
    still searched for videos.
    """
    root = Path(root)
    if not root.is_dir():
        raise VideoXAIError("video folder not found", root)
    suffixes = {extension.lower() for extension in extensions}
    items = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        named_like_videos = [name for name in subfolders if os.path.splitext(name)[1].lower() in suffixes]
        for name in [*files, *named_like_videos]:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in suffixes:
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            label = relative.split("/")[0] if "/" in relative else None
            items.append((path, relative, label))
    return assign_ids(items)


def list_csv(csv_path: str | os.PathLike, root: str | os.PathLike | None = None) -> list[VideoEntry]:
    """Videos named in a CSV with a ``path`` column and an optional ``label`` column.

    Relative paths are taken relative to ``root`` (default: the CSV's folder). Rows whose file
    is missing are kept: the workflow records them as failed videos with the reason.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise VideoXAIError("video list (CSV) not found", csv_path)
    base = Path(root) if root is not None else csv_path.parent
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "path" not in [name.strip() for name in reader.fieldnames]:
            raise VideoXAIError(
                "video list (CSV) needs a header with a 'path' column (and optionally 'label')", csv_path
            )
        items = []
        for row in reader:
            row = {(key or "").strip(): (value or "").strip() for key, value in row.items()}
            if not row.get("path"):
                continue
            relative = row["path"]
            path = relative if os.path.isabs(relative) else os.path.join(base, relative)
            items.append((path, relative, row.get("label") or None))
    return assign_ids(items)


def list_files(
    root: str | os.PathLike, files: Sequence[str], labels: Sequence[str | None] | None = None
) -> list[VideoEntry]:
    """Explicitly named files relative to ``root`` (they need not exist yet: a rule may fetch them).
    Each is listed as given; one that is missing or a directory becomes a failed video at decode."""
    labels = list(labels) if labels is not None else [None] * len(files)
    return assign_ids((os.path.join(root, name), name, label) for name, label in zip(files, labels))


def list_ucf101(
    root: str | os.PathLike, split_dir: str | os.PathLike, split: int = 1, subset: str = "test"
) -> list[VideoEntry]:
    """The videos of one official UCF-101 split, found under ``root`` by stem.

    Split-file parsing (``.avi`` names vs ``.mp4`` files, the HandstandPushups folder quirk)
    lives in :func:`videoxai.data.splits.read_ucf101_split`.
    """
    items = []
    for item in _rows(read_ucf101_split(root, split_dir, split=split, subset=subset)):
        path, label = item
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        items.append((os.fspath(path), relative, label))
    return assign_ids(items)


def _rows(listing) -> list[tuple[str, str | None]]:
    # Accept the shapes a split reader may reasonably return: a DataFrame, (path, label)
    # pairs, or objects with path/label attributes.
    if hasattr(listing, "itertuples"):
        columns = list(listing.columns)
        path_column = "path" if "path" in columns else columns[0]
        label_column = next((c for c in ("label", "class_name", "class") if c in columns), None)
        return [(row[path_column], row[label_column] if label_column else None) for _, row in listing.iterrows()]
    rows = []
    for item in listing:
        if isinstance(item, (str, os.PathLike)):
            rows.append((os.fspath(item), None))
        elif isinstance(item, (tuple, list)):
            # (path, label index, class name) from read_ucf101_split, or (path, label)
            label = item[2] if len(item) > 2 else (item[1] if len(item) > 1 else None)
            rows.append((os.fspath(item[0]), None if label is None else str(label)))
        else:
            label = getattr(item, "label", None) or getattr(item, "class_name", None)
            rows.append((os.fspath(item.path), None if label is None else str(label)))
    return rows


def random_subset(entries: Sequence[VideoEntry], size: int | None, seed: int = 0) -> list[VideoEntry]:
    """``size`` entries drawn without replacement with ``seed`` (all when ``size`` is None or larger),
    in path order. The same seed and listing always give the same subset."""
    entries = list(entries)
    if size is None or size >= len(entries):
        return entries
    if size < 0:
        raise VideoXAIError(f"subset size must be >= 0, got {size}")
    chosen = set(random.Random(seed).sample(range(len(entries)), size))
    return [entry for index, entry in enumerate(entries) if index in chosen]


def list_videos(settings: dict) -> list[VideoEntry]:
    """The listing described by the workflow's ``videos:`` config section (see config/README.md)."""
    source = settings.get("source", "folder")
    root = settings.get("root") or "."
    if source == "folder":
        entries = list_folder(root, settings.get("extensions") or VIDEO_EXTENSIONS)
    elif source == "csv":
        entries = list_csv(settings["csv"], settings.get("root"))
    elif source in ("files", "sample_videos"):
        entries = list_files(root, settings.get("files") or [])
    elif source == "ucf101":
        ucf = settings.get("ucf101") or {}
        entries = list_ucf101(root, ucf["split_dir"], split=int(ucf.get("split", 1)), subset=ucf.get("subset", "test"))
    else:
        raise VideoXAIError(f"unknown videos.source {source!r}: use folder, csv, files, sample_videos or ucf101")
    subset = settings.get("subset") or {}
    return random_subset(entries, subset.get("size"), int(subset.get("seed", 0)))
