"""Live selective explanation of a video stream (the paper's §5.3): read, window, explain, show.

The data flow, one module each, none of which knows about HTTP (the page lives in
:mod:`videoxai.live.server`):

* :mod:`~videoxai.live.source`: a camera, file, URL or standard input, as frames sized for the model;
* :mod:`~videoxai.live.window`: the sliding window, which hands the explainer the newest window
  and counts the ones it had no time for;
* :mod:`~videoxai.live.explainer`: one window explained and drawn, with settings changeable live;
* :mod:`~videoxai.live.picture`: the shown picture, live frame | baseline | selective;
* :mod:`~videoxai.live.stats`: the live figures.

:class:`LiveSession` (here) runs a reader thread (source -> window -> shown frame -> optional
recording) and an explainer thread (window -> explanation), and keeps the live figures. Every
time stamp comes from an injectable ``clock`` (seconds, monotonic), so the pacing can be tested
on a fake clock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from videoxai.core.errors import VideoXAIError
from videoxai.live.explainer import LiveExplainer, LiveResult
from videoxai.live.picture import compose
from videoxai.live.source import FrameSource, frame_for_model
from videoxai.live.stats import LiveStats
from videoxai.live.window import Clock, SlidingWindow
from videoxai.report.overlay import H264Writer

# x264 preset of --out recordings
RECORDING_PRESET = "veryfast"


class LiveSession:
    """Reader thread + explainer thread over one source; what the page and the recording show.

    Args:
        source: a :class:`FrameSource`.
        explainer: a :class:`LiveExplainer`.
        every: explain every K-th window.
        clip_length: frames per window T (default: the model's ``spec.num_frames``).
        record: optional path of an ``.mp4`` (H.264) that receives every shown frame.
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
        """Index of the newest shown frame and the frame, uint8 ``(LABEL_HEIGHT + S, 3·S + 8, 3)`` (None before the first)."""
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
            # the overlays' H.264 writer, which browsers play (OpenCV's mp4v they do not); a fast
            # preset, because the reader thread encodes each frame before it reads the next
            self._writer = H264Writer(self.record_path, self.source.fps or 25.0, preset=RECORDING_PRESET)
        self._writer.write(shown)

    def _close_writer(self) -> None:
        # only the reader writes; once it has stopped the writer can be released from here
        reader_done = not self._threads or not self._threads[0].is_alive()
        if self._writer is not None and reader_done:
            self._writer.close()
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


__all__ = ["RECORDING_PRESET", "LiveSession"]
