"""The sliding window over a stream: the newest frames, and which window the explainer gets next.

:class:`SlidingWindow` keeps the newest frames of a stream, as many as the model's clip length
(plus ``every - 1`` so that the newest *eligible* window is always complete), and hands the
explainer the newest complete window it has not explained yet. Windows the explainer had no
time for are dropped and counted, so latency stays bounded (the explanation in progress plus
one more) instead of growing with a queue.

Time stamps come from an injectable ``clock`` (seconds, monotonic), so the window and drop
logic can be tested on a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from videoxai.core.errors import VideoXAIError

Clock = Callable[[], float]


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


__all__ = ["Clock", "SlidingWindow", "Window"]
