"""Per-video HDF5 shards: one file per (stage, video), written atomically.

A shard is either *ok* (holds the stage's datasets) or *failed* (holds no datasets and a
one-line ``failure_reason``). Downstream stages pass a failure through, so one bad video
never stops a study and nothing half-written ever looks complete: files are written to a
temporary name in the same folder and renamed into place only once closed.
The layout of every stage is in ``docs/shards.md`` and :data:`SCHEMAS`.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from videoxai import __version__
from videoxai.core.errors import VideoXAIError
from videoxai.core.files import current_umask

FORMAT_VERSION = 1
# The groups of datasets beside a clip's own: its still copies' explanations (the static
# control's full volumes, and the still and shifted stills at the reference frame), the model's
# logits on shuffled copies, the calibrated test's results, and Class Feature Pyramids.
GROUPS: tuple[str, ...] = ("static_control", "stills", "shuffled", "calibrated", "cfp")

# stage -> {dataset pattern: (dtype, ndim)}; "{method}" and "{n}" stand for any group name.
SCHEMAS: dict[str, dict[str, tuple[str, int]]] = {
    "clips": {
        "clips": ("uint8", 5),  # (N, T, H, W, 3) RGB
        "frame_indices": ("int64", 2),  # (N, T) indices into the source video
    },
    "flow": {
        "flow": ("float16", 5),  # (N, T, H, W, 2) dx, dy in pixels
    },
    "explain": {
        "{method}/relevance": ("float32", 4),  # (N, T, H, W)
        "{method}/logits": ("float32", 2),  # (N, K)
        "{method}/target": ("int64", 1),  # (N,)
        "{method}/predicted": ("int64", 1),  # (N,)
        "{method}/seconds_per_clip": ("float64", 1),  # (N,)
    },
    "selective": {
        "{method}/sigma": ("float32", 1),  # (N,)
        "{method}/seconds_per_clip": ("float64", 1),  # (N,) time of the selective step
        "{method}/n={n}/mask": ("bool", 4),  # (N, T, H, W)
        "{method}/n={n}/map": ("float32", 4),  # (N, T, H, W)
    },
    "metrics": {},  # a table: one dataset per column under "table/"
    "faithfulness": {},  # a table, like metrics (deletion/insertion, pointing game, smoothness)
    "randomisation": {},  # a table: similarity to the trained model's map per method, variant, n, depth
}

# Datasets a stage holds only for some methods: checked by validate_shard when present.
OPTIONAL_SCHEMAS: dict[str, dict[str, tuple[str, int]]] = {
    "explain": {
        "cfp/pyramid/layers": ("object", 1),  # (depth + 1,) layer names, deepest first
        "cfp/pyramid/kept_{level}": ("bool", 2),  # (N, C_level) kernels kept per clip
        "cfp/pyramid/map_{level}": ("float32", 4),  # (N, t, h, w) kept kernels' summed activation
        # still copies (static control, calibrated test, behaviour): each clip's middle frame
        # repeated, explained for the clip's class, as the clips above
        "static_control/{method}/relevance": ("float32", 4),  # (N, T, H, W)
        "static_control/{method}/logits": ("float32", 2),  # (N, K)
        "static_control/{method}/target": ("int64", 1),  # (N,)
        "static_control/{method}/predicted": ("int64", 1),  # (N,)
        "static_control/{method}/seconds_per_clip": ("float64", 1),  # (N,)
        # the calibrated test's null: still copies shifted by one pixel, their maps at the frame
        "stills/frame": ("int64", 1),  # (1,) the reference frame
        "stills/shifts": ("int64", 2),  # (S, 2) dy, dx of each shifted copy
        "stills/{method}/shifted": ("float32", 4),  # (N, S, H, W)
        "stills/{method}/seconds_per_clip": ("float64", 1),  # (N,) all still copies of a clip
        # behaviour: the model's logits on seeded temporally shuffled copies
        "shuffled/orders": ("int64", 3),  # (N, Q, T) frame order of each copy
        "shuffled/logits": ("float32", 3),  # (N, Q, K)
    },
    "selective": {
        "static_control/{method}/n={n}/mask": ("bool", 4),  # (N, T, H, W) of the still copies
        # the calibrated test (selective.calibration.enabled)
        "calibrated/{method}/mask": ("bool", 4),  # (N, T, H, W), voxels of the reference frame only
        "calibrated/{method}/map": ("float32", 4),  # (N, T, H, W)
        "calibrated/{method}/statistic": ("float64", 1),  # (N,) max |residual|
        "calibrated/{method}/p_value": ("float64", 1),  # (N,)
        "calibrated/{method}/flagged": ("bool", 1),  # (N,)
        "calibrated/{method}/share": ("float64", 1),  # (N,) positive relevance of the frame kept
        "calibrated/{method}/seconds_per_clip": ("float64", 1),  # (N,) the test and its still copies
        "calibrated/{method}/null_maps": ("int64", 1),  # (N,) size of the study's null
        "calibrated/{method}/alpha": ("float64", 1),  # (N,) the error rate tested at
    },
}

REQUIRED_ATTRIBUTES = ("stage", "status", "videoxai_version", "format_version", "video_id", "config")


@dataclass
class Shard:
    """What :func:`read_shard` returns. ``arrays`` is empty for a failed shard."""

    path: str
    stage: str
    attributes: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.attributes.get("status") == "failed"

    @property
    def failure_reason(self) -> str | None:
        return self.attributes.get("failure_reason") if self.failed else None

    @property
    def config(self) -> dict:
        return json.loads(self.attributes.get("config", "{}"))


def _attribute_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, Path):
        return os.fspath(value)
    return value


def _chunks_for(array: np.ndarray) -> tuple[int, ...] | None:
    # One chunk per clip: readers of one clip decompress only that clip.
    if array.ndim == 0 or array.size == 0:
        return None
    return (1,) + array.shape[1:] if array.ndim >= 2 else array.shape


def _atomic_h5(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    # A hard-killed earlier attempt at this shard may have left its temporary file; only one
    # job writes a given shard at a time, so these leftovers are safe to remove.
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        leftover.unlink(missing_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    return Path(temporary)


def write_shard(
    path: str | os.PathLike,
    stage: str,
    arrays: Mapping[str, np.ndarray],
    *,
    video_id: str,
    config: Mapping[str, Any],
    attributes: Mapping[str, Any] | None = None,
    failure_reason: str | None = None,
    compression_level: int = 4,
) -> Path:
    """Write one shard atomically (temporary file + rename) and return its path.

    Args:
        stage: a key of :data:`SCHEMAS`.
        arrays: dataset name (``"/"`` makes groups) -> array; gzip + shuffle, one chunk per clip.
        video_id: the video's identifier in the study.
        config: the configuration values that produced this shard (stored as JSON).
        attributes: more file attributes (e.g. ``model_weights_sha256``, ``fps``).
        failure_reason: when given, the shard records a failure and ``arrays`` must be empty.
    """
    if stage not in SCHEMAS:
        raise ValueError(f"unknown shard stage {stage!r}; known: {sorted(SCHEMAS)}")
    if failure_reason is not None and arrays:
        raise ValueError("a failed shard holds no arrays")
    path = Path(path)
    temporary = _atomic_h5(path)
    try:
        with h5py.File(temporary, "w") as handle:
            handle.attrs["stage"] = stage
            handle.attrs["status"] = "failed" if failure_reason is not None else "ok"
            handle.attrs["failure_reason"] = failure_reason or ""
            handle.attrs["videoxai_version"] = __version__
            handle.attrs["format_version"] = FORMAT_VERSION
            handle.attrs["video_id"] = video_id
            handle.attrs["config"] = _attribute_value(dict(config))
            for key, value in (attributes or {}).items():
                handle.attrs[key] = _attribute_value(value)
            for name, array in arrays.items():
                array = np.asarray(array)
                if array.dtype.kind in "OU":
                    try:
                        handle.create_dataset(name, data=array.astype(object), dtype=h5py.string_dtype("utf-8"))
                    except TypeError as error:
                        # only a failed write looks for what was not text
                        strange = next((item for item in array.ravel() if not isinstance(item, str)), None)
                        if strange is None:
                            raise
                        raise VideoXAIError(
                            f"shard dataset {name!r} mixes text with {type(strange).__name__} values ({strange!r}): "
                            "store numbers as a numeric array"
                        ) from error
                    continue
                chunks = _chunks_for(array)
                handle.create_dataset(
                    name,
                    data=array,
                    chunks=chunks,
                    compression="gzip" if chunks else None,
                    compression_opts=compression_level if chunks else None,
                    shuffle=bool(chunks),
                )
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_failed_shard(
    path, stage: str, reason: str, *, video_id: str, config: Mapping[str, Any], attributes=None
) -> Path:
    """A shard that records ``reason`` (one line) instead of data."""
    reason = " ".join(str(reason).split()) or "unknown failure"
    return write_shard(path, stage, {}, video_id=video_id, config=config, attributes=attributes, failure_reason=reason)


def read_attributes(path: str | os.PathLike) -> dict[str, Any]:
    """The file attributes of a shard (cheap: no dataset is read)."""
    try:
        with h5py.File(path, "r") as handle:
            return {key: _decode(value) for key, value in handle.attrs.items()}
    except OSError as error:
        raise VideoXAIError(f"not a readable shard ({error})", path) from error


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_shard(path: str | os.PathLike, names: list[str] | None = None) -> Shard:
    """Read a shard's attributes and datasets (all, or only ``names``)."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as handle:
            attributes = {key: _decode(value) for key, value in handle.attrs.items()}
            arrays: dict[str, np.ndarray] = {}

            def collect(name, item):
                if isinstance(item, h5py.Dataset) and (names is None or name in names):
                    data = item[()]
                    if item.dtype.kind == "O":
                        data = np.array(
                            [v.decode("utf-8") if isinstance(v, bytes) else v for v in np.atleast_1d(data)],
                            dtype=object,
                        )
                    arrays[name] = data

            handle.visititems(collect)
    except OSError as error:
        raise VideoXAIError(f"not a readable shard ({error})", path) from error
    return Shard(os.fspath(path), attributes.get("stage", ""), attributes, arrays)


def validate_shard(shard: Shard) -> None:
    """Raise :class:`VideoXAIError` unless ``shard`` matches :data:`SCHEMAS` for its stage."""
    missing_attributes = [key for key in REQUIRED_ATTRIBUTES if key not in shard.attributes]
    if missing_attributes:
        raise VideoXAIError(f"shard lacks attributes {missing_attributes}", shard.path)
    if shard.stage not in SCHEMAS:
        raise VideoXAIError(f"unknown shard stage {shard.stage!r}", shard.path)
    if shard.failed:
        if shard.arrays:
            raise VideoXAIError("failed shard holds datasets", shard.path)
        return
    for pattern, (dtype, ndim) in SCHEMAS[shard.stage].items():
        matches = [name for name in shard.arrays if _matches(pattern, name)]
        if not matches:
            raise VideoXAIError(f"shard lacks dataset {pattern!r}", shard.path)
        for name in matches:
            array = shard.arrays[name]
            if array.dtype != np.dtype(dtype) or array.ndim != ndim:
                raise VideoXAIError(
                    f"dataset {name!r} is {array.dtype} with {array.ndim} dims; schema says {dtype} with {ndim}",
                    shard.path,
                )
    for pattern, (dtype, ndim) in OPTIONAL_SCHEMAS.get(shard.stage, {}).items():
        for name in shard.arrays:
            if _matches(pattern, name) and (
                shard.arrays[name].dtype != np.dtype(dtype) or shard.arrays[name].ndim != ndim
            ):
                raise VideoXAIError(
                    f"dataset {name!r} is {shard.arrays[name].dtype} with "
                    f"{shard.arrays[name].ndim} dims; schema says {dtype} with {ndim}",
                    shard.path,
                )


def _matches(pattern: str, name: str) -> bool:
    pattern_parts, name_parts = pattern.split("/"), name.split("/")
    if len(pattern_parts) != len(name_parts):
        return False
    for expected, actual in zip(pattern_parts, name_parts):
        if expected == "{method}":
            if actual in GROUPS:  # "shuffled/logits" is the shuffled copies' logits, not a method's
                return False
            continue
        if expected.endswith("_{level}") and actual.startswith(expected[: -len("{level}")]):
            continue
        if expected.startswith("n=") and actual.startswith("n="):
            continue
        if expected != actual:
            return False
    return True


def n_group(n: float) -> str:
    """Group name of one σ multiplier: ``n=4`` for 4.0, ``n=2.5`` for 2.5."""
    return f"n={float(n):g}"


def _patterns(stage: str) -> dict[str, tuple[str, int]]:
    if stage not in SCHEMAS:
        raise ValueError(f"unknown shard stage {stage!r}; known: {sorted(SCHEMAS)}")
    return {**SCHEMAS[stage], **OPTIONAL_SCHEMAS.get(stage, {})}


def shard_key(
    stage: str,
    name: str,
    *,
    method: str | None = None,
    n: float | None = None,
    level: int | None = None,
    group: str | None = None,
) -> str:
    """The dataset name of ``name`` in a ``stage`` shard, built from its schema pattern.

    Every dataset name the library reads or writes comes from here, so the layout lives in
    :data:`SCHEMAS` alone. ``name`` is the pattern's last part (``relevance``, ``mask``,
    ``kept_{level}``, ...); ``method``, ``n`` and ``level`` fill its placeholders; ``group`` picks
    the datasets under a group of :data:`GROUPS` (``static_control`` for the still copies'
    explanations, ``stills``, ``shuffled``, ``calibrated``, ``cfp``), None the clip's own.

    Example: ``shard_key("selective", "map", method="dtd", n=4)`` is ``"dtd/n=4/map"``.

    Raises:
        ValueError: no pattern of the stage's schema matches, or a placeholder is left unfilled.
    """
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown shard group {group!r}; known: {list(GROUPS)}")
    fields = {"method": method, "n": None if n is None else n_group(n)[2:], "level": level}
    for pattern in _patterns(stage):
        first = pattern.split("/", 1)[0]
        pattern_group = first if first in GROUPS else None
        if pattern.rsplit("/", 1)[-1] != name or pattern_group != group:
            continue
        needed = {key for key in fields if "{" + key + "}" in pattern}
        if any(fields[key] is None for key in needed):
            continue
        return pattern.format(**{key: fields[key] for key in needed})
    raise ValueError(
        f"no dataset {name!r} in the {stage!r} shard schema for method={method!r}, n={n!r}, level={level!r}, "
        f"group={group!r}"
    )


def method_keys(stage: str, methods, name: str, n_values=None, *, group: str | None = None) -> list[str]:
    """:func:`shard_key` of ``name`` for every method (and every n of ``n_values`` when given),
    in that order: the ``names`` to :func:`read_shard` only those."""
    if n_values is None:
        return [shard_key(stage, name, method=method, group=group) for method in methods]
    return [shard_key(stage, name, method=method, n=n, group=group) for method in methods for n in n_values]


# Metric shards hold a tidy table, one dataset per column under "table/".
def write_table_shard(
    path, table, *, video_id: str, config: Mapping[str, Any], attributes=None, stage: str = "metrics"
) -> Path:
    """Store a pandas DataFrame column by column (strings as UTF-8) in a ``metrics`` (or
    ``faithfulness``) shard."""
    arrays = {f"table/{column}": table[column].to_numpy() for column in table.columns}
    attributes = {**(attributes or {}), "columns": list(map(str, table.columns))}
    return write_shard(path, stage, arrays, video_id=video_id, config=config, attributes=attributes)


def read_table_shard(path):
    """The DataFrame of a ``metrics``, ``faithfulness`` or ``randomisation`` shard (empty for a failed one) and the shard itself."""
    import pandas as pd

    shard = read_shard(path)
    if shard.failed:
        return pd.DataFrame(), shard
    columns = json.loads(shard.attributes.get("columns", "[]"))
    return pd.DataFrame({column: shard.arrays[f"table/{column}"] for column in columns}), shard
