"""UCF101-24's pyannot.pkl to the box CSV, through an unpickler that refuses anything but
builtin containers and NumPy arrays and scalars."""

import os
import pickle

import numpy as np
import pytest

from videoxai.cli import main
from videoxai.core.errors import VideoXAIError
from videoxai.data.ucf24 import pyannot_rows, read_numpy_pickle
from videoxai.evaluation.faithfulness import read_annotations


def hand_written_pyannot() -> dict:
    """Two videos as the authors' pickle holds them: NumPy integer arrays and scalars."""
    return {
        "Skijet/v_Skijet_g01_c03": {
            "numf": np.int64(40),
            "label": np.int64(20),
            "annotations": [
                # two tubes overlapping on frames 11 and 12
                {"sf": 10, "ef": 13, "label": 20, "boxes": np.array([[5, 6, 10, 20], [6, 6, 10, 20], [7, 6, 10, 20]])},
                {"sf": np.int64(11), "ef": np.int64(13), "label": 20, "boxes": np.array([[100, 50, 4, 8]] * 2)},
            ],
        },
        "CliffDiving/v_CliffDiving_g03_c02": {
            "numf": 30,
            "label": 3,
            "annotations": [{"sf": 0, "ef": 1, "label": 3, "boxes": np.array([[90, 81, 85, 117]], np.int32)}],
        },
    }


def test_round_trip_of_a_hand_written_pickle(tmp_path, capsys):
    source = tmp_path / "pyannot.pkl"
    # protocol 2, as a pickle written for Python 2 and 3 alike (bytes go through _codecs.encode)
    source.write_bytes(pickle.dumps(hand_written_pyannot(), protocol=2))
    assert main(["boxes-from-pyannot", str(source), str(tmp_path / "boxes.csv")]) == 0
    assert "wrote 6 boxes" in capsys.readouterr().out
    lines = (tmp_path / "boxes.csv").read_text().splitlines()
    assert lines == [
        "video,frame,x1,y1,x2,y2",
        "v_CliffDiving_g03_c02,0,90,81,175,198",  # the first row of the shared CSV, by hand
        "v_Skijet_g01_c03,10,5,6,15,26",
        "v_Skijet_g01_c03,11,6,6,16,26",
        "v_Skijet_g01_c03,11,100,50,104,58",
        "v_Skijet_g01_c03,12,7,6,17,26",
        "v_Skijet_g01_c03,12,100,50,104,58",
    ]
    # what the pointing game reads back: two boxes on frame 11
    boxes = read_annotations(tmp_path / "boxes.csv")["v_Skijet_g01_c03"]["boxes"]
    np.testing.assert_array_equal(boxes[11], [[6, 6, 16, 26], [100, 50, 104, 58]])
    assert sorted(boxes) == [10, 11, 12]


class Exploit:
    """Unpickling this calls os.system (it would create the marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    tree = hand_written_pyannot()
    tree["Skijet/v_Skijet_g01_c03"]["annotations"][0]["label"] = Exploit(marker)
    source = tmp_path / "pyannot.pkl"
    source.write_bytes(pickle.dumps(tree))
    with pytest.raises(VideoXAIError, match=r"forbidden global (posix|nt)\.system") as error:
        read_numpy_pickle(source)
    assert str(source) in str(error.value)
    assert not marker.exists()
    # the command says so and writes nothing
    assert main(["boxes-from-pyannot", str(source), str(tmp_path / "boxes.csv")]) == 1
    assert not marker.exists() and not (tmp_path / "boxes.csv").exists()


def test_object_arrays_and_other_classes_are_refused(tmp_path):
    source = tmp_path / "objects.pkl"
    source.write_bytes(pickle.dumps({"a": np.array([{"x": 1}], dtype=object)}))
    with pytest.raises(VideoXAIError, match="Python objects inside a NumPy array"):
        read_numpy_pickle(source)
    source.write_bytes(pickle.dumps({"a": {1, 2}, "b": __import__("collections").OrderedDict()}))
    with pytest.raises(VideoXAIError, match="forbidden global collections.OrderedDict"):
        read_numpy_pickle(source)
    # _codecs.encode is let through for latin1 bytes only, not as a general codec call
    source.write_bytes(
        b"\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00abcq\x01X\x06\x00\x00\x00base64q\x02\x86q\x03Rq\x04."
    )
    with pytest.raises(VideoXAIError, match="_codecs.encode with 'base64'"):
        read_numpy_pickle(source)


def test_malformed_annotations_name_the_video_and_tube(tmp_path):
    tree = hand_written_pyannot()
    tree["Skijet/v_Skijet_g01_c03"]["annotations"][1]["ef"] = 14  # 3 frames, 2 boxes
    with pytest.raises(VideoXAIError, match=r"video 'Skijet/v_Skijet_g01_c03' tube 1: boxes must be .* \(3, 4\)"):
        pyannot_rows(tree)
    with pytest.raises(VideoXAIError, match="expected a dict of videos"):
        pyannot_rows([1, 2])
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(VideoXAIError, match="empty"):
        read_numpy_pickle(tmp_path / "empty.pkl")
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps(hand_written_pyannot())[:40])
    with pytest.raises(VideoXAIError, match="cannot read the pickle"):
        read_numpy_pickle(tmp_path / "cut.pkl")
