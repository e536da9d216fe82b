"""UCF-101 split files as released: CRLF, .avi names, the HandstandPushups/HandStandPushups quirk."""

from __future__ import annotations

import pytest

from videoxai import VideoXAIError
from videoxai.data.splits import read_class_index, read_ucf101_split


def test_real_split1_on_the_sample(shared_data):
    root, splits = shared_data / "ucf101_sample", shared_data / "ucfTrainTestlist"
    names = read_class_index(splits)
    assert len(names) == 101 and names[0] == "ApplyEyeMakeup" and names[36] == "HandstandPushups"
    train = read_ucf101_split(root, splits, split=1, subset="train")
    test = read_ucf101_split(root, splits, split=1, subset="test")
    assert (len(train), len(test)) == (18, 7)
    assert not {path for path, _, _ in train} & {path for path, _, _ in test}
    every = sorted(path for path, _, _ in train + test)
    assert every == sorted((root).glob("*/*.mp4"))  # all 25 clips, .mp4 found from .avi names
    handstand = [(path, label, name) for path, label, name in train + test if name == "HandstandPushups"]
    assert len(handstand) == 5 and {label for _, label, _ in handstand} == {36}
    assert all(path.name.startswith("v_HandStandPushups_") for path, _, _ in handstand)
    assert {name for _, _, name in train} == {"CliffDiving", "HandstandPushups", "Knitting", "PlayingPiano", "Skijet"}
    for path, label, name in train + test:
        assert path.parent.name == name and names[label] == name
    with pytest.raises(VideoXAIError, match=r"testlist01.txt: 3\d{3} listed videos are not under"):
        read_ucf101_split(root, splits, split=1, subset="test", missing="error")


def _write(path, lines):
    path.write_bytes("".join(f"{line}\r\n" for line in lines).encode())


@pytest.fixture
def tiny_ucf(tmp_path):
    splits = tmp_path / "splits"
    splits.mkdir()
    _write(splits / "classInd.txt", ["1 Archery", "2 HandstandPushups", "3 YoYo"])
    _write(
        splits / "trainlist02.txt",
        ["Archery/v_Archery_g08_c01.avi 1", "HandstandPushups/v_HandStandPushups_g08_c01.avi 2"],
    )
    _write(splits / "testlist02.txt", ["YoYo/v_YoYo_g01_c01.avi", "Archery/v_Archery_g01_c01.avi"])
    root = tmp_path / "videos"
    for relative in (
        "Archery/v_Archery_g08_c01.mp4",
        "HandstandPushups/v_HandStandPushups_g08_c01.avi",
        "YoYo/v_YoYo_g01_c01.mkv",
        "YoYo/notes.txt",
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"x")
    return root, splits


def test_crlf_lists_match_by_stem(tiny_ucf):
    root, splits = tiny_ucf
    assert read_class_index(splits) == ["Archery", "HandstandPushups", "YoYo"]
    train = read_ucf101_split(root, splits, split=2, subset="train")
    assert [(path.relative_to(root).as_posix(), label, name) for path, label, name in train] == [
        ("Archery/v_Archery_g08_c01.mp4", 0, "Archery"),
        ("HandstandPushups/v_HandStandPushups_g08_c01.avi", 1, "HandstandPushups"),
    ]
    test = read_ucf101_split(root, splits, split=2, subset="test")
    assert [(path.name, label) for path, label, _ in test] == [("v_YoYo_g01_c01.mkv", 2)]
    with pytest.raises(VideoXAIError, match=r"1 listed videos are not under .*Archery/v_Archery_g01_c01.avi"):
        read_ucf101_split(root, splits, split=2, subset="test", missing="error")


def test_bad_split_arguments_and_files(tiny_ucf, tmp_path):
    root, splits = tiny_ucf
    with pytest.raises(VideoXAIError, match="subset must be 'train' or 'test'"):
        read_ucf101_split(root, splits, subset="val")
    with pytest.raises(VideoXAIError, match="splits 1, 2 and 3"):
        read_ucf101_split(root, splits, split=4)
    with pytest.raises(VideoXAIError, match="trainlist01.txt: split file not found"):
        read_ucf101_split(root, splits, split=1, subset="train")
    with pytest.raises(VideoXAIError, match="video folder not found"):
        read_ucf101_split(tmp_path / "nowhere", splits, split=2)
    _write(splits / "testlist03.txt", ["Unknown/v_Unknown_g01_c01.avi"])
    with pytest.raises(VideoXAIError, match="class 'Unknown' is not in classInd.txt"):
        read_ucf101_split(root, splits, split=3)
    _write(splits / "classInd.txt", ["1 Archery", "3 YoYo"])
    with pytest.raises(VideoXAIError, match="classInd.txt: class indices must run 1..N"):
        read_class_index(splits)
