"""The report's examples: which clips and methods to show, the overlay video, and a page that plays it.

The examples are the clips whose baseline relevance lies most on motion (:func:`top_clips` of
:mod:`videoxai.report.figures`); the overlay video shows, for each, the method whose baseline puts
the most relevance on motion in that clip, with its selective map beside it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from videoxai.core.files import atomic_write
from videoxai.core.methods import method_label
from videoxai.report.overlay import ExplainedClips, render_explanation, text_band, write_video

# Overlay videos are slowed down to at most this many frames per second: a 16-frame clip would
# pass in under a second at the video's own rate.
EXAMPLE_FPS = 8.0
# Panels at least this many pixels wide, so the text on the frames stays readable for small clips.
MIN_PANEL_WIDTH = 224


def player_page(mp4: str | Path, title: str) -> str:
    """A self-contained HTML page that plays ``mp4`` in a loop under ``title``.

    The video travels inside the page as a data URI: the report shows HTML pages in a frame of
    their own, where a relative link to a separate file would not resolve.
    """
    data = base64.b64encode(Path(mp4).read_bytes()).decode("ascii")
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:1em}video{max-width:100%}</style></head><body>"
        f"<p>{html.escape(title)}</p>"
        f'<video id="overlay" controls loop muted playsinline src="data:video/mp4;base64,{data}"></video>'
        "</body></html>\n"
    )


def write_player(mp4: str | Path, page: str | Path, title: str) -> Path:
    """:func:`player_page` of ``mp4`` written atomically to ``page``."""
    text = player_page(mp4, title)
    return atomic_write(page, lambda path: path.write_text(text, encoding="utf-8"))


def placeholder_video(mp4: str | Path, message: str) -> None:
    """A short video that shows ``message``: the declared example exists and says why it is empty."""
    frame = text_band([message], 480, size=14)
    write_video(np.repeat(frame[None], 8, axis=0), mp4, fps=8)


def placeholder_figure(path: str | Path, message: str) -> None:
    """A small figure that shows ``message``, for an example that has no clip."""
    figure = Figure(figsize=(4, 1))
    figure.text(0.5, 0.5, message, ha="center", va="center")
    figure.savefig(path)


def most_on_motion(metrics: pd.DataFrame, video: str, clip: int, methods: Sequence[str], tau: float) -> str:
    """The method whose baseline puts the most relevance on motion (weighted precision at ``tau``)
    in one clip; the first of ``methods`` when none has a value."""
    rows = metrics[
        (metrics["video"] == video)
        & (metrics["clip"] == clip)
        & (metrics["variant"] == "baseline")
        & (metrics["metric"] == "weighted_precision")
        & np.isclose(metrics["tau"], tau)
    ]
    scores = rows.groupby("method")["value"].mean().reindex(list(methods))
    return scores.idxmax() if scores.notna().any() else methods[0]


def softmax_probability(logits: np.ndarray, target: int) -> float:
    """The softmax probability of class ``target`` from one clip's logits ``(K,)``."""
    shifted = np.asarray(logits, np.float64) - np.max(logits)
    return float(np.exp(shifted[target]) / np.exp(shifted).sum())


def write_example_video(
    mp4: str | Path,
    *,
    clip: np.ndarray,
    frame_indices: np.ndarray,
    fps: float,
    method: str,
    baseline: np.ndarray,
    selective: np.ndarray,
    mask: np.ndarray | None,
    logits: np.ndarray,
    target: int,
    class_names: Sequence[str],
    n: float,
) -> None:
    """The overlay video of one clip: ``method``'s baseline and selective map (n) side by side.

    Args:
        clip: uint8 ``(T, H, W, 3)``; ``frame_indices`` int ``(T,)`` into the source video.
        baseline, selective: float ``(T, H, W)``; ``mask`` bool ``(T, H, W)`` or None.
        logits: float ``(K,)``; ``target`` the explained class.
    """
    frames = ExplainedClips(
        clips=clip[None],
        baseline=baseline[None],
        selective=selective[None],
        method=method_label(method),
        classes=[class_names[target] if target < len(class_names) else str(target)],
        probabilities=[softmax_probability(logits, target)],
        n=n,
        kept=[float(np.mean(mask)) if mask is not None else float(np.mean(selective != 0))],
        times=np.asarray(frame_indices)[None] / fps,
    )
    factor = max(2, -(-MIN_PANEL_WIDTH // frames.clips.shape[3]))
    write_video(render_explanation(frames, factor=factor), mp4, fps=min(fps, EXAMPLE_FPS))


def example_title(video: str, clip: int, method: str, n: float) -> str:
    return f"{video}, clip {clip}: {method_label(method)} (selective n = {n:g})"


__all__ = [
    "EXAMPLE_FPS",
    "example_title",
    "most_on_motion",
    "placeholder_figure",
    "placeholder_video",
    "player_page",
    "softmax_probability",
    "write_example_video",
    "write_player",
]
