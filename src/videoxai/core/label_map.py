"""Which of the model's classes a video's label is: label maps for datasets whose classes are not the model's.

A video's label comes from its listing (the class folder, the CSV's ``label`` column, the UCF-101
split). It names one of the model's classes directly when the model was trained on that dataset
(C3D on UCF-101); otherwise a label map translates it (UCF-101 ``CliffDiving`` -> Kinetics-400
``diving cliff``). A label with no counterpart among the model's classes is *unmapped*: its
clips have no known true class (no accuracy row, ``correct`` is NaN).

A label map is a CSV with a header naming a ``label`` column (the dataset's label) and a
``class`` column (the model's class name), one row per label; several labels may share a class.
The project ships ``ucf101_kinetics400`` (:data:`SHIPPED_LABEL_MAPS`): the UCF-101 classes whose
action is also one of Kinetics-400's (e.g. ``Skijet`` -> ``jetskiing``); classes without a true
counterpart (``HandstandPushups``, ``Billiards``, ``TableTennisShot``, ...) are left out.

Nothing here imports torch, so the workflow checks a label map when it builds its DAG.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from importlib import resources

from videoxai.core.errors import ConfigurationError

# Name usable as ``videos.label_map`` -> CSV file in the package's videoxai/models/data.
SHIPPED_LABEL_MAPS: dict[str, str] = {"ucf101_kinetics400": "ucf101_to_kinetics400.csv"}

LABEL_MAP_KEY = "videos.label_map"


def _read_rows(text: str, where: str, key: str) -> dict[str, str]:
    reader = csv.DictReader(text.splitlines())
    columns = [name.strip() for name in (reader.fieldnames or [])]
    if "label" not in columns or "class" not in columns:
        raise ConfigurationError(f"label map {where}: needs a header with 'label' and 'class' columns", key)
    mapping: dict[str, str] = {}
    for line, row in enumerate(reader, start=2):
        row = {(name or "").strip(): (value or "").strip() for name, value in row.items() if name is not None}
        label, name = row.get("label", ""), row.get("class", "")
        if not label and not name:
            continue
        if not label or not name:
            raise ConfigurationError(f"label map {where}, line {line}: needs both a label and a class", key)
        folded = label.casefold()
        if folded in mapping and mapping[folded] != name:
            raise ConfigurationError(
                f"label map {where}, line {line}: label {label!r} maps to both {mapping[folded]!r} and {name!r}", key
            )
        mapping[folded] = name
    if not mapping:
        raise ConfigurationError(f"label map {where}: has no rows", key)
    return mapping


def read_label_map(value: str | os.PathLike | None, key: str = LABEL_MAP_KEY) -> dict[str, str]:
    """The label map ``value`` names, as ``{casefolded dataset label: model class name}``.

    Args:
        value: None (no map: labels must be class names themselves), a name of
            :data:`SHIPPED_LABEL_MAPS`, or the path of a CSV with ``label`` and ``class`` columns.
        key: the config key the value came from, named in errors.
    Raises:
        ConfigurationError: naming ``key``: the file is missing or unreadable, lacks the columns,
            has a row without a label or class, or maps one label to two classes.
    """
    if value is None or value == "":
        return {}
    value = os.fspath(value)
    if value in SHIPPED_LABEL_MAPS:
        text = resources.files("videoxai.models").joinpath(f"data/{SHIPPED_LABEL_MAPS[value]}").read_text("utf-8")
        return _read_rows(text, value, key)
    if not os.path.isfile(value):
        raise ConfigurationError(
            f"label map {value!r} is neither a shipped map ({sorted(SHIPPED_LABEL_MAPS)}) nor an existing CSV file", key
        )
    try:
        with open(value, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"label map {value!r} cannot be read: {error}", key) from None
    return _read_rows(text, repr(value), key)


def check_label_map_classes(mapping: Mapping[str, str], class_names: Sequence[str], key: str = LABEL_MAP_KEY) -> None:
    """Every class a label map names must be one of the model's ``class_names`` (case-insensitive).

    Raises:
        ConfigurationError: naming ``key`` and the first class the model does not have.
    """
    known = {name.casefold() for name in class_names}
    missing = sorted({name for name in mapping.values() if name.casefold() not in known})
    if missing:
        raise ConfigurationError(
            f"maps to {missing[0]!r}, which is not one of the model's {len(class_names)} classes", key
        )


def class_index(label: str | None, class_names: Sequence[str], mapping: Mapping[str, str] | None = None) -> int:
    """The model's class index of a video's ``label``, or -1 when it is unknown (unmapped).

    The label is looked up in ``mapping`` first (case-insensitive); a label the map does not
    name, or any label without a map, counts when it is itself one of ``class_names``
    (case-insensitive).
    """
    if not label:
        return -1
    name = (mapping or {}).get(str(label).casefold(), str(label))
    folded = [class_name.casefold() for class_name in class_names]
    name = name.casefold()
    return folded.index(name) if name in folded else -1
