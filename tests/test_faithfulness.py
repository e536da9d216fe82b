"""Deletion / insertion, pointing game, annotations, smoothness and tidy rows, with answers derived
by hand on a model whose logit counts the input left in one region."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.evaluation.faithfulness import (
    area_under_curve,
    centre_relevance,
    clip_boxes,
    clip_masks,
    deletion_insertion,
    faithfulness_rows,
    pointing_game,
    random_relevance,
    read_annotations,
    reference_relevance,
    spatiotemporal_smoothness,
)
from videoxai.evaluation.metrics import TIDY_COLUMNS, empty_metrics
from videoxai.explain.extra_common import blur_frames
from videoxai.models.spec import ModelSpec

# the region: frames 0-1, rows 0-3, cols 0-3 of a 4 x 8 x 8 clip = 32 voxels = 2 x 4 cells of a 2x2 grid
REGION = (slice(0, 2), slice(0, 4), slice(0, 4))


class CountModel(nn.Module):
    """logit 0 = (Σ of the three channels over the region) / 48, logit 1 = 0: with the input 1 in
    the region, 32 voxels left give logit 2, 16 give 1 and none give 0."""

    def forward(self, inputs):
        value = inputs[:, :, REGION[0], REGION[1], REGION[2]].sum(dim=(1, 2, 3, 4)) / 48.0
        return torch.stack([value, torch.zeros_like(value)], dim=1)


def sigmoid(value):
    return 1.0 / (1.0 + math.exp(-value))


@pytest.fixture
def clip():
    inputs = torch.zeros(1, 3, 4, 8, 8)
    inputs[:, :, REGION[0], REGION[1], REGION[2]] = 1.0
    relevance = torch.zeros(1, 4, 8, 8)
    relevance[:, REGION[0], REGION[1], REGION[2]] = 1.0
    return inputs, relevance


@pytest.mark.parametrize("grid", [None, (2, 2)])
def test_deletion_and_insertion_curves_by_hand(clip, grid):
    inputs, relevance = clip
    # voxels: 256 in 16 steps = 16 per step; grid: 16 cells, one per step (a cell = 16 voxels)
    result = deletion_insertion(CountModel(), inputs, relevance, target=0, steps=16, grid=grid)
    deletion = [sigmoid(2), sigmoid(1)] + [0.5] * 15
    insertion = [0.5, sigmoid(1)] + [sigmoid(2)] * 15
    np.testing.assert_allclose(result["deletion"][0].numpy(), deletion, rtol=1e-6)
    np.testing.assert_allclose(result["insertion"][0].numpy(), insertion, rtol=1e-6)
    trapezoid = lambda values: sum((a + b) / 2 for a, b in zip(values[:-1], values[1:])) / 16  # noqa: E731
    assert result["deletion_auc"][0].item() == pytest.approx(trapezoid(deletion))
    assert result["insertion_auc"][0].item() == pytest.approx(trapezoid(insertion))


def test_the_right_map_beats_its_reverse_and_random(clip):
    inputs, relevance = clip
    model = CountModel()
    good = deletion_insertion(model, inputs, relevance, 0)
    reverse = deletion_insertion(model, inputs, 1.0 - relevance, 0)
    noise = deletion_insertion(model, inputs, random_relevance(relevance.shape, seed=1), 0)
    assert good["deletion_auc"][0] < noise["deletion_auc"][0] < reverse["deletion_auc"][0]
    assert good["insertion_auc"][0] > noise["insertion_auc"][0] > reverse["insertion_auc"][0]
    # the reverse ranking deletes the region only in the last two steps: 240 voxels gone leaves 16
    assert reverse["deletion"][0, 15].item() == pytest.approx(sigmoid(1))


def test_blur_baseline_and_input_checks(clip):
    inputs, relevance = clip
    constant = torch.full((1, 3, 2, 16, 16), 0.7)
    torch.testing.assert_close(blur_frames(constant, sigma=2.0), constant)
    impulse = torch.zeros(1, 1, 1, 32, 32)
    impulse[..., 16, 16] = 1.0
    assert blur_frames(impulse, sigma=2.0).sum().item() == pytest.approx(1.0, abs=1e-5)
    result = deletion_insertion(CountModel(), inputs, relevance, 0, steps=4, baseline="blur", blur_sigma=1.0)
    assert result["deletion"].shape == (1, 5) and result["deletion"][0, 0].item() == pytest.approx(sigmoid(2))
    with pytest.raises(VideoXAIError, match="baseline"):
        deletion_insertion(CountModel(), inputs, relevance, 0, baseline="noise")
    with pytest.raises(VideoXAIError, match=r"relevance must be \(N, T, H, W\)"):
        deletion_insertion(CountModel(), inputs, relevance[0], 0)
    assert area_under_curve(torch.tensor([[0.0, 1.0]])).item() == 0.5


def test_random_relevance_is_reproducible():
    torch.testing.assert_close(random_relevance((2, 3, 4, 4), seed=5), random_relevance((2, 3, 4, 4), seed=5))
    assert not torch.equal(random_relevance((2, 3, 4, 4), seed=5), random_relevance((2, 3, 4, 4), seed=6))


def test_pointing_game_with_boxes_and_tolerance():
    relevance = torch.zeros(1, 3, 40, 40)
    relevance[0, :, 10, 10] = 1.0  # the maximum of every frame
    boxes = np.full((1, 3, 4), np.nan)
    boxes[0, 0] = (20, 20, 30, 30)  # 10·√2 ≈ 14.1 px away
    boxes[0, 1] = (5, 5, 12, 12)  # contains it
    # frame 2 not annotated: skipped
    assert [value.tolist() for value in pointing_game(relevance, boxes=boxes)] == [[2], [0]]
    assert [value.tolist() for value in pointing_game(relevance, boxes=boxes, tolerance=10)] == [[1], [1]]
    masks = np.zeros((1, 3, 40, 40), bool)
    masks[0, 0, 30, 30] = True  # 20·√2 px away: miss
    masks[0, 2, 10, 25] = True  # 15 px away: hit
    assert [value.tolist() for value in pointing_game(relevance, masks=masks)] == [[1], [1]]
    with pytest.raises(VideoXAIError, match="either boxes= or masks="):
        pointing_game(relevance)


def test_read_annotations_csv_and_npz_and_map_them_into_clips(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("video,frame,x1,y1,x2,y2\nv_a,3,0,0,319,239\nv_a,3,10,10,20,20\nv_b,0,1,2,3,4\n")
    annotations = read_annotations(path)
    assert sorted(annotations) == ["v_a", "v_b"]
    assert annotations["v_a"]["boxes"][3].shape == (2, 4)
    # C3D geometry: 240x320 -> 128x171, centre crop 112: scale 128/240, 171/320; top 8, left 29
    spec = ModelSpec(name="c3d", num_frames=2, size=112, class_names=("a",), resize_hw=(128, 171))
    boxes = clip_boxes(annotations["v_a"], [[3, 4]], (240, 320), spec)
    assert boxes.shape == (1, 2, 2, 4)
    # the whole 320x240 frame (pixels 0..319, 0..239) is the whole resized frame, edges included
    np.testing.assert_allclose(boxes[0, 0, 0], [-29.5, -8.5, 171 - 29.5, 128 - 8.5])
    # pixel 10..20 of 320 -> edges 10 * 171/320 and 21 * 171/320, less half a pixel and the crop
    np.testing.assert_allclose(boxes[0, 0, 1, [0, 2]], [10 * 171 / 320 - 29.5, 21 * 171 / 320 - 29.5])
    assert np.isnan(boxes[0, 1]).all()
    masks = np.zeros((5, 240, 320), bool)
    masks[3, 120:, :] = True  # bottom half
    np.savez(tmp_path / "masks.npz", v_a=masks)
    loaded = read_annotations(tmp_path / "masks.npz")
    cropped = clip_masks(loaded["v_a"], [[3]], spec)
    assert cropped.shape == (1, 1, 112, 112)
    assert not cropped[0, 0, :56].any() and cropped[0, 0, 56:].all()  # row 64 of 128 = row 56 of the crop
    bad = tmp_path / "bad.csv"
    bad.write_text("video,frame,x1\n")
    with pytest.raises(VideoXAIError, match="header"):
        read_annotations(bad)
    with pytest.raises(VideoXAIError, match="not found"):
        read_annotations(tmp_path / "missing.csv")


def test_smoothness_by_hand():
    relevance = torch.zeros(2, 2, 3, 3)
    relevance[0, 1] = 4.0  # constant frames 0 then 4: normalised 0 -> 1
    relevance[1, :, :, 1] = -2.0  # a vertical line, constant in time
    temporal, spatial = spatiotemporal_smoothness(relevance)
    np.testing.assert_allclose(temporal, [1.0, 0.0])
    # clip 1: normalised -1 on column 1; horizontal differences |−1|, |1| in each of 3 rows x 2 frames
    np.testing.assert_allclose(spatial, [0.0, 12 / 24])


def test_tidy_rows_match_the_metrics_schema():
    rows = faithfulness_rows(
        "v_a",
        "occlusion",
        deletion_insertion_result={"deletion_auc": [0.1, 0.2], "insertion_auc": [0.8, 0.9]},
        pointing=([3, 0], [1, 0]),
        smoothness=([0.1, 0.2], [0.3, 0.4]),
    )
    assert tuple(rows.columns) == TIDY_COLUMNS and len(rows) == 14
    accuracy = rows[rows.metric == "pointing_accuracy"]["value"].tolist()
    assert accuracy[0] == 0.75 and math.isnan(accuracy[1])
    combined = pd.concat([empty_metrics(), rows], ignore_index=True)
    assert combined["value"].dtype == np.float64 and set(combined["variant"]) == {"baseline"}


def test_boxes_follow_the_decode_resize_and_crop_of_a_real_video(tmp_path):
    """A 320x240 video (UCF-101's size) with a white rectangle whose box is known in every
    source frame, decoded with I3D's geometry (short side 256, centre crop 224): the bright
    pixels of each decoded clip frame lie inside the mapped box, and fill it to within a pixel."""
    import cv2

    from videoxai.data.video import decode_clips

    frames, boxes = [], []
    for index in range(12):
        frame = np.zeros((240, 320, 3), np.uint8)
        x1, y1 = 60 + 9 * index, 40 + 5 * index  # moves, so a wrong frame index is caught
        x2, y2 = x1 + 69, y1 + 99
        frame[y1 : y2 + 1, x1 : x2 + 1] = 255
        frames.append(frame)
        boxes.append(f"v_box,{index},{x1},{y1},{x2},{y2}")
    path = tmp_path / "v_box.avi"
    # MJPG at top quality keeps the rectangle's edges sharp
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 240))
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 100)
    for frame in frames:
        writer.write(frame)
    writer.release()
    (tmp_path / "boxes.csv").write_text("video,frame,x1,y1,x2,y2\n" + "\n".join(boxes) + "\n")
    spec = ModelSpec(name="i3d", num_frames=4, size=224, class_names=("a",), resize_short_side=256)
    decoded = decode_clips(path, spec, clip_length=4, stride=4, max_clips=2)
    assert decoded.frame_indices.tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]
    annotation = read_annotations(tmp_path / "boxes.csv")["v_box"]
    mapped = clip_boxes(annotation, decoded.frame_indices, (240, 320), spec)
    assert mapped.shape == (2, 4, 1, 4)
    for clip, t in np.ndindex(2, 4):
        bright_y, bright_x = np.nonzero(decoded.clips[clip, t].mean(axis=-1) > 127)
        x1, y1, x2, y2 = mapped[clip, t, 0]
        # half-covered edge pixels round either way: a pixel of slack on each side
        assert x1 - 1 <= bright_x.min() <= x1 + 1 and x2 - 1 <= bright_x.max() <= x2 + 1, (clip, t)
        assert y1 - 1 <= bright_y.min() <= y1 + 1 and y2 - 1 <= bright_y.max() <= y2 + 1, (clip, t)
    # and by hand for the first frame: 256/240 vertically, 341/320 horizontally, crop offsets
    # (256 - 224) // 2 = 16 and (341 - 224) // 2 = 58
    np.testing.assert_allclose(
        mapped[0, 0, 0], [60 * 341 / 320 - 58.5, 40 * 256 / 240 - 16.5, 130 * 341 / 320 - 58.5, 140 * 256 / 240 - 16.5]
    )


def test_the_centre_reference_points_at_the_frame_centre():
    centre = centre_relevance((1, 2, 5, 7))
    assert centre.shape == (1, 2, 5, 7) and centre.dtype == torch.float32
    assert np.unravel_index(int(centre[0, 0].argmax()), (5, 7)) == (2, 3)
    assert centre[0, 1, 2, 3] == 1.0 and centre.min() == 0.0  # the corners
    relevance = centre_relevance((1, 1, 40, 40))  # even size: the top-left of the 4 middle pixels
    boxes = np.array(
        [
            [
                [[19, 19, 19, 19]],
            ]
        ],
        np.float64,
    ).reshape(1, 1, 1, 4)
    assert [value.tolist() for value in pointing_game(relevance, boxes=boxes, tolerance=0)] == [[1], [0]]
    boxes[..., :] = [0, 0, 5, 5]  # a box in the corner: 14·√2 px away
    assert [value.tolist() for value in pointing_game(relevance, boxes=boxes)] == [[0], [1]]
    assert torch.equal(reference_relevance("random", (1, 1, 4, 4), seed=3), random_relevance((1, 1, 4, 4), seed=3))
    with pytest.raises(VideoXAIError, match="unknown reference map 'middle'"):
        reference_relevance("middle", (1, 1, 4, 4))
