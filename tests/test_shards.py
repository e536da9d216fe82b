"""HDF5 shards: schema round trip, failure records, atomic writes, video listing ids."""

import os

import h5py
import numpy as np
import pandas as pd
import pytest

from videoxai import __version__
from videoxai.core.errors import VideoXAIError
from videoxai.data.listing import list_csv, list_files, list_folder, random_subset, safe_id
from videoxai.data.shards import (
    n_group,
    read_attributes,
    read_shard,
    read_table_shard,
    validate_shard,
    write_failed_shard,
    write_shard,
    write_table_shard,
)


def test_clips_round_trip_with_attributes_chunks_and_compression(tmp_path):
    clips = np.random.default_rng(0).integers(0, 255, (3, 4, 8, 8, 3), dtype=np.uint8)
    indices = np.arange(12, dtype=np.int64).reshape(3, 4)
    path = write_shard(
        tmp_path / "v.h5",
        "clips",
        {"clips": clips, "frame_indices": indices},
        video_id="v",
        config={"clips": {"length": 4}},
        attributes={"fps": 25.0, "model_weights_sha256": "ab"},
    )
    shard = read_shard(path)
    validate_shard(shard)
    np.testing.assert_array_equal(shard.arrays["clips"], clips)
    np.testing.assert_array_equal(shard.arrays["frame_indices"], indices)
    assert shard.attributes["videoxai_version"] == __version__
    assert shard.attributes["fps"] == 25.0 and shard.config == {"clips": {"length": 4}}
    assert not shard.failed
    with h5py.File(path) as handle:
        dataset = handle["clips"]
        assert dataset.chunks == (1, 4, 8, 8, 3)  # one chunk per clip
        assert dataset.compression == "gzip" and dataset.shuffle


def test_grouped_datasets_and_schema_violations(tmp_path):
    relevance = np.ones((2, 4, 8, 8), np.float32)
    arrays = {
        "dtd/relevance": relevance,
        "dtd/logits": np.zeros((2, 5), np.float32),
        "dtd/target": np.zeros(2, np.int64),
        "dtd/predicted": np.zeros(2, np.int64),
        "dtd/seconds_per_clip": np.zeros(2),
    }
    validate_shard(read_shard(write_shard(tmp_path / "e.h5", "explain", arrays, video_id="v", config={})))
    # a group's datasets are checked against the group's schema, not taken for a method's:
    # the shuffled copies' logits are (clips, copies, classes), a method's (clips, classes)
    arrays["shuffled/logits"] = np.zeros((2, 3, 5), np.float32)
    arrays["shuffled/orders"] = np.zeros((2, 3, 4), np.int64)
    validate_shard(read_shard(write_shard(tmp_path / "s.h5", "explain", arrays, video_id="v", config={})))
    arrays["shuffled/logits"] = np.zeros((2, 5), np.float32)
    with pytest.raises(VideoXAIError, match="'shuffled/logits' is float32 with 2 dims; schema says float32 with 3"):
        validate_shard(read_shard(write_shard(tmp_path / "s2.h5", "explain", arrays, video_id="v", config={})))
    del arrays["shuffled/logits"], arrays["shuffled/orders"]
    arrays["dtd/relevance"] = relevance.astype(np.float64)
    with pytest.raises(VideoXAIError, match="schema says float32"):
        validate_shard(read_shard(write_shard(tmp_path / "bad.h5", "explain", arrays, video_id="v", config={})))
    assert n_group(4) == "n=4" and n_group(2.5) == "n=2.5"


def test_failed_shard_records_one_line_reason(tmp_path):
    path = write_failed_shard(tmp_path / "f.h5", "flow", "cannot be opened\n  (corrupt)", video_id="v", config={})
    shard = read_shard(path)
    validate_shard(shard)
    assert shard.failed and shard.failure_reason == "cannot be opened (corrupt)" and shard.arrays == {}
    assert read_attributes(path)["status"] == "failed"


def test_write_is_atomic_nothing_half_written_remains(tmp_path):
    target = tmp_path / "x.h5"
    write_shard(target, "flow", {"flow": np.zeros((1, 2, 4, 4, 2), np.float16)}, video_id="x", config={"a": 1})

    # a column of Python objects (as pandas 3 can make of ints) is refused, naming the dataset
    with pytest.raises(VideoXAIError, match="'bad' mixes text with object"):
        write_shard(
            target,
            "flow",
            {"flow": np.zeros((1, 2, 4, 4, 2), np.float16), "bad": object()},
            video_id="x",
            config={"a": 2},
        )
    # The old complete file is intact and no temporary file is left behind.
    assert read_shard(target).config == {"a": 1}
    assert sorted(os.listdir(tmp_path)) == ["x.h5"]
    # A temporary file of a hard-killed writer is cleared by the next write of that shard.
    (tmp_path / ".x.h5.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".other.h5.abc123.tmp").write_bytes(b"someone else's")
    write_shard(target, "flow", {"flow": np.zeros((1, 2, 4, 4, 2), np.float16)}, video_id="x", config={"a": 3})
    assert sorted(os.listdir(tmp_path)) == [".other.h5.abc123.tmp", "x.h5"]


def test_table_shard_round_trip(tmp_path):
    table = pd.DataFrame(
        {
            "video": ["a", "a"],
            "clip": [0, 1],
            "n": [np.nan, 4.0],
            "metric": ["precision", "chance"],
            "value": [0.5, 0.25],
        }
    )
    path = write_table_shard(tmp_path / "m.h5", table, video_id="a", config={"tau": [1.0]})
    back, shard = read_table_shard(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert shard.stage == "metrics"


def test_video_ids_are_safe_unique_and_stable(tmp_path):
    for name in ['Class A/it\'s "q" é.mp4', "Class A/plain.mp4", "Class A/plain.avi", "loose.mp4"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a video")
    entries = list_folder(tmp_path)
    ids = [entry.video_id for entry in entries]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert all(all(c.isascii() and (c.isalnum() or c in "_.-") for c in video_id) for video_id in ids)
    assert safe_id("Class/v_x.mp4") == "Class__v_x"
    assert {entry.label for entry in entries} == {"Class A", None}
    assert [entry.video_id for entry in list_folder(tmp_path)] == ids  # stable


def test_csv_listing_labels_optional_and_random_subset(tmp_path):
    (tmp_path / "list.csv").write_text("path,label\na.mp4,run\nsub/b c.mp4,\n")
    entries = list_csv(tmp_path / "list.csv")
    assert [(entry.relative, entry.label) for entry in entries] == [("a.mp4", "run"), ("sub/b c.mp4", None)]
    assert entries[0].path == os.path.join(tmp_path, "a.mp4")
    with pytest.raises(VideoXAIError, match="'path' column"):
        (tmp_path / "bad.csv").write_text("file\nx.mp4\n")
        list_csv(tmp_path / "bad.csv")
    many = list_files(tmp_path, [f"v{index:02d}.mp4" for index in range(20)])
    first = random_subset(many, 5, seed=1)
    assert len(first) == 5 and first == random_subset(many, 5, seed=1) and first != random_subset(many, 5, seed=2)
    assert random_subset(many, None) == many
