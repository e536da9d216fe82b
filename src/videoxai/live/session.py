"""Live selective explanation of a video stream (the paper's §5.3): read, window, explain, show.

Three pieces that know nothing about HTTP (the page lives in :mod:`videoxai.live.server`):

* :class:`SlidingWindow` keeps the newest frames of a stream, as many as the model's clip length
  (plus ``every - 1`` so that the newest *eligible* window is always complete), and hands the
  explainer the newest complete window it has not explained yet. Windows the explainer had no
  time for are dropped and counted, so latency stays bounded (the explanation in progress plus
  one more) instead of growing with a queue.
* :class:`LiveExplainer` explains one window (uint8 ``(T, S, S, 3)``) with the chosen method,
  takes its selective relevance and draws both as overlays; method, n and target can be changed
  between windows from another thread.
* :class:`LiveSession` runs a reader thread (source -> window -> shown frame -> optional
  recording) and an explainer thread (window -> explanation), and keeps the live figures.

Every time stamp comes from an injectable ``clock`` (seconds, monotonic), so the window and drop
logic can be tested on a fake clock.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from videoxai.core.errors import VideoXAIError

Clock = Callable[[], float]

# how far back the explanations-per-second figure looks, in clock seconds
RATE_HORIZON_S = 10.0
# how many recent latencies the median and 95th percentile are taken over
LATENCY_HISTORY = 100


# ----------------------------------------------------------------------------- window and drops


@dataclass(frozen=True)
class Window:
    """``length`` consecutive frames of the stream, ready for the model.

    Attributes:
        frames: uint8 ``(T, S, S, 3)`` RGB, oldest first.
        captured: float64 ``(T,)``, clock time at which each frame was read.
        end: stream index of the last (newest) frame; the window covers ``end - T + 1 .. end``.
    """

    frames: np.ndarray
    captured: np.ndarray
    end: int


class SlidingWindow:
    """Thread-safe sliding window over a stream of frames, with a newest-first drop policy.

    Every frame ends a window once ``length`` frames have been seen; with ``every = K`` only the
    windows ending at frames ``length - 1 + i·K`` are *eligible* (explain every K-th window).
    :meth:`take` returns the newest eligible window after the last one taken and counts the
    eligible windows in between as dropped: those were never explained because a newer one
    was ready when the explainer became free.
    """

    def __init__(self, length: int, every: int = 1, clock: Clock = time.monotonic):
        if length < 1:
            raise VideoXAIError(f"window length must be at least 1 frame, got {length}")
        if every < 1:
            raise VideoXAIError(f"--every must be at least 1, got {every}")
        self.length = int(length)
        self.every = int(every)
        self.clock = clock
        # the newest eligible window can end up to every - 1 frames before the newest frame
        self._frames: deque[tuple[np.ndarray, float]] = deque(maxlen=self.length + self.every - 1)
        self._count = 0  # frames pushed so far; the newest has index _count - 1
        self._closed = False
        self._condition = threading.Condition()

    @property
    def frames_seen(self) -> int:
        with self._condition:
            return self._count

    @property
    def closed(self) -> bool:
        with self._condition:
            return self._closed

    def push(self, frame: np.ndarray, captured: float | None = None) -> int:
        """Append one uint8 ``(S, S, 3)`` frame, stamped ``captured`` (default: now); returns its index."""
        stamp = self.clock() if captured is None else float(captured)
        with self._condition:
            if self._closed:
                raise VideoXAIError("the stream's window is closed: no more frames can be added")
            self._frames.append((frame, stamp))
            self._count += 1
            self._condition.notify_all()
            return self._count - 1

    def close(self) -> None:
        """The stream has ended; :meth:`take` still returns a last eligible window if one is new."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def newest_eligible_end(self) -> int | None:
        """Stream index of the last frame of the newest eligible window, or None before the first."""
        with self._condition:
            return self._newest_eligible_end()

    def _newest_eligible_end(self) -> int | None:
        newest = self._count - 1
        first = self.length - 1
        if newest < first:
            return None
        return first + ((newest - first) // self.every) * self.every

    def dropped_between(self, after: int | None, end: int) -> int:
        """Eligible windows ending strictly between ``after`` (None: before the stream) and ``end``."""
        first = self.length - 1
        lowest = first if after is None else after + self.every
        return max(0, (end - lowest) // self.every)

    def take(self, after: int | None, timeout: float | None = 0.0) -> tuple[Window | None, int]:
        """The newest eligible window ending after frame ``after``, and how many were dropped.

        Waits up to ``timeout`` seconds (real time; None waits until one is ready or the
        window is closed) and returns ``(None, 0)`` when none is ready.
        """
        with self._condition:

            def ready() -> bool:
                end = self._newest_eligible_end()
                return self._closed or (end is not None and (after is None or end > after))

            if not ready() and (timeout is None or timeout > 0):
                self._condition.wait_for(ready, timeout=timeout)
            end = self._newest_eligible_end()
            if end is None or (after is not None and end <= after):
                return None, 0
            # the deque holds frames _count - len .. _count - 1; the window ends at `end`
            offset = end - (self._count - len(self._frames))
            chosen = list(self._frames)[offset - self.length + 1 : offset + 1]
            window = Window(
                frames=np.stack([frame for frame, _ in chosen]),
                captured=np.array([stamp for _, stamp in chosen], dtype=np.float64),
                end=end,
            )
            return window, self.dropped_between(after, end)


# ----------------------------------------------------------------------------- live figures


@dataclass
class LiveFigures:
    """What the page shows below the frames; times in seconds."""

    frames_read: int = 0
    explanations: int = 0
    dropped: int = 0
    explanations_per_second: float = 0.0
    latency_last: float | None = None
    latency_median: float | None = None
    latency_p95: float | None = None
    explain_seconds_last: float | None = None
    source_fps: float | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class LiveStats:
    """Counts and recent latencies of a live session, read on the session's clock.

    Explanations per second are counted over the last :data:`RATE_HORIZON_S` seconds (or since
    the first frame, when the session is younger); latency is from the capture of a window's
    newest frame to its overlay being ready.
    """

    def __init__(self, clock: Clock = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._started: float | None = None
        self._frames: deque[float] = deque(maxlen=256)
        self._frames_read = 0
        self._finished: deque[float] = deque()
        self._latencies: deque[float] = deque(maxlen=LATENCY_HISTORY)
        self._history: list[tuple[float, float, int]] = []
        self._explanations = 0
        self._dropped = 0
        self._explain_seconds_last: float | None = None

    def frame_read(self, at: float | None = None) -> None:
        at = self.clock() if at is None else at
        with self._lock:
            if self._started is None:
                self._started = at
            self._frames.append(at)
            self._frames_read += 1

    def explained(self, captured: float, finished: float, dropped: int, seconds: float) -> None:
        """One window explained: its newest frame was captured at ``captured``, ready at ``finished``."""
        with self._lock:
            if self._started is None:
                self._started = captured
            self._finished.append(finished)
            self._latencies.append(finished - captured)
            self._history.append((captured, finished, dropped))
            self._explanations += 1
            self._dropped += dropped
            self._explain_seconds_last = seconds

    def history(self) -> list[tuple[float, float, int]]:
        """``(captured, finished, dropped before it)`` of every explained window so far, in order."""
        with self._lock:
            return list(self._history)

    def latencies(self) -> list[float]:
        """Every latency so far, in seconds, in the order the windows were explained."""
        return [finished - captured for captured, finished, _ in self.history()]

    def figures(self, now: float | None = None) -> LiveFigures:
        now = self.clock() if now is None else now
        with self._lock:
            while self._finished and self._finished[0] < now - RATE_HORIZON_S:
                self._finished.popleft()
            span = min(RATE_HORIZON_S, now - self._started) if self._started is not None else 0.0
            rate = len(self._finished) / span if span > 0 else 0.0
            latencies = sorted(self._latencies)
            frame_span = self._frames[-1] - self._frames[0] if len(self._frames) > 1 else 0.0
            return LiveFigures(
                frames_read=self._frames_read,
                explanations=self._explanations,
                dropped=self._dropped,
                explanations_per_second=rate,
                latency_last=self._latencies[-1] if self._latencies else None,
                latency_median=percentile(latencies, 50.0),
                latency_p95=percentile(latencies, 95.0),
                explain_seconds_last=self._explain_seconds_last,
                source_fps=(len(self._frames) - 1) / frame_span if frame_span > 0 else None,
            )


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile ``q`` (0..100) of already sorted values, as numpy's default."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


# ----------------------------------------------------------------------------- explaining a window


@dataclass(frozen=True)
class LiveSettings:
    """What the explainer does with the next window. ``target`` None means each window's top-1."""

    method: str
    n: float
    target: int | None = None


@dataclass
class LiveResult:
    """One explained window, drawn and ready to show.

    Attributes:
        end: stream index of the window's newest frame.
        baseline: uint8 ``(T, S, S, 3)``, the method's relevance over the window's frames.
        selective: uint8 ``(T, S, S, 3)``, the selective relevance over the same frames.
        top5: ``(class index, class name, probability)`` for the five most probable classes.
        target: the explained class index; ``target_name`` its name.
        kept: fraction of voxels the selective mask keeps, 0..1.
        captured: clock time of the newest frame's capture; ``finished`` when the overlay was ready.
        seconds: clock time the explanation took (model, selective step and drawing).
    """

    end: int
    settings: LiveSettings
    baseline: np.ndarray
    selective: np.ndarray
    top5: list[tuple[int, str, float]]
    target: int
    target_name: str
    kept: float
    captured: float
    finished: float
    seconds: float


class LiveExplainer:
    """Explain one window at a time with the current :class:`LiveSettings` (changeable live).

    Explainers are built once per method and kept, so switching back and forth is free.
    """

    def __init__(
        self,
        model,
        spec,
        settings: LiveSettings,
        device: str = "cpu",
        clock: Clock = time.monotonic,
        padding: str = "replicate",
    ):
        self.model = model
        self.spec = spec
        self.device = device
        self.clock = clock
        self.padding = padding
        self._explainers: dict[str, object] = {}
        self._lock = threading.Lock()
        self._settings = self.validate(settings)

    @property
    def settings(self) -> LiveSettings:
        with self._lock:
            return self._settings

    def validate(self, settings: LiveSettings) -> LiveSettings:
        from videoxai.explain import ALL_METHODS

        if settings.method not in ALL_METHODS:
            raise VideoXAIError(f"method: unknown method {settings.method!r}, use one of {list(ALL_METHODS)}")
        n = float(settings.n)
        if not (n >= 0 and math.isfinite(n)):
            raise VideoXAIError(f"n: the σ multiplier must be a non-negative number, got {settings.n!r}")
        target = settings.target
        if target is not None and not 0 <= int(target) < self.spec.num_classes:
            raise VideoXAIError(f"target: class {target} is not in 0..{self.spec.num_classes - 1}")
        return LiveSettings(settings.method, n, None if target is None else int(target))

    def update(
        self, method: str | None = None, n: float | None = None, target: int | str | None = None, top1: bool = False
    ) -> LiveSettings:
        """Change what the next window gets; ``target`` is a class index or name, ``top1`` resets it."""
        with self._lock:
            current = self._settings
        resolved = current.target
        if top1:
            resolved = None
        elif target is not None:
            resolved = resolve_class(target, self.spec.class_names)
        new = self.validate(
            LiveSettings(
                method=current.method if method is None else method,
                n=current.n if n is None else n,
                target=resolved,
            )
        )
        with self._lock:
            self._settings = new
        return new

    def _explainer(self, method: str):
        from videoxai.explain import get_explainer

        if method not in self._explainers:
            self._explainers[method] = get_explainer(method, self.model, spec=self.spec)
        return self._explainers[method]

    def explain(self, window: Window) -> LiveResult:
        """Explain ``window`` (frames uint8 ``(T, S, S, 3)``) with the settings of this moment."""
        import torch

        from videoxai.explain import FLOW_METHODS
        from videoxai.motion.selective import selective_relevance
        from videoxai.report.colour import relevance_scale
        from videoxai.report.overlay import overlay_relevance

        settings = self.settings
        started = self.clock()
        inputs = self.spec.preprocess(window.frames, device=self.device)
        extra = {}
        if settings.method in FLOW_METHODS:
            from videoxai.motion.flow import farneback

            extra["flow"] = torch.from_numpy(farneback(window.frames)[None].astype(np.float32))
        result = self._explainer(settings.method).attribute(inputs, target=settings.target, **extra)
        selective = selective_relevance(result.relevance, n=settings.n, padding=self.padding)
        baseline_map = result.relevance[0].detach().cpu().numpy()
        selective_map = selective.maps[0, 0].cpu().numpy()
        # one colour scale for both panels, so the selective map reads as a subset of the baseline:
        # the shared high-percentile scale of the overlays and figures, not the single hottest voxel
        scale = relevance_scale(baseline_map)
        baseline = overlay_relevance(window.frames, baseline_map, scale)
        selective_frames = overlay_relevance(window.frames, selective_map, scale)
        probabilities = result.logits[0].double().softmax(dim=0).cpu()
        count = min(5, probabilities.numel())
        values, indices = probabilities.topk(count)
        names = self.spec.class_names
        top5 = [(int(i), class_name(int(i), names), float(p)) for p, i in zip(values, indices)]
        target = int(result.target[0])
        finished = self.clock()
        return LiveResult(
            end=window.end,
            settings=settings,
            baseline=baseline,
            selective=selective_frames,
            top5=top5,
            target=target,
            target_name=class_name(target, names),
            kept=float(selective.masks[0, 0].float().mean()),
            captured=float(window.captured[-1]),
            finished=finished,
            seconds=finished - started,
        )


def class_name(index: int, names) -> str:
    return names[index] if 0 <= index < len(names) else f"class {index}"


def resolve_class(target: int | str, class_names) -> int:
    """A class index from an index (int or digits) or one of ``class_names``."""
    if isinstance(target, (int, np.integer)):
        return int(target)
    text = str(target).strip()
    if text.isdigit():
        return int(text)
    if text in class_names:
        return list(class_names).index(text)
    raise VideoXAIError(f"target: {text!r} is neither a class index nor one of the model's class names")


# ----------------------------------------------------------------------------- sources


@dataclass
class FrameSource:
    """Where frames come from. Iterate :meth:`frames` for uint8 RGB ``(H, W, 3)`` frames.

    Attributes:
        description: what the user gave (for messages).
        fps: the source's frame rate when it states one, else None.
        paced: True for files, which are played at their own frame rate; cameras, streams
            and standard input deliver frames at their own pace.
    """

    description: str
    fps: float | None
    paced: bool
    _read: Callable[[], np.ndarray | None] = field(repr=False)
    _release: Callable[[], None] = field(repr=False, default=lambda: None)

    def frames(self) -> Iterator[np.ndarray]:
        try:
            while True:
                frame = self._read()
                if frame is None:
                    return
                yield frame
        finally:
            self._release()

    def close(self) -> None:
        self._release()


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` -> ``(width, height)``."""
    width, separator, height = text.lower().partition("x")
    if not separator or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise VideoXAIError(f"--size must look like WIDTHxHEIGHT (e.g. 320x240), got {text!r}")
    return int(width), int(height)


def _capture_reader(capture: cv2.VideoCapture) -> Callable[[], np.ndarray | None]:
    def read() -> np.ndarray | None:
        ok, frame = capture.read()
        if not ok or frame is None:
            return None
        if frame.ndim == 2:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    return read


def open_source(source: str, size: str | None = None, loop: bool = False, stdin=None) -> FrameSource:
    """Open a camera index (``0``), a device (``/dev/video0``), a video file, a URL, or ``-``.

    ``-`` reads raw RGB frames (``rgb24``, ``W·H·3`` bytes each) from standard input and needs
    ``size="WxH"``. A file is played at its own frame rate, from the start again when ``loop``.
    """
    if source == "-":
        if size is None:
            raise VideoXAIError("--source -: raw frames on standard input need --size WIDTHxHEIGHT")
        width, height = parse_size(size)
        stream = stdin if stdin is not None else sys.stdin.buffer
        frame_bytes = width * height * 3

        def read_raw() -> np.ndarray | None:
            data = bytearray()
            while len(data) < frame_bytes:
                chunk = stream.read(frame_bytes - len(data))
                if not chunk:
                    return None  # end of input; a partial last frame is not a frame
                data.extend(chunk)
            return np.frombuffer(bytes(data), dtype=np.uint8).reshape(height, width, 3)

        return FrameSource("standard input", None, False, read_raw)

    is_camera_index = source.isdigit()
    is_url = "://" in source
    is_device = source.startswith("/dev/")
    if not (is_camera_index or is_url or is_device):
        path = Path(source)
        if not path.exists():
            raise VideoXAIError(
                "no such file (give a video file, a camera index, a /dev/video device, a URL or -)", path
            )
        if path.is_dir():
            raise VideoXAIError("is a directory, not a video file", path)
    capture = cv2.VideoCapture(int(source) if is_camera_index else source)
    if not capture.isOpened():
        capture.release()
        what = "camera" if is_camera_index or is_device else "stream" if is_url else "video file"
        raise VideoXAIError(f"OpenCV cannot open this {what}", source)
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    fps = fps if 0 < fps < 1000 else None
    read = _capture_reader(capture)
    is_file = not (is_camera_index or is_url or is_device)
    if is_file and loop:
        plain_read = read

        def read_looping() -> np.ndarray | None:
            frame = plain_read()
            if frame is None:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                frame = plain_read()
            return frame

        read = read_looping
    return FrameSource(source, fps or (25.0 if is_file else None), is_file, read, capture.release)


# ----------------------------------------------------------------------------- the session


def frame_for_model(frame: np.ndarray, spec) -> np.ndarray:
    """Resize an RGB ``(H, W, 3)`` frame as the model's spec says and centre-crop it to ``(S, S, 3)``."""
    from videoxai.data.video import center_crop, frame_transform_for

    resized = frame_transform_for(spec)(frame)
    try:
        return np.ascontiguousarray(center_crop(resized, spec.size))
    except ValueError as error:
        raise VideoXAIError(f"frame too small for the model after resizing ({error})") from None


# Labels above the shown panels: one font size whatever the frame size, so the picture's height
# is always LABEL_HEIGHT + S.
LABEL_SIZE = 12  # a 22-pixel band: even, so H.264 recordings need no padding row
LABEL_HEIGHT = 22  # overlay.label_height(LABEL_SIZE), checked by the tests


def compose(frame: np.ndarray, result: LiveResult | None, phase: int, settings: LiveSettings) -> np.ndarray:
    """What is shown: uint8 ``(LABEL_HEIGHT + S, 3·S + 8, 3)``, the live frame | baseline | selective overlay.

    The overlays play the explained window in a loop (frame ``phase mod T``), so the newest
    explanation is seen moving at the stream's pace until the next one replaces it.
    """
    from videoxai.report.overlay import side_by_side

    if result is None:
        waiting = (frame.astype(np.uint16) // 3).astype(np.uint8)
        panels = [frame[None], waiting[None], waiting[None]]
        labels = ["live", f"{settings.method} (waiting)", f"selective n={settings.n:g}"]
    else:
        index = phase % result.baseline.shape[0]
        panels = [frame[None], result.baseline[index][None], result.selective[index][None]]
        # the target's name is on the page; at 112 pixels a panel has room for the method only
        labels = ["live", result.settings.method, f"selective n={result.settings.n:g}"]
    return side_by_side(panels, labels=labels, size=LABEL_SIZE)[0]


class LiveSession:
    """Reader thread + explainer thread over one source; what the page and the recording show.

    Args:
        source: a :class:`FrameSource`.
        explainer: a :class:`LiveExplainer`.
        every: explain every K-th window.
        clip_length: frames per window T (default: the model's ``spec.num_frames``).
        record: optional path of an ``.mp4`` that receives every shown frame.
        clock, sleep: time source and waiting (files are paced with them).
    """

    def __init__(
        self,
        source: FrameSource,
        explainer: LiveExplainer,
        every: int = 1,
        record: str | os.PathLike | None = None,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        clip_length: int | None = None,
    ):
        self.source = source
        self.explainer = explainer
        self.spec = explainer.spec
        self.clock = clock
        self.sleep = sleep
        self.window = SlidingWindow(clip_length or self.spec.num_frames, every=every, clock=clock)
        self.stats = LiveStats(clock)
        self.record_path = None if record is None else Path(record)
        if self.record_path is not None and self.record_path.suffix.lower() != ".mp4":
            raise VideoXAIError("--out must end in .mp4", self.record_path)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._shown: np.ndarray | None = None
        self._shown_index = -1
        self._result: LiveResult | None = None
        self._result_arrived_at = 0  # frame index at which the current result started to be shown
        self._errors: list[BaseException] = []
        self._explain_error: str | None = None
        self._threads: list[threading.Thread] = []
        self._writer = None

    # -- what others read

    def shown(self) -> tuple[int, np.ndarray | None]:
        """Index of the newest shown frame and the frame, uint8 ``(18 + S, 3·S + 8, 3)`` (None before the first)."""
        with self._lock:
            return self._shown_index, self._shown

    def result(self) -> LiveResult | None:
        with self._lock:
            return self._result

    def explain_error(self) -> str | None:
        """Why the last window could not be explained (a user problem, e.g. the method), or None."""
        with self._lock:
            return self._explain_error

    @property
    def errors(self) -> list[BaseException]:
        return list(self._errors)

    # -- life cycle

    def start(self) -> LiveSession:
        for name, target in (("videoxai-reader", self._read_loop), ("videoxai-explainer", self._explain_loop)):
            thread = threading.Thread(target=self._guarded(target), name=name, daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop reading and explaining, wait for both threads, close the recording."""
        # the reader closes the window itself once it has stopped, so no frame meets a closed window
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._close_writer()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the source has ended and its last window is explained; True when done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        done = not any(thread.is_alive() for thread in self._threads)
        if done:
            self._close_writer()
        return done

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def _guarded(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                loop()
            except BaseException as error:  # noqa: BLE001 - reported by the caller, then everything stops
                self._errors.append(error)
                self._stop.set()

        return run

    # -- the two threads

    def _read_loop(self) -> None:
        fps = self.source.fps
        start = None
        try:
            for index, frame in enumerate(self.source.frames()):
                if self._stop.is_set():
                    break
                if self.source.paced and fps:
                    # a file plays at its own rate: frame i is due i/fps after the first
                    start = self.clock() if start is None else start
                    delay = start + index / fps - self.clock()
                    if delay > 0:
                        self.sleep(delay)
                captured = self.clock()
                small = frame_for_model(frame, self.spec)
                frame_index = self.window.push(small, captured)
                self.stats.frame_read(captured)
                self._show(frame_index, small)
        finally:
            self.source.close()
            self.window.close()

    def _show(self, frame_index: int, small: np.ndarray) -> None:
        with self._lock:
            result = self._result
            phase = frame_index - self._result_arrived_at
        shown = compose(small, result, phase, self.explainer.settings)
        with self._lock:
            self._shown, self._shown_index = shown, frame_index
        if self.record_path is not None:
            self._record(shown)

    def _record(self, shown: np.ndarray) -> None:
        if self._writer is None:
            self.record_path.parent.mkdir(parents=True, exist_ok=True)
            height, width = shown.shape[:2]
            fps = self.source.fps or 25.0
            self._writer = cv2.VideoWriter(
                str(self.record_path),
                cv2.VideoWriter_fourcc(*"mp4v"),
                float(fps),
                (width + width % 2, height + height % 2),
            )
            if not self._writer.isOpened():
                self._writer = None
                raise VideoXAIError("OpenCV cannot open an 'mp4v' writer for this file", self.record_path)
        # most MP4 decoders want even sizes; pad one black row/column rather than resample
        padded = np.pad(shown, ((0, shown.shape[0] % 2), (0, shown.shape[1] % 2), (0, 0)))
        self._writer.write(cv2.cvtColor(padded, cv2.COLOR_RGB2BGR))

    def _close_writer(self) -> None:
        # only the reader writes; once it has stopped the writer can be released from here
        reader_done = not self._threads or not self._threads[0].is_alive()
        if self._writer is not None and reader_done:
            self._writer.release()
            self._writer = None

    def _explain_loop(self) -> None:
        last_end: int | None = None
        while True:
            window, dropped = self.window.take(last_end, timeout=0.2)
            if window is None:
                if self.window.closed or self._stop.is_set():
                    return
                continue
            try:
                result = self.explainer.explain(window)
            except VideoXAIError as error:
                # e.g. a method chosen on the page that this model cannot take: say so, keep the stream
                with self._lock:
                    self._explain_error = str(error)
                last_end = window.end
                continue
            self.stats.explained(result.captured, result.finished, dropped, result.seconds)
            with self._lock:
                self._result = result
                self._explain_error = None
                self._result_arrived_at = max(self._shown_index, 0)
            last_end = window.end
            if self._stop.is_set():
                return


__all__ = [
    "FrameSource",
    "LiveExplainer",
    "LiveFigures",
    "LiveResult",
    "LiveSession",
    "LiveSettings",
    "LiveStats",
    "SlidingWindow",
    "Window",
    "compose",
    "frame_for_model",
    "open_source",
    "parse_size",
    "percentile",
    "resolve_class",
]
