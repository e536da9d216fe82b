"""Overlay rendering and ``videoxai explain`` end to end on a synthetic video and a tiny model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from videoxai import models
from videoxai.cli import main
from videoxai.errors import VideoXAIError
from videoxai.overlay import overlay_relevance, side_by_side, write_video
from videoxai.video import read_video

from test_explain import SPEC, make_model  # noqa: E402  (tests/ is on sys.path under pytest)


def test_overlay_colours_by_hand():
    frames = np.full((1, 1, 3, 3), 100, dtype=np.uint8)
    relevance = np.array([[[2.0, 0.0, -1.0]]], dtype=np.float32)
    out = overlay_relevance(frames, relevance, opacity=0.5)
    # full-strength red at 50 % opacity, the plain frame, and blue at 25 % opacity (|−1| / 2)
    np.testing.assert_array_equal(out[0, 0, 0], np.rint([100 * 0.5 + 255 * 0.5, 100 * 0.5 + 15, 50]).astype(np.uint8))
    np.testing.assert_array_equal(out[0, 0, 1], [100, 100, 100])
    np.testing.assert_array_equal(out[0, 0, 2], np.rint([75, 75 + 22.5, 75 + 63.75]).astype(np.uint8))
    assert np.array_equal(overlay_relevance(frames, np.zeros((1, 1, 3))), frames)
    with pytest.raises(VideoXAIError, match="same size"):
        overlay_relevance(frames, np.zeros((1, 2, 3)))


def test_side_by_side_and_writers(tmp_path):
    left = np.zeros((4, 10, 12, 3), dtype=np.uint8)
    left[:] = (np.arange(4) * 40)[:, None, None, None]  # Pillow merges identical GIF frames
    right = np.full((4, 10, 12, 3), 200, dtype=np.uint8)
    both = side_by_side([left, right], gap=4)
    assert both.shape == (4, 10, 28, 3)
    mp4 = write_video(both, tmp_path / "out.mp4", fps=5)
    video = read_video(mp4)
    assert video.frames.shape == (4, 10, 28, 3)
    gif = write_video(both, tmp_path / "out.gif", fps=5)
    with Image.open(gif) as image:
        assert image.n_frames == 4 and image.size == (28, 10)
    with pytest.raises(VideoXAIError, match=".mp4 or .gif"):
        write_video(both, tmp_path / "out.avi")


@pytest.fixture
def synthetic_video(tmp_path):
    """20 frames, 40x48, a bright square moving right over a dark background."""
    path = tmp_path / "moving_square.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (48, 40))
    for index in range(20):
        frame = np.full((40, 48, 3), 30, dtype=np.uint8)
        frame[12:28, 2 + index : 18 + index] = 230
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def tiny_model(monkeypatch):
    model = make_model()

    def fake_load(name, weights=None, device="cpu", spec=None, **options):
        assert name == "tiny" and options == {"width": 0.25}
        return model, SPEC

    monkeypatch.setattr(models, "load", fake_load)
    return model


@pytest.mark.parametrize("method", ["dtd", "guided_gradcam"])
@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_cli_writes_side_by_side_video(synthetic_video, tiny_model, tmp_path, capsys, method, suffix):
    out = tmp_path / f"explained{suffix}"
    code = main([
        "explain", str(synthetic_video), "--model", "tiny", "--model-option", "width=0.25",
        "--method", method, "--n", "1", "--clips", "2", "--scale", "2", "--out", str(out),
    ])
    assert code == 0
    assert "keeps" in capsys.readouterr().out
    frames_expected = 2 * SPEC.num_frames
    width = 2 * (2 * SPEC.size) + 4
    height = 2 * SPEC.size + 18
    if suffix == ".mp4":
        frames = read_video(out).frames
        assert frames.shape == (frames_expected, height, width, 3)
    else:
        with Image.open(out) as image:
            assert image.n_frames == frames_expected and image.size == (width, height)


@pytest.mark.parametrize("method, options", [
    ("flow_occlusion_approx", ["size=8", "stride=8"]),  # Farnebäck flow of the clip's own frames
    ("occlusion", ["size=16", "stride=16", "temporal_stride=8"]),
    ("fep", ["iterations=2"]),
])
def test_cli_takes_every_method_and_its_options(synthetic_video, tiny_model, tmp_path, capsys, method, options):
    out = tmp_path / "explained.gif"
    arguments = ["explain", str(synthetic_video), "--model", "tiny", "--model-option", "width=0.25",
                 "--method", method, "--clips", "1", "--out", str(out)]
    for option in options:
        arguments += ["--method-option", option]
    assert main(arguments) == 0
    assert f"method {method}" in capsys.readouterr().out and out.stat().st_size > 0


def test_cli_reports_errors_without_traceback(synthetic_video, tiny_model, tmp_path, capsys):
    assert main(["explain", str(tmp_path / "missing.mp4"), "--model", "tiny", "--model-option", "width=0.25",
                 "--out", str(tmp_path / "x.mp4")]) == 1
    assert "video file not found" in capsys.readouterr().err
    assert main(["explain", str(synthetic_video), "--model", "tiny", "--out", str(tmp_path / "x.avi")]) == 1
    assert ".mp4 or .gif" in capsys.readouterr().err
    assert main(["explain", str(synthetic_video), "--model", "tiny", "--model-option", "width=0.25",
                 "--target", "zebra", "--out", str(tmp_path / "x.gif")]) == 1
    assert "zebra" in capsys.readouterr().err


def test_cli_on_quarter_width_c3d(synthetic_video, tmp_path):
    c3d = pytest.importorskip("videoxai.models.c3d")
    if not hasattr(c3d, "load_c3d"):
        pytest.skip("C3D loader not available yet")
    out = tmp_path / "c3d.gif"
    code = main([
        "explain", str(synthetic_video), "--model", "c3d", "--model-option", "random_init=true",
        "--model-option", "width=0.25", "--model-option", "num_classes=7",
        "--method", "gradcam", "--n", "2", "--scale", "1", "--out", str(out),
    ])
    assert code == 0
    with Image.open(out) as image:
        assert image.n_frames == 16
