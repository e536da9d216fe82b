"""Training C3D with the paper's recipe on a quarter-width network: learns, resumes exactly, CLI works.

Uses the real UCF-101 sample (split 1: 18 train, 7 test videos) when ../shared/data is there,
otherwise generated videos, so the training tests never skip.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from videoxai import VideoXAIError
from videoxai.cli import main
from videoxai.data.splits import read_class_index, read_ucf101_split
from videoxai.data.video import center_crop
from videoxai.models.c3d import C3D, load_c3d, state_dict_for_file
from videoxai.models.training import (
    TrainConfig,
    VideoCache,
    _build_model,
    channel_means,
    read_log,
    to_input,
    train_c3d,
)

CONFIG = dict(width=0.25, iterations=10, batch_size=4, checkpoint_every=3, test_max_clips=1, seed=0)


def _write_video(path, frames):
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (frames.shape[2], frames.shape[1]))
    assert writer.isOpened(), "OpenCV cannot write MJPG .avi here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def make_generated_ucf(base, videos_per_class=4, num_frames=24):
    """A UCF-101-shaped folder: two classes of a bright square moving right or down, and split files."""
    root, splits = base / "videos", base / "splits"
    splits.mkdir(parents=True)
    classes = ["MoveRight", "MoveDown"]
    (splits / "classInd.txt").write_bytes(b"1 MoveRight\r\n2 MoveDown\r\n")
    train_lines, test_lines = [], []
    for label, name in enumerate(classes):
        for group in range(videos_per_class):
            length = 10 if group == 0 else num_frames  # one video shorter than a clip: loop padding
            frames = np.full((length, 120, 160, 3), 30 + 10 * group, np.uint8)
            for t in range(length):
                x, y = (10 + 4 * t, 50) if name == "MoveRight" else (70, 5 + 3 * t)
                frames[t, y : y + 20, x : x + 20] = (230, 200 - 40 * label, 60)
            stem = f"v_{name}_g{group + 1:02d}_c01"
            _write_video(root / name / f"{stem}.avi", frames)
            (test_lines if group == videos_per_class - 1 else train_lines).append((name, stem, label))
    (splits / "trainlist01.txt").write_bytes(
        "".join(f"{name}/{stem}.avi {label + 1}\r\n" for name, stem, label in train_lines).encode()
    )
    (splits / "testlist01.txt").write_bytes("".join(f"{name}/{stem}.avi\r\n" for name, stem, _ in test_lines).encode())
    return root, splits


@pytest.fixture(scope="module")
def generated_ucf(tmp_path_factory):
    return make_generated_ucf(tmp_path_factory.mktemp("generated_ucf"))


@pytest.fixture(scope="module")
def dataset(request, generated_ucf):
    """(train items, test items, class names, cache, kind): the real sample if present, else generated."""
    try:
        shared = request.getfixturevalue("shared_data")
        root, splits, kind = shared / "ucf101_sample", shared / "ucfTrainTestlist", "real"
    except pytest.skip.Exception:
        (root, splits), kind = generated_ucf, "generated"
    train = [(path, label) for path, label, _ in read_ucf101_split(root, splits, 1, "train")]
    test = [(path, label) for path, label, _ in read_ucf101_split(root, splits, 1, "test")]
    return train, test, read_class_index(splits), VideoCache(), kind


@pytest.fixture(scope="module")
def uninterrupted(dataset, tmp_path_factory):
    train, test, names, cache, _ = dataset
    out = tmp_path_factory.mktemp("uninterrupted")
    metrics = train_c3d(train, test, out, names, TrainConfig(**CONFIG), cache=cache, progress=False)
    return out, metrics


def _eval_loss(model, train, mean, cache):
    """Mean cross-entropy (eval mode) of the centre clip of every training video."""
    clips = np.stack(
        [center_crop(cache.frames(path)[np.arange(16) % len(cache.frames(path))], 112) for path, _ in train]
    )
    labels = torch.tensor([label for _, label in train])
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(model.eval()(to_input(clips, mean)), labels))


def test_training_lowers_the_loss_and_writes_every_output(dataset, uninterrupted):
    train, test, names, cache, kind = dataset
    out, metrics = uninterrupted
    assert {path.name for path in out.iterdir()} >= {
        "checkpoint.pth",
        "log.csv",
        "model.safetensors",
        "model.json",
        "metrics.json",
    }
    rows = read_log(out / "log.csv")
    per_epoch = math.ceil(len(train) / 4)
    assert [int(row["iteration"]) for row in rows if row["complete"] == "1"] == list(range(per_epoch, 11, per_epoch))
    assert all(int(row["clips"]) == len(train) for row in rows if row["complete"] == "1")
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"]), rows
    assert all(float(row["lr"]) == 1e-3 for row in rows)

    model, spec = load_c3d(out / "model.safetensors")
    assert spec.class_names == tuple(names) and model.width == 0.25
    expected_mean = channel_means([path for path, _ in train], cache)
    assert spec.mean == pytest.approx(expected_mean) and all(0 < value < 255 for value in spec.mean)
    torch.manual_seed(0)
    initial = C3D(num_classes=len(names), width=0.25)  # the same draw train_c3d starts from
    assert _eval_loss(model, train, spec.mean, cache) < _eval_loss(initial, train, spec.mean, cache)

    saved = json.loads((out / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved["iterations"] == 10 and saved["test_videos"] == len(test) and saved["test_clips"] == len(test)
    assert 0.0 <= saved["test_video_accuracy"] <= 1.0 and saved["seconds_per_iteration"] > 0
    print(
        f"\n[{kind}] loss {rows[0]['train_loss']} -> {rows[-1]['train_loss']}, "
        f"{saved['seconds_per_iteration']:.2f} s/iteration, test accuracy {saved['test_video_accuracy']:.3f}"
    )


class Interrupted(Exception):
    pass


def test_interrupted_and_resumed_equals_uninterrupted(dataset, uninterrupted, tmp_path):
    train, test, names, cache, _ = dataset
    reference, reference_metrics = uninterrupted

    def stop_at_four(iteration, loss):
        if iteration == 4:  # after the checkpoint of iteration 3: iteration 4 is lost and redone
            raise Interrupted

    with pytest.raises(Interrupted):
        train_c3d(
            train, test, tmp_path, names, TrainConfig(**CONFIG), cache=cache, progress=False, on_iteration=stop_at_four
        )
    assert torch.load(tmp_path / "checkpoint.pth", weights_only=True)["progress"]["iteration"] == 3
    assert not (tmp_path / "model.safetensors").exists()
    metrics = train_c3d(train, test, tmp_path, names, TrainConfig(**CONFIG), cache=cache, progress=False)

    from safetensors.torch import load_file

    resumed, uninterrupted_weights = (
        load_file(tmp_path / "model.safetensors"),
        load_file(reference / "model.safetensors"),
    )
    assert resumed.keys() == uninterrupted_weights.keys()
    for key in resumed:
        assert torch.equal(resumed[key], uninterrupted_weights[key]), key
    assert (tmp_path / "log.csv").read_bytes() == (reference / "log.csv").read_bytes()
    for key in ("test_video_accuracy", "test_clip_accuracy", "final_train_loss", "iterations", "mean"):
        assert metrics[key] == reference_metrics[key], key

    with pytest.raises(
        VideoXAIError, match=r"checkpoint.pth: checkpoint was made with different settings \(lr: 0.001 vs 0.01\)"
    ):
        train_c3d(train, test, tmp_path, names, TrainConfig(**dict(CONFIG, lr=0.01)), cache=cache, progress=False)


def test_init_from_sports1m_replaces_fc8(tmp_path):
    torch.manual_seed(3)
    sports1m = C3D(num_classes=487, width=0.25)
    path = tmp_path / "c3d_sports1m.pth"
    torch.save(state_dict_for_file(sports1m), path)
    model = _build_model(TrainConfig(width=0.25), num_classes=101, init=path)
    assert model.fc8.out_features == 101
    assert torch.equal(model.conv1.weight, sports1m.conv1.weight.flip(1))  # BGR Caffe weights -> RGB input
    assert torch.equal(model.fc7.weight, sports1m.fc7.weight)
    with pytest.raises(VideoXAIError, match="wrong shapes"):
        _build_model(TrainConfig(width=0.5), num_classes=101, init=path)


def test_cli_trains_on_generated_videos(generated_ucf, tmp_path, capsys):
    root, splits = generated_ucf
    out = tmp_path / "run"
    arguments = [
        "train",
        "--root",
        str(root),
        "--splits",
        str(splits),
        "--split",
        "1",
        "--out",
        str(out),
        "--width",
        "0.25",
        "--iterations",
        "2",
        "--batch-size",
        "3",
        "--checkpoint-every",
        "1",
        "--test-max-clips",
        "2",
        "--no-progress",
    ]
    assert main(arguments) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["iterations"] == 2 and 0.0 <= summary["test_video_accuracy"] <= 1.0
    rows = read_log(out / "log.csv")
    assert [(row["iteration"], row["complete"], row["clips"]) for row in rows] == [("2", "1", "6")]
    model, spec = load_c3d(out / "model.safetensors")
    assert spec.class_names == ("MoveRight", "MoveDown") and model.fc8.out_features == 2
    # running again with --resume finds the finished checkpoint and trains no further
    assert main(arguments + ["--resume"]) == 0
    assert read_log(out / "log.csv") == rows


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--root",
                str(tmp_path / "none"),
                "--splits",
                str(tmp_path),
                "--out",
                str(tmp_path / "o"),
                "--no-progress",
            ]
        )
        == 1
    )
    error = capsys.readouterr().err
    assert error.startswith("videoxai: error: ") and "classInd.txt: split file not found" in error
    assert "Traceback" not in error


@pytest.mark.slow
def test_the_train_model_rule_trains_through_snakemake_and_a_mistyped_key_stops_it(generated_ucf, tmp_path):
    """Rule train_model for real: the schema's train section fills what the study leaves out, the
    rule writes the weights the explain rules would read, and a mistyped key stops the run
    before any work with a message that names it."""
    root, splits = generated_ucf
    repo = Path(__file__).resolve().parents[1]
    snakemake = Path(sys.executable).with_name("snakemake")
    model = tmp_path / "c3d.safetensors"
    train = {"root": str(root), "splits": str(splits), "out": str(tmp_path / "run"), "model": str(model)}
    train |= {"width": 0.25, "iterations": 2, "batch_size": 3, "checkpoint_every": 1, "test_max_clips": 2}
    study = {"model": {"name": "c3d", "weights": str(model)}, "train": {**train, "threads": 1}}

    def run(config: dict) -> subprocess.CompletedProcess:
        (tmp_path / "study.yaml").write_text(yaml.safe_dump(config))
        return subprocess.run(
            [str(snakemake), "--snakefile", str(repo / "Snakefile"), "--directory", str(tmp_path)]
            + ["--configfile", str(tmp_path / "study.yaml"), "--cores", "1", str(model)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(repo / "src")},
            timeout=600,
        )

    mistyped = run({**study, "train": {**study["train"], "iteratons": 5}})
    assert mistyped.returncode != 0 and "iteratons" in mistyped.stderr + mistyped.stdout
    assert not (tmp_path / "run").exists()
    completed = run(study)
    assert completed.returncode == 0, completed.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["iterations"] == 2 and 0.0 <= metrics["test_video_accuracy"] <= 1.0
    trained, spec = load_c3d(model)
    assert spec.class_names == ("MoveRight", "MoveDown") and trained.fc8.out_features == 2
