"""Labelled video lists for training and testing: the UCF-101 split files.

The split files are read as released: CRLF line endings, ``.avi`` names (the videos on disk
may have any extension, so files are matched by stem) and the ``HandstandPushups`` folder
whose files are called ``v_HandStandPushups_…`` (matched case-insensitively).
"""

from __future__ import annotations

import os
from pathlib import Path

from videoxai.core.errors import VideoXAIError

UCF101_VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg")


def _split_file_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise VideoXAIError("split file not found", path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise VideoXAIError(f"cannot read split file ({error})", path) from error
    # splitlines() drops the CR of the released CRLF files as well as plain LF.
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_class_index(split_dir: str | os.PathLike) -> list[str]:
    """Class names in label order from ``<split_dir>/classInd.txt`` (lines ``"<1-based index> <name>"``).

    Returns:
        ``names`` with ``names[label_index]`` the class of 0-based ``label_index``.
    """
    path = Path(split_dir) / "classInd.txt"
    entries: dict[int, str] = {}
    for number, line in enumerate(_split_file_lines(path), start=1):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise VideoXAIError(f"line {number} is not '<index> <class name>': {line!r}", path)
        index = int(parts[0])
        if index in entries:
            raise VideoXAIError(f"line {number}: class index {index} appears twice", path)
        entries[index] = parts[1]
    if sorted(entries) != list(range(1, len(entries) + 1)):
        raise VideoXAIError("class indices must run 1..N without gaps", path)
    return [entries[index] for index in range(1, len(entries) + 1)]


def _index_videos(root: Path) -> dict[tuple[str, str], Path]:
    """(class folder, file stem), both lower-cased -> video path, for every video under ``root``."""
    found: dict[tuple[str, str], Path] = {}
    for class_dir in sorted(path for path in root.iterdir() if path.is_dir()):
        for path in sorted(class_dir.iterdir()):
            if path.is_file() and path.suffix.lower() in UCF101_VIDEO_EXTENSIONS:
                found.setdefault((class_dir.name.lower(), path.stem.lower()), path)
    return found


def read_ucf101_split(
    root: str | os.PathLike,
    split_dir: str | os.PathLike,
    split: int = 1,
    subset: str = "test",
    missing: str = "skip",
) -> list[tuple[Path, int, str]]:
    """The videos of one UCF-101 split that exist under ``root``.

    Args:
        root: folder of class folders (``<root>/<Class>/v_<Class>_gXX_cYY.<ext>``).
        split_dir: folder holding ``classInd.txt``, ``trainlist0N.txt``, ``testlist0N.txt``.
        split: 1, 2 or 3.
        subset: ``"train"`` or ``"test"``.
        missing: ``"skip"`` leaves out listed videos that are not on disk (a partial copy
            such as a sample); ``"error"`` raises one error naming how many and the first few.
    Returns:
        ``(video path, 0-based label index, class name)`` in split-file order. The label
        comes from the class folder in the list, looked up in ``classInd.txt``.
    """
    if subset not in ("train", "test"):
        raise VideoXAIError(f"subset must be 'train' or 'test', got {subset!r}")
    if missing not in ("skip", "error"):
        raise VideoXAIError(f"missing must be 'skip' or 'error', got {missing!r}")
    if int(split) not in (1, 2, 3):
        raise VideoXAIError(f"UCF-101 has splits 1, 2 and 3, got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise VideoXAIError("video folder not found", root)
    class_names = read_class_index(split_dir)
    label_of = {name.lower(): index for index, name in enumerate(class_names)}
    list_path = Path(split_dir) / f"{subset}list{int(split):02d}.txt"
    videos = _index_videos(root)
    items: list[tuple[Path, int, str]] = []
    absent: list[str] = []
    for number, line in enumerate(_split_file_lines(list_path), start=1):
        # trainlists carry a 1-based label after the name; testlists do not.
        relative = line.split()[0].replace("\\", "/")
        if "/" not in relative:
            raise VideoXAIError(f"line {number} is not '<Class>/<video>': {line!r}", list_path)
        class_folder, file_name = relative.split("/", 1)
        label = label_of.get(class_folder.lower())
        if label is None:
            raise VideoXAIError(f"line {number}: class {class_folder!r} is not in classInd.txt", list_path)
        path = videos.get((class_folder.lower(), Path(file_name).stem.lower()))
        if path is None:
            absent.append(relative)
            continue
        items.append((path, label, class_names[label]))
    if absent and missing == "error":
        raise VideoXAIError(
            f"{len(absent)} listed videos are not under {root} (first: {', '.join(absent[:3])})", list_path
        )
    return items
