"""Copies of clips with their motion removed or scrambled: what a model sees without time.

* A *still* copy repeats one frame (the reference frame, the middle one by default) for the
  clip's length, so nothing in it moves. The static control explains it to measure what
  selective relevance keeps where there is no motion; the calibrated test compares the clip's
  explanation at the reference frame with the still copy's; the model's probability on it is the
  *freeze* reference of the behavioural test (SCUFO-style, Li et al. 2023).
* A *shifted* still copy moves the still frame by a pixel or two: a change of the size of one
  frame's motion, without any motion, which the calibrated test uses as its null.
* A *shuffled* copy plays the clip's frames in a seeded random order (Huang et al. 2018): the
  same pictures, no coherent motion.

Clips are ``(N, T, H, W, C)`` (uint8 RGB in the workflow); every copy has the clip's shape and
dtype.
"""

from __future__ import annotations

import numpy as np

from videoxai.core.errors import VideoXAIError

# The one-pixel shifts of the calibrated test's null, in the order they are used: right, down,
# diagonal, left, up (dy, dx).
SHIFTS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (0, -1), (-1, 0))


def _check_clips(clips: np.ndarray, what: str) -> np.ndarray:
    clips = np.asarray(clips)
    if clips.ndim < 2 or clips.shape[1] < 1:
        raise VideoXAIError(f"{what}: clips must be (N, T, ...) with T >= 1, got shape {clips.shape}")
    return clips


def reference_frame(length: int) -> int:
    """The frame a still copy repeats: the middle one, ``T // 2``."""
    return int(length) // 2


def frozen_copy(clips: np.ndarray, frame: int | None = None) -> np.ndarray:
    """The clips with every frame replaced by frame ``frame`` (default the middle, ``T // 2``).

    Args:
        clips: ``(N, T, ...)`` any dtype (uint8 ``(N, T, H, W, 3)`` RGB in the workflow).
    Returns:
        Array of the same shape and dtype, constant along axis 1.
    """
    clips = _check_clips(clips, "frozen copy")
    frame = reference_frame(clips.shape[1]) if frame is None else int(frame)
    if not 0 <= frame < clips.shape[1]:
        raise VideoXAIError(f"frozen copy: frame {frame} is outside the clip's {clips.shape[1]} frames")
    return np.ascontiguousarray(np.repeat(clips[:, frame : frame + 1], clips.shape[1], axis=1))


def shifted(clips: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Every frame of ``(N, T, H, W, ...)`` moved by ``dy`` rows and ``dx`` columns; the pixels
    the shift uncovers repeat the nearest edge row or column (nothing wraps around)."""
    clips = _check_clips(clips, "shifted copy")
    if clips.ndim < 4:
        raise VideoXAIError(f"shifted copy: clips must be (N, T, H, W, ...), got shape {clips.shape}")
    height, width = clips.shape[2], clips.shape[3]
    rows = np.clip(np.arange(height) - int(dy), 0, height - 1)
    columns = np.clip(np.arange(width) - int(dx), 0, width - 1)
    return np.ascontiguousarray(clips[:, :, rows][:, :, :, columns])


def shuffle_orders(clips: int, length: int, count: int, seed: int) -> np.ndarray:
    """int64 ``(clips, count, length)``: for every clip ``count`` seeded permutations of its
    frames, none of them the identity (for ``length`` >= 2)."""
    generator = np.random.default_rng(int(seed))
    orders = np.empty((int(clips), int(count), int(length)), np.int64)
    identity = np.arange(length)
    for clip in range(int(clips)):
        for index in range(int(count)):
            order = generator.permutation(length)
            while length > 1 and np.array_equal(order, identity):
                order = generator.permutation(length)
            orders[clip, index] = order
    return orders


def shuffled_copies(clips: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """The clips with their frames in the given orders: ``(N, count, T, ...)`` from clips
    ``(N, T, ...)`` and int ``orders (N, count, T)`` (:func:`shuffle_orders`)."""
    clips = _check_clips(clips, "shuffled copy")
    orders = np.asarray(orders, np.int64)
    if orders.ndim != 3 or orders.shape[0] != clips.shape[0] or orders.shape[2] != clips.shape[1]:
        raise VideoXAIError(f"shuffled copy: orders {orders.shape} do not fit clips {clips.shape}")
    index = np.arange(clips.shape[0])[:, None, None]
    return np.ascontiguousarray(clips[index, orders])


__all__ = [
    "SHIFTS",
    "frozen_copy",
    "reference_frame",
    "shifted",
    "shuffle_orders",
    "shuffled_copies",
]
