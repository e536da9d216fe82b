"""Farnebäck flow pairs frame t with t+1 (not with the clip's first frame)."""

import numpy as np
import pytest

from videoxai.core.errors import VideoXAIError
from videoxai.motion.flow import (
    camera_displacement,
    compensate_camera,
    farneback,
    farneback_clips,
    flow_magnitude,
    split_flow_settings,
)


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


# ---------------------------------------------------------------- camera motion


def textured_scene(size=400, seed=0):
    """A smooth random texture Farnebäck tracks well: uint8 ``(size, size)``."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur((rng.random((size, size)) * 255).astype(np.uint8), (0, 0), 2)
    return cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX)


def panned_clip(shift, frames=4, size=112, square=None):
    """A camera pan: every frame shows the scene moved by ``shift`` = (dx, dy) px more than the
    one before; ``square`` = (side, (dx, dy)) adds a textured square that moves by its own (dx, dy)
    per frame on top. uint8 ``(T, size, size)``."""
    scene = textured_scene()
    other = textured_scene(seed=1)
    dx, dy = shift
    clip = []
    for t in range(frames):
        # The window moving by -shift makes the content move by +shift.
        top, left = 140 - t * dy, 140 - t * dx
        frame = scene[top : top + size, left : left + size].copy()
        if square is not None:
            side, (sx, sy) = square
            y, x = 30 + t * sy, 30 + t * sx
            frame[y : y + side, x : x + side] = other[:side, :side]
        clip.append(frame)
    return np.stack(clip)


@pytest.mark.parametrize("model", ["affine", "homography"])
def test_a_pure_pan_is_all_camera_and_leaves_no_object_motion(model):
    flow = farneback(panned_clip((3, -2)))
    inner = flow[:-1, 16:-16, 16:-16]
    # the raw flow is the pan everywhere away from the border
    np.testing.assert_allclose(np.median(inner.reshape(-1, 2), axis=0), [3, -2], atol=0.05)
    fitted = compensate_camera(flow[None], model=model)
    residual = fitted["object_flow"][0]
    assert residual.shape == flow.shape and residual.dtype == np.float32
    # nothing moves once the camera is removed: well under the smallest tau of the study (0.5 px)
    assert np.abs(residual[:, 16:-16, 16:-16]).max() < 0.2
    assert flow_magnitude(residual).mean() < 0.05
    # the fitted map is the translation by the pan, and RANSAC kept nearly every vector
    transform = fitted["camera_transform"][0, 0]
    np.testing.assert_allclose(transform[:2, 2], [3, -2], atol=0.05)
    np.testing.assert_allclose(transform[:2, :2], np.eye(2), atol=0.005)
    assert fitted["camera_inliers"].min() > 0.95


def test_an_object_over_a_panned_background_keeps_its_own_motion():
    # background pans 2 px right per frame; a 32 px square moves 5 px right and 1 down: 3, 1 relative
    clip = panned_clip((2, 0), frames=3, size=128, square=(32, (5, 1)))
    flow = farneback(clip)
    fitted = compensate_camera(flow[None])
    residual = fitted["object_flow"][0]
    for t in range(2):
        y, x = 30 + t, 30 + 5 * t
        on_square = residual[t, y + 8 : y + 24, x + 8 : x + 24].reshape(-1, 2)
        np.testing.assert_allclose(np.median(on_square, axis=0), [3, 1], atol=0.3)
        # the raw flow there is the pan plus the relative motion
        np.testing.assert_allclose(
            np.median(flow[t, y + 8 : y + 24, x + 8 : x + 24].reshape(-1, 2), axis=0), [5, 1], atol=0.3
        )
        background = residual[t, 80:112, 80:112].reshape(-1, 2)
        assert np.abs(np.median(background, axis=0)).max() < 0.1
    # the camera's displacement is the pan all over the frame, under the square too
    camera = (flow - residual)[0, 16:-16, 16:-16].reshape(-1, 2)
    np.testing.assert_allclose(np.median(camera, axis=0), [2, 0], atol=0.1)
    # the square's vectors are RANSAC's outliers
    assert 0.6 < fitted["camera_inliers"][0, 0] < 0.98


def test_camera_displacement_of_a_homography_divides_by_w():
    transform = np.array([[1.0, 0, 0], [0, 1.0, 0], [0.01, 0, 1.0]])
    displacement = camera_displacement(transform, 2, 3)
    # pixel (x=2, y=1): (2, 1, 1.02) -> (2/1.02, 1/1.02)
    np.testing.assert_allclose(displacement[1, 2], [2 / 1.02 - 2, 1 / 1.02 - 1], rtol=1e-5)
    np.testing.assert_allclose(displacement[0, 0], [0, 0])


def test_camera_settings_are_checked():
    flow = np.zeros((1, 2, 16, 16, 2), np.float32)
    with pytest.raises(VideoXAIError, match="camera model"):
        compensate_camera(flow, model="similarity")
    with pytest.raises(VideoXAIError, match="unknown camera-motion"):
        compensate_camera(flow, ransac=True)
    with pytest.raises(VideoXAIError, match="threshold"):
        compensate_camera(flow, threshold=0)
    with pytest.raises(VideoXAIError, match=r"\(N, T, H, W, 2\)"):
        compensate_camera(flow[0])
    # still frames: identity, nothing left
    still = compensate_camera(flow, step=4, fit_margin=0)
    np.testing.assert_array_equal(still["object_flow"], flow)


def test_split_flow_settings_separates_the_camera_from_farneback():
    params, camera = split_flow_settings({"winsize": 9, "camera": {"compensate": True, "step": 4}})
    assert params == {"winsize": 9}
    assert camera == {"compensate": True, "step": 4}
    assert split_flow_settings(None) == ({}, {"compensate": False})
    assert split_flow_settings({"levels": 2}) == ({"levels": 2}, {"compensate": False})
