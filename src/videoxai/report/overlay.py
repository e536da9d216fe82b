"""Relevance drawn over video frames: H.264 MP4 (PyAV), GIF (Pillow) and PNG contact sheets.

Frames are uint8 RGB ``(T, H, W, 3)``; relevance is float ``(T, H, W)``, same T, H and W.
Relevance is drawn with the diverging map and the percentile scale of :mod:`videoxai.report.colour`
(the same as the report's Figure-3 grids) over a grey, low-contrast copy of the frame, with an
opacity proportional to ``|R|``, so voxels without relevance (e.g. outside a selective mask)
show the plain frame. One scale per clip keeps its frames comparable, and the baseline and
selective panels share it so the selective map reads as a subset.

A rendered explanation (:func:`render_explanation`) carries on every frame the method, the
explained class with its probability, the selective ``n``, the frame's time in the source video
and a colour bar with the scale's value.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import atomic_write
from videoxai.report.colour import SCALE_PERCENTILE, colour_table, colourise, normalise, relevance_scale

FORMATS = (".mp4", ".gif")
_GREY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _check(frames: np.ndarray, relevance: np.ndarray) -> None:
    if frames.ndim != 4 or frames.shape[-1] != 3 or relevance.shape != frames.shape[:3]:
        raise VideoXAIError(
            f"overlay: need frames (T, H, W, 3) and relevance (T, H, W) of the same size, "
            f"got {frames.shape} and {relevance.shape}"
        )


def muted(frames: np.ndarray) -> np.ndarray:
    """float32 ``(T, H, W, 3)``: the frames in grey with contrast compressed to 20–80 %, so red
    and blue relevance stay readable over any content."""
    grey = np.asarray(frames, dtype=np.float32) @ _GREY_WEIGHTS
    return np.repeat((51.0 + 0.6 * grey)[..., None], 3, axis=-1)


def overlay_relevance(
    frames: np.ndarray,
    relevance: np.ndarray,
    scale: float | None = None,
    opacity: float = 0.85,
    *,
    background: str = "grey",
) -> np.ndarray:
    """Blend relevance ``(T, H, W)`` over frames uint8 ``(T, H, W, 3)``; returns uint8 ``(T, H, W, 3)``.

    ``scale`` is the ``|R|`` drawn at full colour and opacity (default:
    :func:`videoxai.report.colour.relevance_scale` of ``relevance``). ``background`` is ``"grey"``
    (muted grey frame, as in the figures) or ``"colour"`` (the frame as it is).
    """
    frames = np.asarray(frames)
    relevance = np.asarray(relevance, dtype=np.float32)
    _check(frames, relevance)
    if scale is None:
        scale = relevance_scale(relevance)
    if not scale > 0:
        raise VideoXAIError(f"overlay: the colour scale must be positive, got {scale}")
    base = muted(frames) if background == "grey" else frames.astype(np.float32)
    values = normalise(relevance, scale)
    alpha = (opacity * np.abs(values))[..., None]
    blended = base * (1.0 - alpha) + colourise(values, _table()) * alpha
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


@lru_cache(maxsize=1)
def _table() -> np.ndarray:
    return colour_table()


def enlarge(frames: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscale of ``(T, H, W, 3)`` by an integer factor (relevance stays crisp)."""
    if factor == 1:
        return frames
    return frames.repeat(factor, axis=1).repeat(factor, axis=2)


@lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def _font_size(width: int) -> int:
    return int(np.clip(width // 30, 11, 18))


def line_height(size: int) -> int:
    """Pixels one line of text at font ``size`` takes in a :func:`text_band`."""
    return int(round(size * 1.35))


def label_height(size: int) -> int:
    """Height of the band :func:`label_panel` puts above a panel, for font ``size``."""
    return line_height(size) + 6


def text_band(
    lines: Sequence[str], width: int, size: int | None = None, background=(0, 0, 0), colour=(255, 255, 255)
) -> np.ndarray:
    """uint8 ``(h, width, 3)``: ``lines`` of text, one under the other, on a plain band."""
    from PIL import Image, ImageDraw

    size = size or _font_size(width)
    step = line_height(size)
    image = Image.new("RGB", (width, step * len(lines) + 6), background)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((4, 3 + row * step), line, fill=colour, font=_font(size))
    return np.asarray(image)


def colour_bar(
    width: int,
    scale: float,
    size: int | None = None,
    label: str = f"relevance; colours saturate at the {SCALE_PERCENTILE:g}th percentile of |R|",
) -> np.ndarray:
    """uint8 ``(h, width, 3)``: the diverging colour bar from ``-scale`` to ``+scale`` with its values."""
    from PIL import Image, ImageDraw

    size = size or _font_size(width)
    margin = max(8, width // 20)
    bar_width = max(width - 2 * margin, 8)
    bar_height = max(6, size - 2)
    height = bar_height + 2 * int(round(size * 1.35)) + 8
    image = Image.new("RGB", (width, height), (255, 255, 255))
    gradient = colourise(np.linspace(-1.0, 1.0, bar_width, dtype=np.float32), _table())
    bar = np.repeat(np.rint(gradient)[None].astype(np.uint8), bar_height, axis=0)
    image.paste(Image.fromarray(bar), (margin, 4))
    draw = ImageDraw.Draw(image)
    font = _font(size)
    y = 6 + bar_height
    draw.line([(margin, 4), (margin, y)], fill=(0, 0, 0))
    draw.line([(margin + bar_width // 2, 4), (margin + bar_width // 2, y)], fill=(0, 0, 0))
    draw.line([(margin + bar_width - 1, 4), (margin + bar_width - 1, y)], fill=(0, 0, 0))
    for text, x, anchor in (
        (f"-{scale:.3g}", margin, "la"),
        ("0", margin + bar_width // 2, "ma"),
        (f"+{scale:.3g}", margin + bar_width - 1, "ra"),
    ):
        draw.text((x, y), text, fill=(0, 0, 0), font=font, anchor=anchor)
    draw.text((width // 2, y + int(round(size * 1.35))), label, fill=(60, 60, 60), font=font, anchor="ma")
    return np.asarray(image)


def label_panel(frames: np.ndarray, label: str, size: int | None = None) -> np.ndarray:
    """Add a black band with ``label`` (font ``size`` px) above every frame of ``(T, H, W, 3)``."""
    band = text_band([label], frames.shape[2], size=size)
    return np.concatenate([np.broadcast_to(band, (frames.shape[0], *band.shape)), frames], axis=1)


def side_by_side(
    panels: Sequence[np.ndarray], labels: Sequence[str] | None = None, gap: int = 4, size: int | None = None
) -> np.ndarray:
    """Panels uint8 ``(T, H, W_i, 3)`` next to each other, separated by a white gap, optionally
    labelled (font ``size`` px, default from the total width)."""
    if labels is not None:
        size = size or _font_size(sum(panel.shape[2] for panel in panels))
        panels = [label_panel(panel, label, size) for panel, label in zip(panels, labels)]
    pieces = []
    for index, panel in enumerate(panels):
        if index:
            pieces.append(np.full(panel.shape[:2] + (gap, 3), 255, dtype=np.uint8))
        pieces.append(panel)
    return np.ascontiguousarray(np.concatenate(pieces, axis=2))


@dataclass
class ExplainedClips:
    """What :func:`render_explanation` and :func:`contact_sheet` draw.

    Attributes:
        clips: uint8 ``(N, T, H, W, 3)`` model-sized RGB clips.
        baseline: float32 ``(N, T, H, W)`` relevance of the method.
        selective: float32 ``(N, T, H, W)`` selective map (zero outside the mask).
        method: display name of the method (e.g. "Guided Grad-CAM").
        classes: N names of the explained class, one per clip.
        probabilities: N softmax probabilities of the explained class.
        n: the σ multiplier of the selective map.
        kept: N shares (0..1) of voxels the selective mask keeps.
        times: float ``(N, T)`` time of each frame in the source video, seconds.
    """

    clips: np.ndarray
    baseline: np.ndarray
    selective: np.ndarray
    method: str
    classes: Sequence[str]
    probabilities: Sequence[float]
    n: float
    kept: Sequence[float]
    times: np.ndarray

    def __post_init__(self):
        self.clips = np.asarray(self.clips)
        self.baseline = np.asarray(self.baseline, dtype=np.float32)
        self.selective = np.asarray(self.selective, dtype=np.float32)
        self.times = np.asarray(self.times, dtype=np.float64)
        count, length = self.clips.shape[:2] if self.clips.ndim == 5 else (0, 0)
        if (
            self.clips.ndim != 5
            or self.clips.shape[-1] != 3
            or self.baseline.shape != self.clips.shape[:4]
            or self.selective.shape != self.baseline.shape
            or self.times.shape != (count, length)
            or not len(self.classes) == len(self.probabilities) == len(self.kept) == count
        ):
            raise VideoXAIError(
                f"overlay: need clips (N, T, H, W, 3), maps (N, T, H, W), times (N, T) and N classes, "
                f"probabilities and kept shares; got clips {self.clips.shape}, baseline {self.baseline.shape}, "
                f"selective {self.selective.shape}, times {self.times.shape}, {len(self.classes)} classes"
            )

    @property
    def scales(self) -> list[float]:
        """One colour scale per clip, from its baseline map (the selective map shares it)."""
        return [relevance_scale(clip) for clip in self.baseline]

    def headline(self, index: int) -> str:
        return f"{self.method} | {self.classes[index]} (p = {self.probabilities[index]:.2f}) | n = {self.n:g}"


def render_explanation(explained: ExplainedClips, factor: int = 2) -> np.ndarray:
    """Every frame of every clip as one uint8 ``(N*T, H', W', 3)`` image sequence.

    Each frame: a header with the method, the explained class and its probability, ``n`` and
    the frame's time; the baseline and the selective panel (enlarged ``factor`` times); a
    colour bar with the clip's scale.
    """
    frames = []
    count, length = explained.clips.shape[:2]
    for index, scale in enumerate(explained.scales):
        left = enlarge(overlay_relevance(explained.clips[index], explained.baseline[index], scale), factor)
        right = enlarge(overlay_relevance(explained.clips[index], explained.selective[index], scale), factor)
        panels = side_by_side(
            [left, right],
            labels=["baseline", f"selective n = {explained.n:g} ({100 * explained.kept[index]:.1f}% kept)"],
        )
        width = panels.shape[2]
        bar = colour_bar(width, scale)
        for step in range(length):
            time = explained.times[index, step]
            header = text_band(
                [explained.headline(index), f"t = {time:.2f} s | clip {index + 1}/{count}, frame {step + 1}/{length}"],
                width,
            )
            frames.append(np.concatenate([header, panels[step], bar], axis=0))
    return np.ascontiguousarray(np.stack(frames))


def contact_sheet(explained: ExplainedClips, count: int = 6, factor: int = 1) -> np.ndarray:
    """uint8 ``(H', W', 3)``: ``count`` frames spread evenly over all clips, baseline above selective.

    Columns are the frames in time order, each headed with its time; the header names the
    method, classes, probabilities and ``n``; one colour bar per sheet uses the first clip's
    scale when all clips share it, else each column is scaled by its own clip (the bar then
    shows the largest scale, and the header says so).
    """
    clips, length = explained.clips.shape[:2]
    total = clips * length
    if count < 1:
        raise VideoXAIError(f"--sheet-frames must be at least 1, got {count}")
    picks = np.unique(np.round(np.linspace(0, total - 1, min(count, total))).astype(int))
    scales = explained.scales
    gap = 4
    columns = []
    for pick in picks:
        index, step = divmod(int(pick), length)
        frame = explained.clips[index, step][None]
        cells = [
            enlarge(overlay_relevance(frame, maps[index, step][None], scales[index]), factor)[0]
            for maps in (explained.baseline, explained.selective)
        ]
        width = cells[0].shape[1]
        label = text_band([f"t = {explained.times[index, step]:.2f} s"], width, size=12)
        white = np.full((gap, width, 3), 255, dtype=np.uint8)
        columns.append(np.concatenate([label, cells[0], white, cells[1]], axis=0))
    body = side_by_side([column[None] for column in columns], gap=gap)[0]
    # row names beside the grid, centred on the baseline and the selective row
    label_height = columns[0].shape[0] - 2 * explained.clips.shape[2] * factor - gap
    panel_height = explained.clips.shape[2] * factor
    side = np.full((body.shape[0], 120, 3), 255, dtype=np.uint8)
    for row, text in enumerate(("baseline", f"selective n = {explained.n:g}")):
        band = text_band([text], 120, size=12, background=(255, 255, 255), colour=(0, 0, 0))
        top = label_height + row * (panel_height + gap) + max(0, (panel_height - band.shape[0]) // 2)
        band = band[: body.shape[0] - top]
        side[top : top + band.shape[0]] = band
    sheet = np.concatenate([side, body], axis=1)
    width = sheet.shape[1]
    classes = sorted(set(f"{name} (p = {p:.2f})" for name, p in zip(explained.classes, explained.probabilities)))
    shared = len(set(np.round(scales, 12))) == 1
    lines = [f"{explained.method} | n = {explained.n:g} | {', '.join(classes)}"]
    if not shared:
        lines.append("each clip scaled by its own percentile; the bar shows the largest")
    header = text_band(lines, width)
    bar = colour_bar(width, max(scales))
    return np.ascontiguousarray(np.concatenate([header, sheet, bar], axis=0))


def write_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write uint8 RGB ``(H, W, 3)`` as PNG."""
    from PIL import Image

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise VideoXAIError("contact sheet must end in .png", path)
    return atomic_write(
        path,
        lambda temporary: Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(temporary, format="PNG"),
    )


class H264Writer:
    """An H.264 MP4 (yuv420p, via PyAV) written one uint8 RGB ``(H, W, 3)`` frame at a time.

    For streams whose length is not known in advance (``videoxai live --out``); :func:`write_video`
    writes whole clips with it. The first frame fixes the size. H.264 in yuv420p is what browsers,
    GitHub and slide software play; 4:2:0 needs even sizes, so odd ones get one black row/column
    rather than a resample. ``preset`` trades encoding speed for size (x264's names).
    """

    def __init__(self, path: str | os.PathLike, fps: float, preset: str = "medium"):
        import av

        self.path = Path(path)
        self.rate = Fraction(fps).limit_denominator(1001)
        self.preset = preset
        self.frames_written = 0
        self._stream = None
        try:
            self._container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        except (OSError, av.error.FFmpegError) as error:
            raise VideoXAIError(f"cannot write a video here ({error})", self.path) from None

    def write(self, frame: np.ndarray) -> None:
        import av

        if self._container is None:
            raise VideoXAIError("the video is already closed", self.path)
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if frame.ndim != 3 or frame.shape[-1] != 3:
            raise VideoXAIError(f"need an RGB frame (H, W, 3), got {frame.shape}", self.path)
        height, width = frame.shape[:2]
        frame = np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)))
        if self._stream is None:
            self._stream = self._container.add_stream("libx264", rate=self.rate)
            self._stream.width, self._stream.height = frame.shape[1], frame.shape[0]
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": "18", "preset": self.preset}
        elif (self._stream.height, self._stream.width) != frame.shape[:2]:
            raise VideoXAIError(
                f"every frame must have the first one's size {self._stream.width}x{self._stream.height}, "
                f"got {frame.shape[1]}x{frame.shape[0]}",
                self.path,
            )
        self._container.mux(self._stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and finish the file; closing twice does nothing."""
        if self._container is None:
            return
        try:
            if self._stream is not None:
                self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _write_h264(frames: np.ndarray, path: Path, fps: float) -> None:
    with H264Writer(path, fps) as writer:
        for frame in frames:
            writer.write(frame)


def write_video(frames: np.ndarray, path: str | os.PathLike, fps: float = 8.0) -> Path:
    """Write uint8 RGB ``(T, H, W, 3)`` to ``.mp4`` (H.264, yuv420p, via PyAV) or ``.gif`` (Pillow, looping)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise VideoXAIError(f"output must end in {' or '.join(FORMATS)}", path)
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise VideoXAIError(f"need frames (T, H, W, 3), got {frames.shape}", path)
    if not fps > 0:
        raise VideoXAIError(f"frame rate must be positive, got {fps}", path)
    if suffix == ".gif":
        from PIL import Image

        def write_gif(temporary: Path) -> None:
            images = [Image.fromarray(frame) for frame in frames]
            images[0].save(
                temporary,
                format="GIF",
                save_all=True,
                append_images=images[1:],
                duration=max(20, round(1000 / fps)),
                loop=0,
            )

        return atomic_write(path, write_gif)
    return atomic_write(path, lambda temporary: _write_h264(frames, temporary, fps))


__all__ = [
    "FORMATS",
    "ExplainedClips",
    "H264Writer",
    "colour_bar",
    "contact_sheet",
    "enlarge",
    "label_panel",
    "muted",
    "overlay_relevance",
    "render_explanation",
    "side_by_side",
    "text_band",
    "write_png",
    "write_video",
]
