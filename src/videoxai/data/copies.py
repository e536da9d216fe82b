"""Copies of clips with their motion removed: what a model sees without time.

A frozen copy repeats one frame for the clip's length, so nothing in it moves; the static
control explains it to measure what selective relevance keeps where there is no motion.
"""

from __future__ import annotations

import numpy as np

from videoxai.core.errors import VideoXAIError


def frozen_copy(clips: np.ndarray) -> np.ndarray:
    """The clips with every frame replaced by the clip's middle frame (index ``T // 2``).

    Args:
        clips: ``(N, T, ...)`` any dtype (uint8 ``(N, T, H, W, 3)`` RGB in the workflow).
    Returns:
        Array of the same shape and dtype, constant along axis 1.
    """
    clips = np.asarray(clips)
    if clips.ndim < 2 or clips.shape[1] < 1:
        raise VideoXAIError(f"frozen copy: clips must be (N, T, ...) with T >= 1, got shape {clips.shape}")
    middle = clips.shape[1] // 2
    return np.ascontiguousarray(np.repeat(clips[:, middle : middle + 1], clips.shape[1], axis=1))


__all__ = ["frozen_copy"]
