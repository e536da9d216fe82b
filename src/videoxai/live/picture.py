"""What is shown on the page and recorded: the live frame | baseline overlay | selective overlay."""

from __future__ import annotations

import numpy as np

from videoxai.live.explainer import LiveResult, LiveSettings
from videoxai.report.overlay import side_by_side

# Labels above the shown panels: one font size whatever the frame size, so the picture's height
# is always LABEL_HEIGHT + S.
LABEL_SIZE = 12  # a 22-pixel band: even, so H.264 recordings need no padding row
LABEL_HEIGHT = 22  # overlay.label_height(LABEL_SIZE), checked by the tests


def compose(frame: np.ndarray, result: LiveResult | None, phase: int, settings: LiveSettings) -> np.ndarray:
    """What is shown: uint8 ``(LABEL_HEIGHT + S, 3·S + 8, 3)``, the live frame | baseline | selective overlay.

    The overlays play the explained window in a loop (frame ``phase mod T``), so the newest
    explanation is seen moving at the stream's pace until the next one replaces it.
    """
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


__all__ = ["LABEL_HEIGHT", "LABEL_SIZE", "compose"]
