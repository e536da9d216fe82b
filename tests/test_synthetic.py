"""The ground-truth generator: evidence equals what was drawn, classes differ only by their cue."""

from __future__ import annotations

import numpy as np
import pytest

from videoxai.core.errors import VideoXAIError
from videoxai.data.video import read_video
from videoxai.ground_truth import generator as synthetic

SCENE = synthetic.SceneSettings()
CLEAN = synthetic.PRESETS["clean"]
REALISTIC = synthetic.PRESETS["realistic"]


def _draws(dataset="motion", preset="clean", per_class=3, seed=0):
    return synthetic.draws(synthetic.DatasetSpec(dataset, "test", per_class, seed, preset))


@pytest.mark.parametrize("preset", ["clean", "realistic"])
def test_object_evidence_is_the_drawn_square_in_every_frame(preset):
    realism = synthetic.PRESETS[preset]
    for draw in _draws("motion", preset, per_class=4):
        frames, object_mask, patch_mask = synthetic.render(draw, SCENE, realism)
        positions = synthetic.object_positions(draw, SCENE)
        step = np.array(synthetic.DIRECTIONS[draw.direction]) * SCENE.speed
        assert (np.diff(positions, axis=0) == step).all()
        for index, (top, left) in enumerate(positions):
            expected = np.zeros((SCENE.size, SCENE.size), bool)
            expected[max(top, 0) : max(top + SCENE.object_size, 0), max(left, 0) : max(left + SCENE.object_size, 0)] = (
                True
            )
            assert (object_mask[index] == expected).all()
            assert object_mask[index].any(), "the object is visible in every frame"
            if not realism.flicker and not realism.noise:
                assert (frames[index][expected] == synthetic.OBJECT_COLOUR).all()
        assert not (patch_mask & object_mask).any()
        assert synthetic.evidence(draw, object_mask, patch_mask) is object_mask


def test_patch_evidence_carries_the_pattern_and_follows_the_camera():
    for draw in _draws("context", "realistic", per_class=2):
        frames, object_mask, patch_mask = synthetic.render(draw, SCENE, REALISTIC)
        assert synthetic.evidence(draw, object_mask, patch_mask) is patch_mask
        for index, offset in enumerate(draw.camera):
            box = _patch_box(draw, offset)  # the patch where the camera puts it, clipped to the frame
            assert (patch_mask[index] == (box & ~object_mask[index])).all()
    draw = _draws("context", "clean", per_class=1)[2]
    frames, object_mask, patch_mask = synthetic.render(draw, SCENE, CLEAN)
    tile = synthetic.pattern_tile(draw.pattern, SCENE.patch_size)
    top, left = draw.patch
    window = frames[0, top : top + SCENE.patch_size, left : left + SCENE.patch_size]
    visible = patch_mask[0, top : top + SCENE.patch_size, left : left + SCENE.patch_size]
    assert (window[tile & visible] == synthetic.PATCH_HIGH.astype(np.uint8)).all()
    assert (window[~tile & visible] == synthetic.PATCH_LOW.astype(np.uint8)).all()


def _patch_box(draw, offset):
    box = np.zeros((SCENE.size, SCENE.size), bool)
    top, left = draw.patch[0] - offset[0], draw.patch[1] - offset[1]
    box[max(top, 0) : max(top + SCENE.patch_size, 0), max(left, 0) : max(left + SCENE.patch_size, 0)] = True
    return box


def test_every_pattern_is_half_light_so_brightness_does_not_name_the_class():
    for pattern in synthetic.PATTERNS:
        assert synthetic.pattern_tile(pattern, SCENE.patch_size).mean() == 0.5


def test_time_reversal_maps_a_direction_onto_its_opposite():
    """A video played backwards is exactly the video of the opposite direction (same scene), and
    that reversed draw is one the generator can draw: no order-free statistic names the class."""
    low = -(SCENE.object_size - 1)
    high = SCENE.size - SCENE.object_size - SCENE.speed * (SCENE.frames - 1) + SCENE.object_size - 1
    for preset in ("clean", "realistic"):
        realism = synthetic.PRESETS[preset]
        for draw in _draws("motion", preset, per_class=3):
            backwards = synthetic.reversed_draw(draw, SCENE)
            assert backwards.direction == synthetic.OPPOSITE[draw.direction]
            frames, object_mask, _ = synthetic.render(draw, SCENE, realism)
            again, again_mask, _ = synthetic.render(backwards, SCENE, realism)
            assert (again_mask == object_mask[::-1]).all()
            if not realism.noise:
                assert (again == frames[::-1]).all()
            positions = synthetic.object_positions(backwards, SCENE)
            axis = 0 if synthetic.DIRECTIONS[backwards.direction][0] else 1
            assert low <= positions[:, axis].min() and positions[:, axis].max() <= high + SCENE.speed * (
                SCENE.frames - 1
            )


def test_start_positions_are_symmetric_under_reversal():
    """Over many draws, each direction's path segments cover the same positions as its opposite's."""
    draws = _draws("motion", "clean", per_class=300, seed=3)
    for direction, opposite in (("right", "left"), ("down", "up")):
        axis = 1 if direction == "right" else 0
        first = [synthetic.object_positions(d, SCENE)[:, axis].mean() for d in draws if d.direction == direction]
        second = [synthetic.object_positions(d, SCENE)[:, axis].mean() for d in draws if d.direction == opposite]
        # Same uniform distribution of segment centres: means agree within a few standard errors.
        assert abs(np.mean(first) - np.mean(second)) < 4 * np.std(first) / np.sqrt(len(first)) + 0.5


def test_changing_one_cue_changes_only_its_voxels():
    for draw in _draws("context", "clean", per_class=2):
        frames, object_mask, patch_mask = synthetic.render(draw, SCENE, CLEAN)
        other_pattern = next(p for p in synthetic.PATTERNS if p != draw.pattern)
        changed, _, _ = synthetic.render(synthetic.with_classes(draw, pattern=other_pattern), SCENE, CLEAN)
        differs = (changed != frames).any(-1)
        assert differs.any() and not (differs & ~patch_mask).any()
    for draw in _draws("motion", "clean", per_class=2):
        frames, object_mask, _ = synthetic.render(draw, SCENE, CLEAN)
        other = synthetic.with_classes(draw, direction=synthetic.OPPOSITE[draw.direction])
        changed, other_mask, _ = synthetic.render(other, SCENE, CLEAN)
        differs = (changed != frames).any(-1)
        assert differs.any() and not (differs & ~(object_mask | other_mask)).any()


def test_labels_name_the_intended_cue_and_the_other_is_drawn_at_random():
    motion = _draws("motion", per_class=40)
    assert [d.label for d in motion[:8]] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert all(d.direction == list(synthetic.DIRECTIONS)[d.label] for d in motion)
    assert len({d.pattern for d in motion}) == len(synthetic.PATTERNS)
    context = _draws("context", per_class=40)
    assert all(d.pattern == synthetic.PATTERNS[d.label] for d in context)
    assert len({d.direction for d in context}) == len(synthetic.DIRECTIONS)


def test_dataset_files_decode_to_the_rendered_frames_with_evidence_beside(tmp_path):
    spec = synthetic.DatasetSpec("motion", "test", 1, seed=5, preset="clean")
    rows = synthetic.make_dataset(spec, tmp_path / "clean")
    assert synthetic.read_listing(tmp_path / "clean") == [{**row, "path": row["path"]} for row in rows]
    for row, draw in zip(rows, synthetic.draws(spec)):
        frames, object_mask, _ = synthetic.render(draw, SCENE, CLEAN)
        decoded = read_video(row["path"]).frames
        assert row["path"].endswith(".avi")
        assert (decoded == frames).all(), "the clean preset is lossless"
        assert (synthetic.read_evidence(row["path"]) == object_mask).all()
        with np.load(row["path"].replace(".avi", ".npz")) as stored:
            assert int(stored["label"]) == draw.label == row["label"]
            assert (stored["positions"] == synthetic.object_positions(draw, SCENE)).all()
    lossy = synthetic.make_dataset(synthetic.DatasetSpec("motion", "test", 1, 5, "realistic"), tmp_path / "real")
    assert lossy[0]["path"].endswith(".mp4")
    frames, _, _ = synthetic.render(
        synthetic.draws(synthetic.DatasetSpec("motion", "test", 1, 5, "realistic"))[0], SCENE, REALISTIC
    )
    error = np.abs(read_video(lossy[0]["path"]).frames.astype(int) - frames).mean()
    assert 0 < error < 40


def test_same_seed_same_videos_other_seed_other_videos():
    assert _draws(seed=1) == _draws(seed=1)
    assert _draws(seed=1) != _draws(seed=2)
    spec = synthetic.DatasetSpec("motion", "test", 2, 1)
    assert spec.digest() == synthetic.DatasetSpec("motion", "test", 2, 1).digest()
    assert spec.digest() != synthetic.DatasetSpec("motion", "test", 2, 1, "realistic").digest()


def test_bad_settings_are_named():
    with pytest.raises(VideoXAIError, match="unknown synthetic dataset"):
        synthetic.draws(synthetic.DatasetSpec("colour", "test", 1))
    with pytest.raises(VideoXAIError, match="unknown preset"):
        synthetic.draws(synthetic.DatasetSpec("motion", "test", 1, preset="foggy"))
    with pytest.raises(VideoXAIError, match="too small"):
        synthetic.draws(synthetic.DatasetSpec("motion", "test", 1, scene=synthetic.SceneSettings(size=16)))
    with pytest.raises(VideoXAIError, match="no evidence volume"):
        synthetic.read_evidence("/nonexistent/video.avi")
