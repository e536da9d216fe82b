"""``videoxai live``: window and drop logic on a fake clock, the explainer and page in-process,
and the real command in a subprocess (end of file, Ctrl-C, standard input).

The browser test is in tests/test_live_browser.py.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from test_explain import SPEC, make_model  # noqa: E402  (tests/ is on sys.path under pytest)

from videoxai.core.errors import VideoXAIError
from videoxai.data.video import read_video
from videoxai.live.explainer import LiveExplainer, LiveSettings
from videoxai.live.picture import LABEL_HEIGHT, LABEL_SIZE, compose
from videoxai.live.server import LiveServer, state_of
from videoxai.live.session import LiveSession
from videoxai.live.source import open_source, parse_size
from videoxai.live.stats import LiveStats, percentile
from videoxai.live.window import SlidingWindow

REPO = Path(__file__).resolve().parents[1]

# a real shipped model, small enough for a 2-core CPU: C3D at an eighth of its width, random weights
SMALL_C3D = [
    "--model",
    "c3d",
    "--model-option",
    "random_init=true",
    "--model-option",
    "width=0.125",
    "--model-option",
    "num_classes=10",
]


class FakeClock:
    """Seconds that only move when told to; ``sleep`` moves them."""

    def __init__(self, start: float = 100.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def frame(value: int, size: int = 4) -> np.ndarray:
    return np.full((size, size, 3), value, dtype=np.uint8)


# ----------------------------------------------------------------------------- window and drops


def test_window_is_complete_after_length_frames_and_holds_them_in_order():
    clock = FakeClock()
    window = SlidingWindow(length=3, clock=clock)
    for value in range(2):
        window.push(frame(value))
        clock.sleep(0.04)
    assert window.take(None) == (None, 0)
    window.push(frame(2))
    taken, dropped = window.take(None)
    assert taken.end == 2 and dropped == 0
    assert taken.frames.shape == (3, 4, 4, 3) and taken.frames.dtype == np.uint8
    assert taken.frames[:, 0, 0, 0].tolist() == [0, 1, 2]
    np.testing.assert_allclose(taken.captured, [100.0, 100.04, 100.08])
    # nothing newer than the window just taken
    assert window.take(2) == (None, 0)


def test_newest_window_is_taken_and_the_skipped_ones_counted():
    clock = FakeClock()
    window = SlidingWindow(length=3, clock=clock)
    for value in range(3):
        window.push(frame(value))
    first, _ = window.take(None)
    for value in range(3, 8):  # windows ending at 3, 4, 5, 6, 7 become ready
        window.push(frame(value))
    newest, dropped = window.take(first.end)
    assert newest.end == 7 and newest.frames[:, 0, 0, 0].tolist() == [5, 6, 7]
    assert dropped == 4  # the windows ending at 3, 4, 5 and 6 were never explained


def test_every_k_explains_only_every_kth_window():
    window = SlidingWindow(length=3, every=2, clock=FakeClock())
    for value in range(4):
        window.push(frame(value))
    taken, dropped = window.take(None)
    assert taken.end == 2 and dropped == 0  # eligible ends: 2, 4, 6, 8, ...
    assert window.take(taken.end) == (None, 0)  # frame 3 ends a window, but not an eligible one
    for value in range(4, 10):
        window.push(frame(value))
    # the newest frame is 9; the newest eligible window ends at 8 and is still whole in the buffer
    newest, dropped = window.take(taken.end)
    assert newest.end == 8 and newest.frames[:, 0, 0, 0].tolist() == [6, 7, 8]
    assert dropped == 2  # eligible windows ending at 4 and 6


def test_closed_window_hands_out_its_last_window_then_nothing():
    window = SlidingWindow(length=2, clock=FakeClock())
    for value in range(5):
        window.push(frame(value))
    window.close()
    taken, dropped = window.take(1, timeout=None)  # does not block once closed
    assert taken.end == 4 and dropped == 2
    assert window.take(4, timeout=None) == (None, 0)
    with pytest.raises(VideoXAIError, match="closed"):
        window.push(frame(9))


def test_take_waits_for_the_next_window():
    window = SlidingWindow(length=2, clock=FakeClock())
    window.push(frame(0))
    pusher = threading.Timer(0.05, lambda: window.push(frame(1)))
    pusher.start()
    taken, _ = window.take(None, timeout=None)
    pusher.join()
    assert taken.end == 1


def test_window_rejects_bad_lengths():
    with pytest.raises(VideoXAIError, match="every"):
        SlidingWindow(length=4, every=0)
    with pytest.raises(VideoXAIError, match="length"):
        SlidingWindow(length=0)


def test_dropping_bounds_latency_on_a_fake_clock():
    """A 25 fps stream, an explainer that needs 0.3 s: latency stays below one explanation plus one frame.

    Without dropping, windows would queue up (7.5 frames arrive per explanation, one is served)
    and the latency would grow with every explanation.
    """
    clock = FakeClock(0.0)
    window = SlidingWindow(length=16, clock=clock)
    stats = LiveStats(clock)
    busy_until, last_end, in_progress = 0.0, None, None
    for index in range(250):  # 10 s of stream
        clock.now = index / 25
        window.push(frame(index % 256))
        stats.frame_read()
        if in_progress is not None and clock.now >= busy_until:
            taken, dropped = in_progress
            stats.explained(taken.captured[-1], busy_until, dropped, 0.3)
            in_progress = None
        if in_progress is None:
            taken, dropped = window.take(last_end)
            if taken is not None:
                in_progress, last_end, busy_until = (taken, dropped), taken.end, clock.now + 0.3
    # the end of the stream: the window in progress finishes, the newest one left is explained last
    clock.now = busy_until
    taken, dropped = in_progress
    stats.explained(taken.captured[-1], busy_until, dropped, 0.3)
    window.close()
    taken, dropped = window.take(last_end)
    stats.explained(taken.captured[-1], clock.now + 0.3, dropped, 0.3)
    latencies = stats.latencies()
    # windows are taken when frames 15, 23, 31, ... arrive (0.3 s = 7.5 frames, so every 8th frame)
    assert len(latencies) == 31
    # while frames keep coming, each taken window is the newest: its newest frame waits exactly one
    # explanation; the last window (frame 249, 9.96 s) had to wait for the explainer (free at 10.18 s)
    assert latencies[:30] == pytest.approx([0.3] * 30)
    assert latencies[30] == pytest.approx(10.18 + 0.3 - 9.96)
    # the bound: waiting for the explainer plus one explanation
    assert max(latencies) <= 2 * 0.3
    figures = stats.figures()
    # every window (ends 15..249) was either explained or dropped
    assert figures.explanations + figures.dropped == 250 - 15
    assert figures.dropped == 7 * 29 + (249 - 247 - 1)  # 7 between consecutive takes, 1 before the last
    assert figures.source_fps == pytest.approx(25.0)


def test_stats_by_hand():
    clock = FakeClock(0.0)
    stats = LiveStats(clock)
    stats.frame_read(0.0)
    for second in (1, 2, 3, 4):
        stats.explained(captured=second - 0.5, finished=float(second), dropped=second, seconds=0.25 * second)
    clock.now = 4.0
    figures = stats.figures()
    assert figures.explanations == 4 and figures.dropped == 1 + 2 + 3 + 4
    assert figures.explanations_per_second == pytest.approx(1.0)  # 4 in the 4 s since the first frame
    assert figures.latency_last == figures.latency_median == figures.latency_p95 == pytest.approx(0.5)
    assert figures.explain_seconds_last == 1.0
    clock.now = 4.0 + 20.0  # nothing finished in the last 10 s
    assert stats.figures().explanations_per_second == 0.0


def test_percentile_matches_numpy():
    values = sorted([0.3, 0.1, 0.7, 0.2, 1.5, 0.9, 0.4])
    for q in (0, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None


# ----------------------------------------------------------------------------- explainer and sources


def moving_frames(count: int, height: int = 24, width: int = 32) -> np.ndarray:
    """uint8 ``(count, height, width, 3)``: a bright square moving right over a dark background."""
    frames = np.full((count, height, width, 3), 30, dtype=np.uint8)
    side = max(1, min(height, width) // 3)
    top = (height - side) // 2
    for index in range(count):
        left = (1 + 2 * index) % (width - side)
        frames[index, top : top + side, left : left + side] = (230, 180, 40)
    return frames


def write_clip(path: Path, frames: np.ndarray, fps: float = 25.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frames.shape[2], frames.shape[1]))
    for rgb in frames:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def video_stream(path: Path) -> tuple[str, str, int, tuple[int, int]]:
    """Codec, pixel format, decoded frame count and (height, width) of an MP4's video, read back with PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.pix_fmt, count, (stream.height, stream.width)


def test_explainer_draws_both_overlays_and_the_top5():
    explainer = LiveExplainer(make_model(), SPEC, LiveSettings("gradcam", n=1.0))
    window = SlidingWindow(length=SPEC.num_frames, clock=FakeClock())
    frames = moving_frames(SPEC.num_frames, SPEC.size, SPEC.size)
    for rgb in frames:
        window.push(rgb)
    taken, _ = window.take(None)
    result = explainer.explain(taken)
    assert result.baseline.shape == result.selective.shape == (SPEC.num_frames, SPEC.size, SPEC.size, 3)
    assert result.baseline.dtype == np.uint8
    probabilities = [p for _, _, p in result.top5]
    assert len(result.top5) == 5 and probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1.0)  # TinyNet has exactly five classes
    assert result.target == result.top5[0][0] and result.target_name == SPEC.class_names[result.target]
    assert 0.0 < result.kept < 1.0
    # drawn with the overlays' shared colour scale (a high percentile of |R|, not the maximum)
    from videoxai.explain import get_explainer
    from videoxai.report.colour import relevance_scale
    from videoxai.report.overlay import overlay_relevance

    relevance = (
        get_explainer("gradcam", explainer.model, spec=SPEC).attribute(SPEC.preprocess(taken.frames)).relevance[0]
    )
    expected = overlay_relevance(taken.frames, relevance.numpy(), relevance_scale(relevance))
    assert np.abs(result.baseline.astype(int) - expected.astype(int)).max() <= 1

    settings = explainer.update(method="guided_backprop", n=2, target="c")
    assert settings == LiveSettings("guided_backprop", 2.0, 2)
    fixed = explainer.explain(taken)
    assert fixed.target == 2 and fixed.settings.method == "guided_backprop"
    assert explainer.update(top1=True).target is None
    with pytest.raises(VideoXAIError, match="unknown method"):
        explainer.update(method="nope")
    with pytest.raises(VideoXAIError, match="neither a class index"):
        explainer.update(target="zebra")
    with pytest.raises(VideoXAIError, match="not in 0..4"):
        explainer.update(target=7)
    with pytest.raises(VideoXAIError, match="non-negative"):
        explainer.update(n=-1)
    assert explainer.settings == LiveSettings("guided_backprop", 2.0, None)  # failed updates change nothing


def test_label_height_is_what_the_overlay_draws():
    from videoxai.report.overlay import label_height, label_panel

    assert LABEL_HEIGHT == label_height(LABEL_SIZE)
    assert label_panel(np.zeros((1, 20, 30, 3), np.uint8), "x", LABEL_SIZE).shape[1] == LABEL_HEIGHT + 20


def test_compose_puts_live_baseline_and_selective_side_by_side():
    shown = compose(frame(50, 12), None, 0, LiveSettings("gradcam", 4.0))
    assert shown.shape == (LABEL_HEIGHT + 12, 3 * 12 + 2 * 4, 3)


def test_stdin_source_reads_whole_raw_frames():
    frames = moving_frames(3, 6, 8)
    data = frames.tobytes() + b"\x01\x02"  # a partial last frame is not a frame
    source = open_source("-", size="8x6", stdin=io.BytesIO(data))
    read = list(source.frames())
    assert len(read) == 3 and all(np.array_equal(a, b) for a, b in zip(read, frames))
    with pytest.raises(VideoXAIError, match="--size"):
        open_source("-")
    with pytest.raises(VideoXAIError, match="WIDTHxHEIGHT"):
        parse_size("8by6")
    assert parse_size("320x240") == (320, 240)


def test_bad_sources_name_the_file(tmp_path):
    with pytest.raises(VideoXAIError, match="missing.mp4: no such file"):
        open_source(str(tmp_path / "missing.mp4"))
    (tmp_path / "not_a_video.mp4").write_text("hello")
    with pytest.raises(VideoXAIError, match="not_a_video.mp4: OpenCV cannot open this video file"):
        open_source(str(tmp_path / "not_a_video.mp4"))
    with pytest.raises(VideoXAIError, match="is a directory"):
        open_source(str(tmp_path))


def test_file_is_played_at_its_frame_rate_on_the_session_clock(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_frames(30, 16, 16), fps=10.0)
    clock = FakeClock(0.0)
    explainer = LiveExplainer(make_model(), SPEC, LiveSettings("gradcam", n=1.0), clock=clock)
    session = LiveSession(
        open_source(str(clip)), explainer, clock=clock, sleep=clock.sleep, record=tmp_path / "shown.mp4"
    ).start()
    assert session.wait(timeout=120)
    assert not session.errors
    figures = session.stats.figures()
    assert figures.frames_read == 30
    # frame i is shown i/10 s after the first, on the session's clock
    assert clock.now == pytest.approx(2.9)
    assert figures.source_fps == pytest.approx(10.0)
    assert figures.explanations >= 1
    assert figures.explanations + figures.dropped == 30 - SPEC.num_frames + 1
    recorded = read_video(tmp_path / "shown.mp4")
    assert recorded.num_frames == 30 and recorded.fps == pytest.approx(10.0)
    assert recorded.frames.shape[1:] == (LABEL_HEIGHT + 12, 3 * 12 + 8, 3)
    # H.264, which browsers play (OpenCV's mp4v they do not), every shown frame at the shown size
    assert video_stream(tmp_path / "shown.mp4") == ("h264", "yuv420p", 30, (LABEL_HEIGHT + 12, 3 * 12 + 8))


def test_recording_writer_streams_h264_and_keeps_the_first_size(tmp_path):
    from videoxai.report.overlay import H264Writer

    frames = moving_frames(7, 15, 21)  # odd sizes: one black row and column are added for 4:2:0
    with H264Writer(tmp_path / "stream.mp4", fps=12.5, preset="veryfast") as writer:
        for rgb in frames:
            writer.write(rgb)
        with pytest.raises(VideoXAIError, match="first one's size 22x16"):
            writer.write(moving_frames(1, 16, 16)[0])
    writer.close()  # a second close does nothing
    assert writer.frames_written == 7
    assert video_stream(tmp_path / "stream.mp4") == ("h264", "yuv420p", 7, (16, 22))
    decoded = read_video(tmp_path / "stream.mp4")
    assert decoded.fps == pytest.approx(12.5)
    # the picture survives the encoding (the moving square's colour, within compression error)
    assert np.abs(decoded.frames[3, :15, :21].astype(int) - frames[3].astype(int)).mean() < 6
    with pytest.raises(VideoXAIError, match="already closed"):
        writer.write(frames[0])


# ----------------------------------------------------------------------------- the page, in-process


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers, response.read()


def post(url: str, body) -> tuple[int, dict]:
    """POST ``body`` as the page does: JSON, from the page's own origin."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(url))
    headers = {"Content-Type": "application/json", "Origin": origin}
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_server_serves_page_frames_state_and_controls(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_frames(40, 16, 16), fps=20.0)
    explainer = LiveExplainer(make_model(), SPEC, LiveSettings("gradcam", n=1.0))
    session = LiveSession(open_source(str(clip)), explainer)
    server = LiveServer(session, port=0).start()
    try:
        session.start()
        assert session.wait(timeout=120)
        status, headers, page = get(server.url)
        assert status == 200 and b'id="top5"' in page and headers["Content-Type"].startswith("text/html")
        status, headers, jpeg = get(server.url + "frame.jpg")
        shown = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert shown.shape == (LABEL_HEIGHT + 12, 3 * 12 + 8, 3) and int(headers["X-Frame-Index"]) == 39
        state = json.loads(get(server.url + "state.json")[2])
        assert state["ended"] and state["figures"]["frames_read"] == 40
        assert len(state["top5"]) == 5 and state["settings"] == {
            "method": "gradcam",
            "n": 1.0,
            "target": None,
            "target_name": None,
        }
        options = json.loads(get(server.url + "options.json")[2])
        assert options["class_names"] == list("abcde") and "guided_backprop" in options["methods"]

        assert post(server.url + "control", {"method": "guided_backprop", "n": 3, "target": "b"}) == (
            200,
            {"method": "guided_backprop", "n": 3.0, "target": 1},
        )
        assert post(server.url + "control", {"target": "top1"})[1]["target"] is None
        status, answer = post(server.url + "control", {"method": "nope"})
        assert status == 400 and "unknown method 'nope'" in answer["error"]
        status, answer = post(server.url + "control", {"colour": "red"})
        assert status == 400 and "unknown key" in answer["error"]
        status, answer = post(server.url + "control", b"{not json")
        assert status == 400 and "not JSON" in answer["error"]
        assert explainer.settings == LiveSettings("guided_backprop", 3.0, None)
    finally:
        server.stop()
        session.stop()


def test_a_method_the_model_cannot_take_is_reported_and_the_stream_goes_on(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_frames(12, 16, 16), fps=20.0)
    # TinyNet's classifier does not follow global pooling, so saliency tubes cannot explain it
    explainer = LiveExplainer(make_model(), SPEC, LiveSettings("saliency_tubes", n=1.0))
    session = LiveSession(open_source(str(clip)), explainer, clock=FakeClock(), sleep=lambda seconds: None).start()
    assert session.wait(timeout=120)
    state = state_of(session)
    assert state["errors"] == [] and state["figures"]["frames_read"] == 12
    assert state["figures"]["explanations"] == 0 and "saliency_tubes needs a classifier" in state["explain_error"]


# ----------------------------------------------------------------------------- the command, for real


def live_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "videoxai", "live", *SMALL_C3D, "--no-browser", "--port", "0", *arguments]


def environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture
def clip_112(tmp_path) -> Path:
    """2 s at 25 fps, 160x120: enough for C3D's 16-frame windows after its 128x171 resize."""
    return write_clip(tmp_path / "clip_112.mp4", moving_frames(50, 120, 160))


@pytest.mark.slow
def test_command_ends_cleanly_at_the_end_of_a_file(clip_112, tmp_path):
    out = tmp_path / "shown.mp4"
    done = subprocess.run(
        live_command("--source", str(clip_112), "--out", str(out)),
        capture_output=True,
        text=True,
        env=environment(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "source ended; 50 frames read" in done.stdout
    recorded = read_video(out)
    assert recorded.num_frames == 50 and recorded.frames.shape[1:] == (LABEL_HEIGHT + 112, 3 * 112 + 8, 3)
    assert video_stream(out) == ("h264", "yuv420p", 50, (LABEL_HEIGHT + 112, 3 * 112 + 8))


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_command_stops_cleanly_on_ctrl_c_and_kill(clip_112, tmp_path, signal_number):
    out = tmp_path / "shown.mp4"
    process = subprocess.Popen(
        live_command("--source", str(clip_112), "--loop", "--out", str(out)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        first_line = process.stdout.readline()
        assert "http://127.0.0.1:" in first_line, process.stderr.read() if process.poll() is not None else first_line
        url = first_line.split("-> ")[1].split()[0]
        # wait (without a time limit of its own: the test's timeout bounds it) for a first explanation
        # and for the 50-frame file to loop
        while True:
            figures = json.loads(get(url + "state.json")[2])["figures"]
            if figures["explanations"] >= 1 and figures["frames_read"] > 60:
                break
            time.sleep(0.2)
        process.send_signal(signal_number)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "videoxai live: stopped;" in stdout
    with pytest.raises(OSError):  # the page is gone too
        get(url + "state.json")
    # the recording was closed properly: every frame read is in it
    frames_read = int(stdout.split("stopped; ")[1].split(" frames read")[0])
    assert frames_read > 60
    assert read_video(out).num_frames == frames_read


@pytest.mark.slow
def test_command_reads_raw_frames_from_standard_input(tmp_path):
    frames = moving_frames(20, 120, 160)
    done = subprocess.run(
        live_command("--source", "-", "--size", "160x120"),
        input=frames.tobytes(),
        capture_output=True,
        env=environment(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "source ended; 20 frames read" in done.stdout.decode()
    assert "windows explained" in done.stdout.decode()


def test_command_reports_bad_input(tmp_path):
    from videoxai.cli import main

    assert main(["live", "--source", str(tmp_path / "nothing.mp4"), "--no-browser"]) == 1
    assert main(["live", "--source", "-", "--no-browser"]) == 1
    assert main(["live", "--source", "-", "--size", "4x4", "--out", "x.avi", "--no-browser"]) == 1
