"""Which class is explained: label maps, explain.target label vs top1, and the correct columns."""

import math

import numpy as np
import pandas as pd
import pytest

from videoxai.core.errors import ConfigurationError
from videoxai.core.label_map import class_index, read_label_map
from videoxai.core.study_config import check_study_config, known_class_names
from videoxai.evaluation.correctness import mark_correct, prediction_groups
from videoxai.explain import get_explainer
from videoxai.explain.batched import VideoClips, explain_videos
from videoxai.models import load_configured
from videoxai.report.correctness import table1_by_correct, write_table1_by_correct

TINY = {
    "name": "workflow_models:tiny_net",
    "weights": None,
    "options": {},
    "spec": {"num_frames": 8, "size": 16, "scale": 1 / 127.5, "offset": -1.0, "num_classes": 3},
}


# ----------------------------------------------------------------------------- label maps


def test_shipped_ucf101_map_names_kinetics_classes_and_leaves_others_unmapped():
    mapping = read_label_map("ucf101_kinetics400")
    kinetics = known_class_names({"name": "i3d_kinetics400", "options": {}, "spec": None})
    assert len(kinetics) == 400
    assert {name.casefold() for name in mapping.values()} <= {name.casefold() for name in kinetics}
    assert class_index("CliffDiving", kinetics, mapping) == kinetics.index("diving cliff")
    assert class_index("Skijet", kinetics, mapping) == kinetics.index("jetskiing")
    assert class_index("Knitting", kinetics, mapping) == kinetics.index("knitting")
    assert class_index("PlayingPiano", kinetics, mapping) == kinetics.index("playing piano")
    assert class_index("HandstandPushups", kinetics, mapping) == -1  # no Kinetics counterpart
    assert class_index(None, kinetics, mapping) == -1


def test_shipped_map_covers_only_ucf101_classes(shared_data):
    names = {
        line.split()[1]
        for line in (shared_data / "ucfTrainTestlist" / "classInd.txt").read_text().splitlines()
        if line.strip()
    }
    mapping = read_label_map("ucf101_kinetics400")
    assert set(mapping) <= {name.casefold() for name in names}


def test_a_csv_label_map_is_case_insensitive_and_labels_that_are_classes_count(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("label,class\nRunFast, sprint \n\nJogSlow,Jog\n", encoding="utf-8")
    mapping = read_label_map(path)
    assert mapping == {"runfast": "sprint", "jogslow": "Jog"}
    classes = ["jog", "sprint", "walk"]
    assert class_index("runfast", classes, mapping) == 1
    assert class_index("JOGSLOW", classes, mapping) == 0
    assert class_index("Walk", classes, mapping) == 2  # already a class name
    assert class_index("swim", classes, mapping) == -1
    assert read_label_map(None) == {}


@pytest.mark.parametrize(
    "text, reason",
    [
        ("name,target\na,b\n", "needs a header with 'label' and 'class'"),
        ("label,class\na,\n", "line 2: needs both a label and a class"),
        ("label,class\na,b\nA,c\n", "maps to both 'b' and 'c'"),
        ("label,class\n", "has no rows"),
    ],
)
def test_a_bad_label_map_names_the_key(tmp_path, text, reason):
    path = tmp_path / "map.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="videos.label_map") as error:
        read_label_map(path)
    assert reason in str(error.value)
    with pytest.raises(ConfigurationError, match=r"videos\.label_map: .*neither a shipped map"):
        read_label_map(tmp_path / "missing.csv")


def _config(label_map, target="top1", model=None):
    return {
        "model": model or {"name": "i3d_kinetics400", "weights": None, "options": {}, "spec": None},
        "videos": {"label_map": label_map},
        "explain": {"methods": ["dtd"], "options": {}, "target": target},
        "faithfulness": {"enabled": False},
    }


def test_study_config_refuses_a_map_to_a_class_the_model_lacks(tmp_path):
    check_study_config(_config("ucf101_kinetics400", "label"))
    path = tmp_path / "map.csv"
    path.write_text("label,class\nCliffDiving,cliff jumping\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"configuration error: videos\.label_map: maps to 'cliff jumping'"):
        check_study_config(_config(str(path)))
    with pytest.raises(ConfigurationError, match=r"configuration error: explain\.target: use top1 or label"):
        check_study_config(_config(None, "truth"))


# ----------------------------------------------------------------------------- explain.target


@pytest.fixture()
def tiny(monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    return load_configured(TINY)


def test_label_target_explains_the_labels_class_and_top1_the_prediction(tiny):
    model, spec = tiny
    rng = np.random.default_rng(0)
    labelled = rng.integers(0, 256, (3, 8, 16, 16, 3), dtype=np.uint8)
    unlabelled = rng.integers(0, 256, (2, 8, 16, 16, 3), dtype=np.uint8)
    inputs = spec.preprocess(labelled)
    top1 = get_explainer("dtd", model, spec=spec).attribute(inputs).target.numpy()
    label = int(next(k for k in range(3) if k not in set(top1.tolist())))  # a class top-1 never picks
    # batch_size 2 puts a labelled and an unlabelled clip in one batch: they must not share a target
    results = dict(
        explain_videos(
            model,
            spec,
            [VideoClips("a", labelled, target=label), VideoClips("b", unlabelled, target=None)],
            ["dtd", "gradcam"],
            {"gradcam": {"layer": "3"}},
            batch_size=2,
        )
    )
    a, b = results["a"], results["b"]
    for method in ("dtd", "gradcam"):
        np.testing.assert_array_equal(a[f"{method}/target"], [label] * 3)
        np.testing.assert_array_equal(a[f"{method}/predicted"], top1)
        np.testing.assert_array_equal(b[f"{method}/target"], b[f"{method}/predicted"])
    np.testing.assert_array_equal(a["target_is_label"], [True] * 3)
    np.testing.assert_array_equal(b["target_is_label"], [False] * 2)
    direct = get_explainer("dtd", model, spec=spec).attribute(inputs, target=label).relevance.numpy()
    np.testing.assert_allclose(a["dtd/relevance"], direct, rtol=1e-5, atol=1e-7)
    other = get_explainer("dtd", model, spec=spec).attribute(inputs).relevance.numpy()
    assert not np.allclose(a["dtd/relevance"], other)


# ----------------------------------------------------------------------------- correct columns


def _rows(video, clips, metric="precision", method="dtd", values=None):
    values = values if values is not None else [0.5] * clips
    return pd.DataFrame(
        {
            "video": video,
            "clip": np.arange(clips),
            "method": method,
            "variant": "baseline" if method else "",
            "n": np.nan,
            "tau": 2.0 if metric in ("precision", "chance") else np.nan,
            "q": np.nan,
            "other_method": "",
            "metric": metric,
            "value": values,
        }
    )


def test_mark_correct_by_hand():
    frame = pd.concat(
        [_rows("v", 3, method="dtd"), _rows("v", 3, method="gradcam"), _rows("v", 3, "chance", method="")],
        ignore_index=True,
    )
    labels = np.array([4, 4, -1])
    predicted = np.array([4, 1, 2])
    # top-1 targets: explained = predicted
    marked = mark_correct(frame, labels, predicted, {"dtd": predicted, "gradcam": predicted})
    for method in ("dtd", "gradcam", ""):
        rows = marked[marked["method"] == method].sort_values("clip")
        np.testing.assert_array_equal(rows["correct"], [1.0, 0.0, np.nan])
        np.testing.assert_array_equal(rows["predicted_correct"], [1.0, 0.0, np.nan])
    # label targets: dtd explained the label where known, gradcam (hypothetically) class 1 throughout
    marked = mark_correct(frame, labels, predicted, {"dtd": np.array([4, 4, 2]), "gradcam": np.array([1, 1, 1])})
    dtd = marked[marked["method"] == "dtd"].sort_values("clip")
    np.testing.assert_array_equal(dtd["correct"], [1.0, 1.0, np.nan])
    np.testing.assert_array_equal(dtd["predicted_correct"], [1.0, 0.0, np.nan])
    gradcam = marked[marked["method"] == "gradcam"].sort_values("clip")
    np.testing.assert_array_equal(gradcam["correct"], [0.0, 0.0, np.nan])
    chance = marked[marked["method"] == ""].sort_values("clip")  # per-clip rows follow the first method
    np.testing.assert_array_equal(chance["correct"], [1.0, 1.0, np.nan])
    assert "correct" not in frame.columns  # a copy


def test_table1_splits_clips_by_their_prediction(tmp_path):
    # Video x: clip 0 correct (precision 0.9), clip 1 wrong (0.1); video y: unknown label (0.4).
    frame = pd.concat(
        [
            _rows("x", 2, values=[0.9, 0.1]),
            _rows("x", 2, "chance", method="", values=[0.3, 0.3]),
            _rows("x", 2, "correct", method="", values=[1.0, 0.0]).assign(tau=np.nan),
            _rows("y", 1, values=[0.4]),
            _rows("y", 1, "chance", method="", values=[0.2]),
        ],
        ignore_index=True,
    )
    assert prediction_groups(frame).tolist() == ["correct", "incorrect"] * 3 + ["unknown"] * 2
    table = table1_by_correct(frame, tau=2.0, q=math.nan)
    assert table["prediction"].tolist() == ["correct", "incorrect", "unknown"]
    np.testing.assert_allclose(table["precision_mean"], [0.9, 0.1, 0.4])
    np.testing.assert_allclose(table["chance_mean"], [0.3, 0.3, 0.2])
    assert table["clips"].tolist() == [1, 1, 1]
    written = write_table1_by_correct(frame, tmp_path, tau=2.0)
    assert [path.name for path in written] == ["table1_by_correct.csv", "table1_by_correct.md", "table1_by_correct.tex"]
    markdown = (tmp_path / "table1_by_correct.md").read_text()
    assert "top-1 prediction is the true class: 1 clips" in markdown and "unknown" in markdown
    # no metric rows: nothing written, stale files removed
    assert write_table1_by_correct(frame.iloc[:0], tmp_path) == []
    assert not (tmp_path / "table1_by_correct.csv").exists()
