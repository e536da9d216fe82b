"""Explaining one window: the method's relevance, its selective relevance, both drawn as overlays.

:class:`LiveExplainer` explains one window (uint8 ``(T, S, S, 3)``) with the chosen method, takes
its selective relevance and draws both as overlays; method, n and target can be changed between
windows from another thread (:meth:`LiveExplainer.update`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch

from videoxai.core.errors import VideoXAIError
from videoxai.core.methods import ALL_METHODS, FLOW_METHODS
from videoxai.explain import get_explainer
from videoxai.live.window import Clock, Window
from videoxai.motion.flow import farneback
from videoxai.motion.selective import selective_relevance
from videoxai.report.colour import relevance_scale
from videoxai.report.overlay import overlay_relevance


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
        if method not in self._explainers:
            self._explainers[method] = get_explainer(method, self.model, spec=self.spec)
        return self._explainers[method]

    def explain(self, window: Window) -> LiveResult:
        """Explain ``window`` (frames uint8 ``(T, S, S, 3)``) with the settings of this moment."""
        settings = self.settings
        started = self.clock()
        inputs = self.spec.preprocess(window.frames, device=self.device)
        extra = {}
        if settings.method in FLOW_METHODS:
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


__all__ = ["LiveExplainer", "LiveResult", "LiveSettings", "class_name", "resolve_class"]
