"""Farnebäck flow pairs frame t with t+1 (not with the clip's first frame)."""

import numpy as np
import pytest

from videoxai.errors import VideoXAIError
from videoxai.flow import farneback, farneback_clips, flow_magnitude


def moving_square_clip(frames=8, size=64, square=16, step=1):
    """A textured square moving right by ``step`` px per frame on a flat background."""
    rng = np.random.default_rng(0)
    texture = (rng.random((square, square)) * 155 + 100).astype(np.uint8)
    clip = np.full((frames, size, size, 3), 40, np.uint8)
    for t in range(frames):
        left = 16 + t * step
        clip[t, 24 : 24 + square, left : left + square] = texture[..., None]
    return clip


def test_consecutive_pairing_gives_one_pixel_per_frame():
    clip = moving_square_clip()
    flow = farneback(clip)
    assert flow.shape == (8, 64, 64, 2) and flow.dtype == np.float32
    for t in range(7):
        # Inner part of the square at frame t (away from its borders).
        left = 16 + t
        dx = flow[t, 28:36, left + 4 : left + 12, 0]
        dy = flow[t, 28:36, left + 4 : left + 12, 1]
        # From the first frame, frame t would show ~t px; consecutive pairing shows ~1 px.
        assert np.median(dx) == pytest.approx(1.0, abs=0.25), f"frame {t}: median dx {np.median(dx):.2f}"
        assert np.abs(np.median(dy)) < 0.25


def test_last_frame_repeats_the_previous_flow_and_background_is_still():
    flow = farneback(moving_square_clip())
    np.testing.assert_array_equal(flow[-1], flow[-2])
    assert np.abs(flow[:, :8, :8]).max() < 0.05  # flat corner far from the square


def test_static_clip_and_single_frame_have_zero_flow():
    still = np.repeat(moving_square_clip(frames=1), 4, axis=0)
    assert np.abs(farneback(still)).max() < 1e-3
    assert not farneback(moving_square_clip(frames=1)).any()


def test_batches_magnitude_and_bad_input():
    clips = np.stack([moving_square_clip(step=1), moving_square_clip(step=2)])
    flow = farneback_clips(clips)
    assert flow.shape == (2, 8, 64, 64, 2)
    assert np.median(flow_magnitude(flow[1, 0, 28:36, 20:28])) == pytest.approx(2.0, abs=0.4)
    assert flow_magnitude(np.array([[3.0, 4.0]])).tolist() == [5.0]
    with pytest.raises(VideoXAIError, match="uint8"):
        farneback(clips[0].astype(np.float32))
    with pytest.raises(VideoXAIError, match="unknown Farnebäck parameter"):
        farneback(clips[0], window=3)
