"""Synthetic videos whose evidence is known: the ground-truth benchmark's data.

Every video shows the same kind of scene: a smooth random background, a *patch* (a square of
striped or checked texture, the scene's context cue) and an *object* (a solid square that moves
in one of four directions, the motion cue). Two datasets label the same kind of video by one cue
and draw the other at random, so it is present but says nothing about the label:

* ``motion``: the label is the object's direction (:data:`DIRECTIONS`); the patch's pattern is
  random. Evidence = the object's visible voxels.
* ``context``: the label is the patch's pattern (:data:`PATTERNS`); the object's direction is
  random. Evidence = the patch's visible voxels (where the object covers it, it is not evidence).

The classes are separable only by the intended cue (tests/test_synthetic.py checks both):

* a motion video's frames are, as a set, the frames of the video of the opposite direction
  played backwards (the object's path is drawn as a segment and then traversed one way or the
  other), so no statistic of the frames that ignores their order tells directions apart;
* changing a video's context class changes only the patch's pixels, and changing its motion
  class only the pixels the object covers in either version.

Realism knobs (:class:`Realism`): camera pan and shake (the scene, patch included, moves by whole
pixels), lighting flicker and sensor noise, lossy compression (MPEG-4 part 2 instead of lossless
FFV1) and objects entering at the frame border. Preset ``clean`` has all of them off, preset
``realistic`` all of them on. Everything is drawn from one seed per video, so a dataset is the
same file by file for the same settings.

Arrays: frames are uint8 RGB ``(T, H, W, 3)``; evidence is bool ``(T, H, W)``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from videoxai.core.errors import VideoXAIError

DATASETS: tuple[str, ...] = ("motion", "context")
# (dy, dx) per frame of each motion class.
DIRECTIONS: dict[str, tuple[int, int]] = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}
PATTERNS: tuple[str, ...] = ("horizontal", "vertical", "checker", "diagonal")
OPPOSITE: dict[str, str] = {"right": "left", "left": "right", "down": "up", "up": "down"}

OBJECT_COLOUR = (40, 220, 250)  # RGB
PATCH_LOW = np.array((70, 60, 150), np.float32)  # RGB of the pattern's two tones: same mean for every pattern
PATCH_HIGH = np.array((230, 200, 90), np.float32)
LISTING = "videos.csv"


@dataclass(frozen=True)
class Realism:
    """What makes the videos look like real footage; all off is the ``clean`` preset.

    Attributes:
        pan: camera pan speed in pixels per frame (direction drawn per video).
        shake: camera shake, the largest whole-pixel jitter per frame.
        flicker: amplitude of the per-frame lighting gain (0.1 = ±10 %).
        noise: standard deviation of per-pixel sensor noise (0..255 units).
        compression: write lossy MPEG-4 part 2 (``.mp4``) instead of lossless FFV1 (``.avi``).
        border_entry: the object's path may start or end partly outside the frame.
    """

    pan: float = 0.0
    shake: int = 0
    flicker: float = 0.0
    noise: float = 0.0
    compression: bool = False
    border_entry: bool = False


PRESETS: dict[str, Realism] = {
    "clean": Realism(),
    "realistic": Realism(pan=0.4, shake=1, flicker=0.12, noise=3.0, compression=True, border_entry=True),
}


@dataclass(frozen=True)
class SceneSettings:
    """Geometry shared by every video of a benchmark.

    Attributes:
        frames: frames per video T (one model clip).
        size: frame height and width.
        object_size: side of the moving square.
        patch_size: side of the textured patch (a multiple of 4: each pattern is then half and half).
        speed: object speed in pixels per frame (whole pixels, so its voxels are exact).
        fps: frame rate written into the file.
    """

    frames: int = 16
    size: int = 32
    object_size: int = 6
    patch_size: int = 12
    speed: int = 1
    fps: float = 25.0

    def check(self) -> None:
        span = self.speed * (self.frames - 1)
        if self.patch_size % 4 or self.patch_size < 4:
            raise VideoXAIError(f"patch_size must be a positive multiple of 4, got {self.patch_size}")
        if self.size < self.object_size + span or self.size < self.patch_size + 4:
            raise VideoXAIError(
                f"frames of {self.size} px are too small for an object of {self.object_size} px moving "
                f"{span} px and a patch of {self.patch_size} px"
            )


@dataclass(frozen=True)
class VideoDraw:
    """Everything drawn for one video; :func:`render` turns it into frames and evidence.

    Attributes:
        dataset: ``"motion"`` or ``"context"``: which cue the label names.
        direction, pattern: the motion and context classes (names).
        start: (y, x) of the object's top-left corner in frame 0.
        patch: (y, x) of the patch's top-left corner on the scene in frame 0.
        scene_seed: seed of the background texture.
        camera: int ``(T, 2)`` (dy, dx) offset of the camera per frame (pan + shake).
        gain: float ``(T,)`` lighting gain per frame.
        noise_seed: seed of the sensor noise.
    """

    dataset: str
    direction: str
    pattern: str
    start: tuple[int, int]
    patch: tuple[int, int]
    scene_seed: int
    camera: tuple[tuple[int, int], ...]
    gain: tuple[float, ...]
    noise_seed: int

    @property
    def label(self) -> int:
        return list(DIRECTIONS).index(self.direction) if self.dataset == "motion" else PATTERNS.index(self.pattern)


def class_names(dataset: str) -> tuple[str, ...]:
    """The class names of ``dataset``, in label order."""
    if dataset == "motion":
        return tuple(DIRECTIONS)
    if dataset == "context":
        return PATTERNS
    raise VideoXAIError(f"unknown synthetic dataset {dataset!r}: use one of {list(DATASETS)}")


def _path_range(settings: SceneSettings, realism: Realism) -> tuple[int, int]:
    """Range [low, high] of the first coordinate a path segment of the object may start at."""
    span = settings.speed * (settings.frames - 1)
    low, high = 0, settings.size - settings.object_size - span
    if realism.border_entry:
        # Up to all but one column outside: the object enters or leaves at the border.
        low, high = low - (settings.object_size - 1), high + (settings.object_size - 1)
    return low, high


def draw_video(
    rng: np.random.Generator, dataset: str, label: int, settings: SceneSettings, realism: Realism
) -> VideoDraw:
    """Draw one video of class ``label`` of ``dataset``; the other cue is drawn uniformly."""
    names = class_names(dataset)
    if not 0 <= label < len(names):
        raise VideoXAIError(f"label {label} out of range for dataset {dataset!r} ({len(names)} classes)")
    direction = names[label] if dataset == "motion" else list(DIRECTIONS)[int(rng.integers(len(DIRECTIONS)))]
    pattern = names[label] if dataset == "context" else PATTERNS[int(rng.integers(len(PATTERNS)))]
    span = settings.speed * (settings.frames - 1)
    low, high = _path_range(settings, realism)
    along = int(rng.integers(low, high + 1))  # where the path segment lies along its axis
    across = int(rng.integers(0, settings.size - settings.object_size + 1))
    dy, dx = DIRECTIONS[direction]
    # The segment is drawn first and then traversed in the class's direction, so that opposite
    # directions cover the same positions with the same probabilities.
    begin = along + span if (dy < 0 or dx < 0) else along
    start = (begin, across) if dy else (across, begin)
    patch = tuple(int(value) for value in rng.integers(2, settings.size - settings.patch_size - 1, size=2))
    scene_seed = int(rng.integers(2**31))
    camera = np.zeros((settings.frames, 2), np.float64)
    if realism.pan:
        angle = rng.uniform(0, 2 * np.pi)
        camera += np.arange(settings.frames)[:, None] * realism.pan * np.array([np.sin(angle), np.cos(angle)])
    if realism.shake:
        camera += rng.integers(-realism.shake, realism.shake + 1, size=camera.shape)
    gain = np.ones(settings.frames)
    if realism.flicker:
        phase, frequency = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.4)
        gain += realism.flicker * np.sin(2 * np.pi * frequency * np.arange(settings.frames) + phase)
    return VideoDraw(
        dataset=dataset,
        direction=direction,
        pattern=pattern,
        start=(int(start[0]), int(start[1])),
        patch=(patch[0], patch[1]),
        scene_seed=scene_seed,
        camera=tuple((int(y), int(x)) for y, x in np.round(camera).astype(int)),
        gain=tuple(float(value) for value in gain),
        noise_seed=int(rng.integers(2**31)),
    )


def pattern_tile(pattern: str, size: int) -> np.ndarray:
    """bool ``(size, size)``: where pattern ``pattern`` takes its light tone (stripes 2 px wide)."""
    y, x = np.mgrid[0:size, 0:size]
    cells = {
        "horizontal": (y // 2) % 2,
        "vertical": (x // 2) % 2,
        "checker": (y // 2 + x // 2) % 2,
        "diagonal": ((y + x) // 2) % 2,
    }
    if pattern not in cells:
        raise VideoXAIError(f"unknown pattern {pattern!r}: use one of {list(PATTERNS)}")
    return cells[pattern].astype(bool)


def object_positions(draw: VideoDraw, settings: SceneSettings) -> np.ndarray:
    """int ``(T, 2)``: (y, x) of the object's top-left corner in every frame (may lie outside)."""
    dy, dx = DIRECTIONS[draw.direction]
    steps = np.arange(settings.frames)[:, None] * settings.speed * np.array([dy, dx])
    return np.array(draw.start)[None, :] + steps


def _box_mask(top: int, left: int, side: int, size: int) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[max(top, 0) : max(top + side, 0), max(left, 0) : max(left + side, 0)] = True
    return mask


def render(draw: VideoDraw, settings: SceneSettings, realism: Realism) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames and the masks of both cues of one drawn video.

    Returns:
        frames uint8 ``(T, H, W, 3)`` RGB (before any compression), object mask bool
        ``(T, H, W)`` (the object's visible voxels) and patch mask bool ``(T, H, W)`` (the
        patch's visible voxels, not where the object covers it).
    """
    size, frames_count = settings.size, settings.frames
    camera = np.array(draw.camera, int).reshape(frames_count, 2)
    margin = int(np.abs(camera).max()) if camera.size else 0
    canvas_size = size + 2 * margin
    scene_rng = np.random.default_rng(draw.scene_seed)
    coarse = scene_rng.uniform(60, 150, size=(canvas_size // 4 + 2, canvas_size // 4 + 2, 3)).astype(np.float32)
    canvas = cv2.resize(coarse, (canvas_size, canvas_size), interpolation=cv2.INTER_CUBIC)
    tile = pattern_tile(draw.pattern, settings.patch_size)
    top, left = draw.patch[0] + margin, draw.patch[1] + margin
    canvas[top : top + settings.patch_size, left : left + settings.patch_size] = np.where(
        tile[..., None], PATCH_HIGH, PATCH_LOW
    )
    patch_on_canvas = np.zeros((canvas_size, canvas_size), bool)
    patch_on_canvas[top : top + settings.patch_size, left : left + settings.patch_size] = True
    positions = object_positions(draw, settings)
    noise_rng = np.random.default_rng(draw.noise_seed)
    frames = np.empty((frames_count, size, size, 3), np.uint8)
    object_mask = np.empty((frames_count, size, size), bool)
    patch_mask = np.empty((frames_count, size, size), bool)
    for index in range(frames_count):
        # The camera moving by (dy, dx) moves the scene by (-dy, -dx) in the image.
        y0, x0 = margin + camera[index, 0], margin + camera[index, 1]
        frame = canvas[y0 : y0 + size, x0 : x0 + size].copy()
        visible_patch = patch_on_canvas[y0 : y0 + size, x0 : x0 + size]
        box = _box_mask(int(positions[index, 0]), int(positions[index, 1]), settings.object_size, size)
        frame[box] = OBJECT_COLOUR
        frame *= draw.gain[index]
        if realism.noise:
            frame += noise_rng.normal(0.0, realism.noise, size=frame.shape).astype(np.float32)
        frames[index] = np.clip(np.round(frame), 0, 255).astype(np.uint8)
        object_mask[index] = box
        patch_mask[index] = visible_patch & ~box
    return frames, object_mask, patch_mask


def evidence(draw: VideoDraw, object_mask: np.ndarray, patch_mask: np.ndarray) -> np.ndarray:
    """bool ``(T, H, W)``: the voxels that carry the label (object for motion, patch for context)."""
    return object_mask if draw.dataset == "motion" else patch_mask


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, compression: bool) -> Path:
    """Write uint8 RGB ``(T, H, W, 3)`` as lossless FFV1 (``.avi``) or lossy MPEG-4 (``.mp4``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if compression else "FFV1"))
    height, width = frames.shape[1:3]
    temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
    writer = cv2.VideoWriter(str(temporary), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise VideoXAIError("OpenCV cannot write this video (codec missing?)", path)
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    os.replace(temporary, path)
    return path


@dataclass(frozen=True)
class DatasetSpec:
    """One synthetic dataset split: what :func:`make_dataset` writes.

    Attributes:
        dataset: ``"motion"`` or ``"context"``.
        split: a name (``train``, ``test``): part of the video ids and of the seed.
        per_class: videos per class.
        seed: base seed; each (dataset, split, video) gets its own stream from it.
        preset: ``"clean"`` or ``"realistic"`` (:data:`PRESETS`).
        scene: geometry of the videos.
    """

    dataset: str
    split: str
    per_class: int
    seed: int = 0
    preset: str = "clean"
    scene: SceneSettings = field(default_factory=SceneSettings)

    @property
    def realism(self) -> Realism:
        try:
            return PRESETS[self.preset]
        except KeyError:
            raise VideoXAIError(f"unknown preset {self.preset!r}: use one of {list(PRESETS)}") from None

    def digest(self) -> str:
        """sha256 of everything that decides the files (and of the generator's version)."""
        text = json.dumps({**asdict(self), "version": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


# Bump when a change of this module changes the videos, so cached models are retrained.
GENERATOR_VERSION = 1


def draws(spec: DatasetSpec) -> list[VideoDraw]:
    """The drawn videos of a split, classes interleaved (video k has label k mod classes)."""
    if spec.dataset not in DATASETS:
        raise VideoXAIError(f"unknown synthetic dataset {spec.dataset!r}: use one of {list(DATASETS)}")
    if spec.per_class < 1:
        raise VideoXAIError(f"videos per class must be at least 1, got {spec.per_class}")
    spec.scene.check()
    classes = len(class_names(spec.dataset))
    split_key = int.from_bytes(hashlib.sha256(spec.split.encode()).digest()[:4], "little")
    rng = np.random.default_rng([spec.seed, DATASETS.index(spec.dataset), split_key])
    return [
        draw_video(rng, spec.dataset, index % classes, spec.scene, spec.realism)
        for index in range(spec.per_class * classes)
    ]


def video_id(spec: DatasetSpec, index: int) -> str:
    return f"{spec.dataset}_{spec.split}_{index:04d}"


def make_dataset(spec: DatasetSpec, folder: str | os.PathLike) -> list[dict]:
    """Write the videos of ``spec`` into ``folder``, each with its evidence beside it.

    Per video: ``<id>.avi`` (or ``.mp4`` with compression) and ``<id>.npz`` holding
    ``evidence`` bool ``(T, H, W)``, ``object`` and ``patch`` bool ``(T, H, W)`` (both cues'
    visible voxels), ``positions`` int ``(T, 2)`` (object's top-left corner per frame) and
    ``label`` int. ``videos.csv`` lists ``video_id, path, label, class_name, direction, pattern``.

    Returns:
        the listing's rows, in order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".mp4" if spec.realism.compression else ".avi"
    rows = []
    for index, draw in enumerate(draws(spec)):
        name = video_id(spec, index)
        frames, object_mask, patch_mask = render(draw, spec.scene, spec.realism)
        path = write_video(folder / f"{name}{suffix}", frames, spec.scene.fps, spec.realism.compression)
        np.savez_compressed(
            folder / f"{name}.npz",
            evidence=evidence(draw, object_mask, patch_mask),
            object=object_mask,
            patch=patch_mask,
            positions=object_positions(draw, spec.scene),
            label=np.int64(draw.label),
        )
        rows.append(
            {
                "video_id": name,
                "path": str(path),
                "label": draw.label,
                "class_name": class_names(spec.dataset)[draw.label],
                "direction": draw.direction,
                "pattern": draw.pattern,
            }
        )
    with open(folder / LISTING, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def read_listing(folder: str | os.PathLike) -> list[dict]:
    """The rows :func:`make_dataset` wrote into ``folder`` (``label`` as int)."""
    path = Path(folder) / LISTING
    if not path.exists():
        raise VideoXAIError("no synthetic video listing here (run make_dataset first)", path)
    with open(path, encoding="utf-8") as handle:
        return [{**row, "label": int(row["label"])} for row in csv.DictReader(handle)]


def read_evidence(video_path: str | os.PathLike) -> np.ndarray:
    """The evidence volume bool ``(T, H, W)`` stored beside a synthetic video."""
    path = Path(video_path).with_suffix(".npz")
    if not path.exists():
        raise VideoXAIError("no evidence volume beside this video", path)
    with np.load(path) as stored:
        return stored["evidence"].astype(bool)


def with_classes(draw: VideoDraw, direction: str | None = None, pattern: str | None = None) -> VideoDraw:
    """The same video (same scene, camera, object start) with another direction or pattern."""
    changes = {}
    if direction is not None:
        changes["direction"] = direction
    if pattern is not None:
        changes["pattern"] = pattern
    return replace(draw, **changes)


def reversed_draw(draw: VideoDraw, settings: SceneSettings) -> VideoDraw:
    """The video played backwards, as a draw: the opposite direction, starting where ``draw``
    ends, with the camera path and lighting reversed (sensor noise is not reversed)."""
    end = object_positions(draw, settings)[-1]
    return replace(
        draw,
        direction=OPPOSITE[draw.direction],
        start=(int(end[0]), int(end[1])),
        camera=tuple(reversed(draw.camera)),
        gain=tuple(reversed(draw.gain)),
    )


__all__ = [
    "DATASETS",
    "DIRECTIONS",
    "GENERATOR_VERSION",
    "OPPOSITE",
    "PATTERNS",
    "PRESETS",
    "DatasetSpec",
    "Realism",
    "SceneSettings",
    "VideoDraw",
    "class_names",
    "draw_video",
    "draws",
    "evidence",
    "make_dataset",
    "object_positions",
    "pattern_tile",
    "read_evidence",
    "read_listing",
    "render",
    "reversed_draw",
    "video_id",
    "with_classes",
    "write_video",
]
