"""The live figures: frames read, explanations per second, latency, dropped windows.

:class:`LiveStats` collects them from the reader and explainer threads on the session's clock;
:class:`LiveFigures` is what the page shows at one moment.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from videoxai.live.window import Clock

# how far back the explanations-per-second figure looks, in clock seconds
RATE_HORIZON_S = 10.0
# how many recent latencies the median and 95th percentile are taken over
LATENCY_HISTORY = 100


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


__all__ = ["LATENCY_HISTORY", "RATE_HORIZON_S", "LiveFigures", "LiveStats", "percentile"]
