"""Selective relevance on volumes whose temporal gradient can be worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from videoxai.core.errors import VideoXAIError
from videoxai.motion.selective import selective_relevance, temporal_gradient

T, H, W, K = 8, 6, 5, 4  # a step from 0 to 1 at frame K


def step_volume(batch: int = 1) -> torch.Tensor:
    volume = torch.zeros(batch, T, H, W)
    volume[:, K:] = 1.0
    return volume


def sobel_t() -> torch.Tensor:
    """The paper's h'_t as a (1, 1, 3, 3, 3) correlation kernel: d/dt ⊗ smooth(y) ⊗ smooth(x)."""
    derivative = torch.tensor([-1.0, 0.0, 1.0])
    smooth = torch.tensor([1.0, 2.0, 1.0])
    return torch.einsum("t,y,x->tyx", derivative, smooth, smooth)[None, None]


def test_constant_in_time_gives_empty_mask():
    frame = torch.randn(2, 1, H, W)
    volume = frame.expand(2, T, H, W).contiguous()
    out = selective_relevance(volume, n=[0.0, 1.0, 4.0], padding="replicate")
    assert torch.count_nonzero(out.gradient) == 0
    assert torch.all(out.sigma == 0)
    assert not out.masks.any()
    assert torch.all(out.maps == 0)


def test_step_with_replication_marks_frames_k_minus_1_and_k():
    out = selective_relevance(step_volume(), n=[2.0], padding="replicate")
    # by hand: G[t] = 16 * (R[t+1] - R[t-1]) = 16 at t = K-1 and t = K, 0 elsewhere
    expected = torch.zeros(1, T, H, W)
    expected[:, K - 1 : K + 1] = 16.0
    torch.testing.assert_close(out.gradient, expected)
    share = 2 / T  # fraction of voxels at 16
    assert out.sigma.item() == pytest.approx(16 * math.sqrt(share * (1 - share)), rel=1e-6)
    frames = out.masks[0, 0].flatten(1).all(dim=1)
    assert frames.tolist() == [t in (K - 1, K) for t in range(T)]
    assert torch.equal(out.masks[0, 0].flatten(1).any(dim=1), frames)  # whole frames, nothing else
    torch.testing.assert_close(out.maps[0], step_volume() * out.masks[0])


def test_step_with_zero_padding_matches_hand_computation():
    out = selective_relevance(step_volume(), n=[1.0], padding="zeros")
    # spatial [1,2,1]x[1,2,1] with zero borders: 16 inside, 12 on an edge, 9 in a corner
    rows = np.array([3.0] + [4.0] * (H - 2) + [3.0])
    cols = np.array([3.0] + [4.0] * (W - 2) + [3.0])
    spatial = np.outer(rows, cols)
    # temporal: R[t+1] - R[t-1] with R[-1] = R[T] = 0: +1 at K-1 and K, and -1 at T-1,
    # where the zero pad makes the last frame look like a sudden drop
    temporal = np.zeros(T)
    temporal[K - 1] = temporal[K] = 1.0
    temporal[T - 1] = -1.0
    expected = temporal[:, None, None] * spatial[None]
    np.testing.assert_allclose(out.gradient[0].numpy(), expected, rtol=1e-6)
    sigma = np.abs(expected).std()
    assert out.sigma.item() == pytest.approx(sigma, rel=1e-6)
    np.testing.assert_array_equal(out.masks[0, 0].numpy(), np.abs(expected) > 1.0 * sigma)
    marked = out.masks[0, 0].flatten(1).any(dim=1).tolist()
    assert marked == [t in (K - 1, K, T - 1) for t in range(T)]


def test_matches_full_3d_convolution():
    generator = torch.Generator().manual_seed(0)
    volume = torch.randn(3, T, H, W, generator=generator)
    padded = F.pad(volume[:, None], (1, 1, 1, 1, 1, 1), mode="replicate")
    reference = F.conv3d(padded, sobel_t())[:, 0]
    torch.testing.assert_close(temporal_gradient(volume), reference, rtol=1e-5, atol=1e-5)
    padded = F.pad(volume[:, None], (1, 1, 1, 1, 1, 1))
    reference = F.conv3d(padded, sobel_t())[:, 0]
    torch.testing.assert_close(temporal_gradient(volume, "zeros"), reference, rtol=1e-5, atol=1e-5)


def test_n_scales_the_threshold():
    # the step's nonzero |G| is 16 and σ = 16·sqrt(p(1-p)), p = 2/T: the mask is on exactly
    # while n < 1/sqrt(p(1-p)) ≈ 2.309 for T = 8
    share = 2 / T
    limit = 1 / math.sqrt(share * (1 - share))
    out = selective_relevance(step_volume(), n=[limit * 0.99, limit * 1.01, 4.0])
    assert out.n == (pytest.approx(limit * 0.99), pytest.approx(limit * 1.01), 4.0)
    assert out.masks[0].sum().item() == 2 * H * W
    assert not out.masks[1].any() and not out.masks[2].any()
    generator = torch.Generator().manual_seed(1)
    volume = torch.randn(2, T, H, W, generator=generator)
    many = selective_relevance(volume, n=[0.5, 1.0, 2.0])
    for index, value in enumerate(many.n):
        single = selective_relevance(volume, n=value)
        assert torch.equal(single.masks[0], many.masks[index])
        threshold = value * many.sigma[:, None, None, None]
        assert torch.equal(many.masks[index], many.gradient.abs() > threshold)
    counts = many.masks.flatten(1).sum(dim=1)
    assert counts[0] >= counts[1] >= counts[2]


def test_batched_equals_one_by_one_and_shapes():
    generator = torch.Generator().manual_seed(2)
    volume = torch.randn(3, T, H, W, generator=generator, dtype=torch.float64)
    out = selective_relevance(volume, n=4)
    assert out.gradient.dtype == torch.float32 and out.maps.dtype == torch.float32
    assert out.masks.dtype == torch.bool
    assert out.masks.shape == (1, 3, T, H, W) and out.sigma.shape == (3,)
    for index in range(3):
        single = selective_relevance(volume[index : index + 1], n=4)
        assert torch.equal(single.masks[:, 0], out.masks[:, index])
        torch.testing.assert_close(single.sigma[0], out.sigma[index])


def test_bad_arguments():
    with pytest.raises(VideoXAIError, match="padding"):
        selective_relevance(step_volume(), padding="reflect")
    with pytest.raises(VideoXAIError, match=r"\(N, T, H, W\)"):
        selective_relevance(torch.zeros(T, H, W))
    with pytest.raises(VideoXAIError, match="n"):
        selective_relevance(step_volume(), n=[])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    volume = torch.randn(2, T, H, W)
    cpu = selective_relevance(volume, n=[1.0, 2.0])
    gpu = selective_relevance(volume.cuda(), n=[1.0, 2.0])
    assert gpu.masks.device.type == "cuda"
    torch.testing.assert_close(gpu.gradient.cpu(), cpu.gradient, rtol=1e-5, atol=1e-5)
    assert torch.equal(gpu.masks.cpu(), cpu.masks)
