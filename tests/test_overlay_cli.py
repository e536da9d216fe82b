"""Overlay rendering and ``videoxai explain`` end to end on a synthetic video and a tiny model."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image
from test_explain import SPEC, make_model  # noqa: E402  (tests/ is on sys.path under pytest)

from videoxai import models
from videoxai.cli import main
from videoxai.core.errors import VideoXAIError
from videoxai.data.video import read_video
from videoxai.report.colour import SCALE_PERCENTILE, colour_table, colourise, relevance_scale
from videoxai.report.overlay import (
    ExplainedClips,
    colour_bar,
    contact_sheet,
    overlay_relevance,
    render_explanation,
    side_by_side,
    text_band,
    write_video,
)


def test_overlay_colours_by_hand():
    frames = np.full((1, 1, 3, 3), 100, dtype=np.uint8)
    relevance = np.array([[[2.0, 0.0, -1.0]]], dtype=np.float32)
    out = overlay_relevance(frames, relevance, scale=2.0, opacity=0.5).astype(float)
    grey = 51 + 0.6 * 100  # the muted grey frame under the relevance
    table = colour_table()
    # +2 = full scale: the map's darkest red at 50 % opacity; 0: the grey frame; -1: half-way blue at 25 %
    np.testing.assert_allclose(out[0, 0, 0], np.rint(grey * 0.5 + table[-1] * 0.5), atol=1)
    np.testing.assert_allclose(out[0, 0, 1], [grey] * 3, atol=1)
    np.testing.assert_allclose(out[0, 0, 2], np.rint(grey * 0.75 + colourise(np.float32(-0.5)) * 0.25), atol=1)
    assert table[-1][0] > 2 * table[-1][2] and table[0][2] > 2 * table[0][0]  # red positive, blue negative
    assert np.array_equal(overlay_relevance(frames, np.zeros((1, 1, 3)), background="colour"), frames)
    with pytest.raises(VideoXAIError, match="same size"):
        overlay_relevance(frames, np.zeros((1, 2, 3)))


def test_percentile_scale_shows_sparse_maps():
    """One hot voxel 1000x above the rest: scaled by the maximum, the other voxels would get
    0.1 % opacity; the shared percentile scale draws them at full strength."""
    rng = np.random.default_rng(0)
    relevance = np.zeros((4, 20, 20), dtype=np.float32)
    relevance.flat[rng.choice(relevance.size, 40, replace=False)] = 1.0
    relevance[0, 0, 0] = 1000.0
    assert relevance_scale(relevance) == pytest.approx(1.0)
    assert relevance_scale(relevance, 100) == pytest.approx(1000.0)
    assert relevance_scale(np.zeros((2, 3))) == 1.0
    assert relevance_scale(np.array([0.0] * 999 + [5.0])) == 5.0  # percentile 0: the maximum
    frames = np.full((4, 20, 20, 3), 128, dtype=np.uint8)
    drawn = overlay_relevance(frames, relevance)
    changed = np.abs(drawn.astype(int) - overlay_relevance(frames, np.zeros_like(relevance)).astype(int)).max(axis=-1)
    assert (changed[relevance == 1.0] > 60).all()


def test_figure3_grid_and_overlay_share_the_scale(monkeypatch, tmp_path):
    from videoxai.report import figures as plots

    seen = []
    monkeypatch.setattr(plots, "relevance_scale", lambda values, p: seen.append(p) or relevance_scale(values, p))
    frames = np.full((2, 8, 8, 3), 90, dtype=np.uint8)
    plots.figure3_grid(frames, {"dtd": np.ones((2, 8, 8))}, {}, tmp_path / "grid.png")
    assert seen == [SCALE_PERCENTILE]


def test_side_by_side_and_writers(tmp_path):
    left = np.zeros((4, 10, 12, 3), dtype=np.uint8)
    left[:] = (np.arange(4) * 40)[:, None, None, None]  # Pillow merges identical GIF frames
    right = np.full((4, 10, 12, 3), 200, dtype=np.uint8)
    both = side_by_side([left, right], gap=4)
    assert both.shape == (4, 10, 28, 3)
    mp4 = write_video(both, tmp_path / "out.mp4", fps=5)
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert float(container.duration / av.time_base) == pytest.approx(4 / 5, abs=0.05)
    video = read_video(mp4)  # OpenCV reads it back too
    assert video.frames.shape == (4, 10, 28, 3)
    assert abs(int(video.frames[3, 5, 5, 0]) - 120) < 8 and abs(int(video.frames[0, 5, 20, 0]) - 200) < 8
    gif = write_video(both, tmp_path / "out.gif", fps=5)
    with Image.open(gif) as image:
        assert image.n_frames == 4 and image.size == (28, 10)
    with pytest.raises(VideoXAIError, match=".mp4 or .gif"):
        write_video(both, tmp_path / "out.avi")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gif", "out.mp4"]  # no temporaries left


def test_rendered_frames_carry_method_class_time_and_colour_bar():
    rng = np.random.default_rng(1)
    clips = rng.integers(0, 255, (2, 3, 16, 16, 3), dtype=np.uint8)
    baseline = rng.normal(size=(2, 3, 16, 16)).astype(np.float32)
    explained = ExplainedClips(
        clips=clips,
        baseline=baseline,
        selective=baseline * (np.abs(baseline) > 1.5),
        method="Grad-CAM",
        classes=["a", "b"],
        probabilities=[0.5, 0.25],
        n=2.0,
        kept=[0.1, 0.2],
        times=np.arange(6).reshape(2, 3) / 10,
    )
    frames = render_explanation(explained, factor=8)
    assert frames.shape[0] == 6 and frames.shape[2] == 2 * 16 * 8 + 4
    header = text_band(["x", "y"], frames.shape[2]).shape[0]
    # the header differs between frames (their times) and the colour bar at the bottom is red to blue
    assert not np.array_equal(frames[0, :header], frames[1, :header])
    bar = frames[0, -colour_bar(frames.shape[2], 1.0).shape[0] :]
    row = bar[8]
    assert row[20, 2] > row[20, 0] and row[-20, 0] > row[-20, 2]
    sheet = contact_sheet(explained, count=4)
    assert sheet.ndim == 3 and sheet.shape[1] == 120 + 4 * 16 + 3 * 4
    with pytest.raises(VideoXAIError, match="times"):
        ExplainedClips(
            clips=clips,
            baseline=baseline,
            selective=baseline,
            method="m",
            classes=["a", "b"],
            probabilities=[1, 1],
            n=1,
            kept=[0, 0],
            times=np.zeros(6),
        )


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
    sheet = tmp_path / "sheet.png"
    code = main(
        [
            "explain",
            str(synthetic_video),
            "--model",
            "tiny",
            "--model-option",
            "width=0.25",
            "--method",
            method,
            "--n",
            "1",
            "--clips",
            "2",
            "--scale",
            "10",
            "--out",
            str(out),
            "--sheet",
            str(sheet),
            "--sheet-frames",
            "5",
        ]
    )
    assert code == 0
    assert "keeps" in capsys.readouterr().out
    frames_expected = 2 * SPEC.num_frames
    width = 2 * (10 * SPEC.size) + 4
    if suffix == ".mp4":
        frames = read_video(out).frames
        assert frames.shape[0] == frames_expected and frames.shape[2] == width
        assert frames.shape[1] > 10 * SPEC.size + 40  # header, labels and colour bar around the panels
    else:
        with Image.open(out) as image:
            assert image.n_frames == frames_expected and image.size[0] == width
    with Image.open(sheet) as image:
        assert image.size[0] == 120 + 5 * SPEC.size + 4 * 4  # 5 frames spread over 2 clips of 6


@pytest.mark.parametrize(
    "method, options",
    [
        ("flow_occlusion_approx", ["size=8", "stride=8"]),  # Farnebäck flow of the clip's own frames
        ("occlusion", ["size=16", "stride=16", "temporal_stride=8"]),
        ("fep", ["iterations=2"]),
    ],
)
def test_cli_takes_every_method_and_its_options(synthetic_video, tiny_model, tmp_path, capsys, method, options):
    out = tmp_path / "explained.gif"
    arguments = [
        "explain",
        str(synthetic_video),
        "--model",
        "tiny",
        "--model-option",
        "width=0.25",
        "--method",
        method,
        "--clips",
        "1",
        "--out",
        str(out),
    ]
    for option in options:
        arguments += ["--method-option", option]
    assert main(arguments) == 0
    assert f"method {method}" in capsys.readouterr().out and out.stat().st_size > 0


def test_cli_reports_errors_without_traceback(synthetic_video, tiny_model, tmp_path, capsys):
    assert (
        main(
            [
                "explain",
                str(tmp_path / "missing.mp4"),
                "--model",
                "tiny",
                "--model-option",
                "width=0.25",
                "--out",
                str(tmp_path / "x.mp4"),
            ]
        )
        == 1
    )
    assert "video file not found" in capsys.readouterr().err
    assert main(["explain", str(synthetic_video), "--model", "tiny", "--out", str(tmp_path / "x.avi")]) == 1
    assert ".mp4 or .gif" in capsys.readouterr().err
    assert (
        main(
            [
                "explain",
                str(synthetic_video),
                "--model",
                "tiny",
                "--model-option",
                "width=0.25",
                "--target",
                "zebra",
                "--out",
                str(tmp_path / "x.gif"),
            ]
        )
        == 1
    )
    assert "zebra" in capsys.readouterr().err
    assert (
        main(
            [
                "explain",
                str(synthetic_video),
                "--model",
                "tiny",
                "--out",
                str(tmp_path / "x.gif"),
                "--sheet",
                str(tmp_path / "s.jpg"),
            ]
        )
        == 1
    )
    assert "--sheet must end in .png" in capsys.readouterr().err


def test_cli_on_quarter_width_c3d(synthetic_video, tmp_path):
    c3d = pytest.importorskip("videoxai.models.c3d")
    if not hasattr(c3d, "load_c3d"):
        pytest.skip("C3D loader not available yet")
    out = tmp_path / "c3d.gif"
    code = main(
        [
            "explain",
            str(synthetic_video),
            "--model",
            "c3d",
            "--model-option",
            "random_init=true",
            "--model-option",
            "width=0.25",
            "--model-option",
            "num_classes=7",
            "--method",
            "gradcam",
            "--n",
            "2",
            "--scale",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    with Image.open(out) as image:
        assert image.n_frames == 16


def test_cli_loads_your_own_factory_with_a_spec_file(synthetic_video, tmp_path, capsys, monkeypatch):
    # no monkeypatching of the loader: the factory is imported and built from its spec file
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "num_frames: 8\nsize: 32\nresize_short_side: 36\nscale: 0.00784313725\noffset: -1.0\n"
        "class_names: [left, right, still]\n"
    )
    assert (
        main(
            ["predict", str(synthetic_video), "--model", "workflow_models:tiny_net", "--spec", str(spec), "--top", "3"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "(8 of 20 frames, 32x32, workflow_models:tiny_net)" in printed
    assert {"left", "right", "still"} <= set(printed.split())
    out = tmp_path / "x.gif"
    assert (
        main(
            [
                "explain",
                str(synthetic_video),
                "--model",
                "workflow_models:tiny_net",
                "--spec",
                str(spec),
                "--method",
                "gradcam",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.stat().st_size > 1000
    assert main(["predict", str(synthetic_video), "--model", "workflow_models:tiny_net"]) == 1
    assert "pass spec=ModelSpec" in capsys.readouterr().err
