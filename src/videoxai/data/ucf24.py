"""UCF101-24 person boxes: the authors' ``pyannot.pkl`` to the project's box CSV.

The corrected UCF101-24 annotations (Singh et al.) are distributed as a Python pickle: a dict
keyed ``Class/v_Class_gXX_cYY``, each value a dict with ``numf`` (frames of the video),
``label`` and ``annotations``, a list of action tubes, each a dict with ``sf`` (first frame,
0-based), ``ef`` (one past the last frame), ``label`` and ``boxes``, an integer array
``(ef - sf, 4)`` of x, y, width, height in source pixels.

A pickle can run any code while it loads, so :class:`NumpyPickleUnpickler` resolves only the
globals NumPy's arrays and scalars need and refuses every other one (``os.system``,
``builtins.eval``, ``subprocess.Popen``, ...) before it could be called. Dicts, lists, tuples,
strings and numbers need no global and load as usual.

The CSV (what :func:`videoxai.evaluation.faithfulness.read_annotations` reads) has one row per box:
``video,frame,x1,y1,x2,y2`` with ``video`` the file's stem (``v_Class_gXX_cYY``), ``frame``
the 0-based frame index and the corners ``x1 = x, y1 = y, x2 = x + width, y2 = y + height``.
"""

from __future__ import annotations

import csv
import os
import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np

from videoxai.core.errors import VideoXAIError

# What a pickle of NumPy arrays and scalars refers to, under numpy 1 and 2 module names.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        # protocol 2 writes bytes (a NumPy array's data) as _codecs.encode(text, "latin1")
        ("_codecs", "encode"),
    }
)

CSV_COLUMNS: tuple[str, ...] = ("video", "frame", "x1", "y1", "x2", "y2")


class NumpyPickleUnpickler(pickle.Unpickler):
    """Unpickler that builds only builtin containers and NumPy arrays and scalars.

    Any other global raises :class:`VideoXAIError` naming the file and the global; so does a
    dtype that holds Python objects (its elements would be arbitrary objects) and a persistent id.
    """

    def __init__(self, handle: IO[bytes], source: str | os.PathLike):
        # latin1 reads the str of a pickle written by Python 2 as text, and NumPy's raw bytes intact
        super().__init__(handle, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise VideoXAIError(
                f"refusing to load the pickle: it refers to the forbidden global {module}.{name} "
                "(only builtin containers and NumPy arrays and scalars are allowed)",
                self.source,
            )
        if name == "ndarray":
            return np.ndarray
        if name == "dtype":
            return self._plain_dtype
        if name == "encode":
            return self._latin1_bytes
        try:  # numpy.core is a deprecated alias under numpy 2
            from numpy._core import multiarray
        except ImportError:  # numpy 1
            from numpy.core import multiarray
        return getattr(multiarray, name)

    def _plain_dtype(self, *args: Any) -> np.dtype:
        dtype = np.dtype(*args)
        if dtype.hasobject:
            raise VideoXAIError(
                "refusing to load the pickle: it holds Python objects inside a NumPy array", self.source
            )
        return dtype

    def _latin1_bytes(self, text: Any, encoding: Any = "utf-8") -> bytes:
        if not isinstance(text, str) or encoding != "latin1":
            raise VideoXAIError(
                f"refusing to load the pickle: _codecs.encode with {encoding!r} is not how bytes are pickled",
                self.source,
            )
        return text.encode("latin1")

    def persistent_load(self, pid: Any) -> Any:
        raise VideoXAIError("refusing to load the pickle: it uses persistent ids", self.source)


def read_numpy_pickle(path: str | os.PathLike) -> Any:
    """Load a pickle of builtin containers and NumPy arrays/scalars with
    :class:`NumpyPickleUnpickler`; :class:`VideoXAIError` for a missing, empty, corrupt or unsafe file."""
    path = Path(path)
    if not path.is_file():
        raise VideoXAIError("pickle file not found", path)
    if path.stat().st_size == 0:
        raise VideoXAIError("pickle file is empty", path)
    try:
        with open(path, "rb") as handle:
            return NumpyPickleUnpickler(handle, path).load()
    except VideoXAIError:
        raise
    except Exception as error:  # noqa: BLE001 - truncated/corrupt pickles fail in many ways
        raise VideoXAIError(f"cannot read the pickle ({type(error).__name__}: {error})", path) from error


def _integer(value: Any, where: str, source) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise VideoXAIError(f"{where} must be an integer, got {value!r}", source)
    return int(value)


def pyannot_rows(tree: Any, source: str | os.PathLike = "pyannot.pkl") -> list[tuple[str, int, int, int, int, int]]:
    """Box rows ``(video, frame, x1, y1, x2, y2)`` of a loaded ``pyannot.pkl``, sorted by video
    and frame (tubes in file order within a frame).

    Args:
        tree: ``{"Class/v_Class_gXX_cYY": {"annotations": [{"sf", "ef", "boxes" (ef - sf, 4)
            x, y, w, h, ...}, ...], ...}}`` as :func:`read_numpy_pickle` returns it.
    Raises:
        VideoXAIError: naming the video and tube of anything malformed.
    """
    if not isinstance(tree, dict):
        raise VideoXAIError(f"expected a dict of videos, got a {type(tree).__name__}", source)
    rows = []
    for key in sorted(tree):
        entry = tree[key]
        if not isinstance(key, str) or not isinstance(entry, dict) or "annotations" not in entry:
            raise VideoXAIError(f"video {key!r}: expected a dict with 'annotations'", source)
        video = Path(key).name
        tubes = entry["annotations"]
        if not isinstance(tubes, (list, tuple)):
            raise VideoXAIError(f"video {key!r}: 'annotations' must be a list of tubes", source)
        for index, tube in enumerate(tubes):
            where = f"video {key!r} tube {index}"
            if not isinstance(tube, dict) or not {"sf", "ef", "boxes"} <= set(tube):
                raise VideoXAIError(f"{where}: expected a dict with 'sf', 'ef' and 'boxes'", source)
            first, end = _integer(tube["sf"], f"{where} sf", source), _integer(tube["ef"], f"{where} ef", source)
            boxes = np.asarray(tube["boxes"])
            if first < 0 or end < first or boxes.shape != (end - first, 4) or boxes.dtype.kind not in "iuf":
                raise VideoXAIError(
                    f"{where}: boxes must be a numeric (ef - sf, 4) = ({end - first}, 4) array with 0 <= sf <= ef, "
                    f"got {boxes.dtype} {boxes.shape} for sf {first}, ef {end}",
                    source,
                )
            for offset, (x, y, width, height) in enumerate(boxes.tolist()):
                rows.append((video, first + offset, x, y, x + width, y + height))
    # stable: several tubes on one frame keep their file order
    return sorted(rows, key=lambda row: (row[0], row[1]))


def write_box_csv(rows, path: str | os.PathLike) -> Path:
    """Write box rows as the ``video,frame,x1,y1,x2,y2`` CSV (integers stay integers)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for video, frame, *corners in rows:
            writer.writerow([video, frame, *(f"{value:g}" if isinstance(value, float) else value for value in corners)])
    return path


def convert_pyannot(pickle_path: str | os.PathLike, csv_path: str | os.PathLike) -> int:
    """``pyannot.pkl`` -> box CSV; returns the number of boxes written."""
    rows = pyannot_rows(read_numpy_pickle(pickle_path), source=pickle_path)
    write_box_csv(rows, csv_path)
    return len(rows)


__all__ = [
    "ALLOWED_GLOBALS",
    "CSV_COLUMNS",
    "NumpyPickleUnpickler",
    "convert_pyannot",
    "pyannot_rows",
    "read_numpy_pickle",
    "write_box_csv",
]
