"""Selective relevance on volumes whose temporal gradient can be worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from videoxai.core.errors import VideoXAIError
from videoxai.motion.selective import SIGMAS, selective_from_settings, selective_relevance, temporal_gradient

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


# ---------------------------------------------------------------- σ conventions (selective.sigma)
#
# A pulse: relevance 1 on frames A and A+1, 0 elsewhere, spatially uniform. With replicate padding
# G[t] = 16 (R[t+1] - R[t-1]) is +16 at frames A-1 and A (relevance rises), -16 at A+1 and A+2
# (it falls) and 0 on the other T-4 frames. So over the clip:
#   |G|: 16 on a share 4/T, 0 elsewhere  ->  std(|G|) = 16·sqrt(q(1-q)), q = 4/T  (T = 8: 8)
#   G:   mean 0, E[G²] = 256·4/T         ->  std(G)   = 16·sqrt(4/T)           (T = 8: 16/√2 ≈ 11.31)
A = 3


def pulse_volume(sign: float = 1.0) -> torch.Tensor:
    volume = torch.zeros(1, T, H, W)
    volume[:, A : A + 2] = sign
    return volume


def marked_frames(mask: torch.Tensor) -> list[int]:
    """Frames of a (T, H, W) mask that are on; asserts that every frame is all on or all off."""
    per_frame = mask.flatten(1)
    assert torch.equal(per_frame.any(dim=1), per_frame.all(dim=1))
    return [t for t in range(mask.shape[0]) if per_frame[t].all()]


def test_pulse_gradient_and_the_three_sigmas_by_hand():
    volume = pulse_volume()
    expected = torch.zeros(1, T, H, W)
    expected[:, A - 1 : A + 1] = 16.0
    expected[:, A + 1 : A + 3] = -16.0
    share = 4 / T
    by_hand = {
        "abs": 16 * math.sqrt(share * (1 - share)),  # 8 for T = 8
        "signed": 16 * math.sqrt(share),  # 11.31 for T = 8
        "one_sided": 16 * math.sqrt(share),  # the same σ as signed; only the test differs
    }
    for sigma, value in by_hand.items():
        out = selective_relevance(volume, n=[1.0], sigma=sigma)
        torch.testing.assert_close(out.gradient, expected)  # G_t does not depend on the convention
        assert out.sigma.item() == pytest.approx(value, rel=1e-6), sigma
    assert by_hand["abs"] == pytest.approx(8.0) and by_hand["signed"] == pytest.approx(16 / math.sqrt(2))


@pytest.mark.parametrize(
    ("n", "frames"),
    [
        # abs: 16 > n·8 while n < 2; signed: 16 > n·11.31 while n < √2 ≈ 1.414;
        # one_sided: G = +16 > n·11.31 on the rising frames A-1, A only, while n < √2.
        (1.0, {"abs": [A - 1, A, A + 1, A + 2], "signed": [A - 1, A, A + 1, A + 2], "one_sided": [A - 1, A]}),
        (1.3, {"abs": [A - 1, A, A + 1, A + 2], "signed": [A - 1, A, A + 1, A + 2], "one_sided": [A - 1, A]}),
        (1.5, {"abs": [A - 1, A, A + 1, A + 2], "signed": [], "one_sided": []}),
        (1.9, {"abs": [A - 1, A, A + 1, A + 2], "signed": [], "one_sided": []}),
        (2.1, {"abs": [], "signed": [], "one_sided": []}),
        (0.0, {"abs": [A - 1, A, A + 1, A + 2], "signed": [A - 1, A, A + 1, A + 2], "one_sided": [A - 1, A]}),
    ],
)
def test_pulse_which_voxels_pass_under_each_convention(n, frames):
    volume = pulse_volume()
    for sigma, kept in frames.items():
        out = selective_relevance(volume, n=[n], sigma=sigma)
        assert marked_frames(out.masks[0, 0]) == kept, sigma
        torch.testing.assert_close(out.maps[0], volume * out.masks[0])


def test_one_sided_keeps_only_relevance_that_rises():
    # a step up (0 -> 1 at K) rises at K-1 and K; a step down (1 -> 0 at K) falls there
    up, down = step_volume(), 1.0 - step_volume()
    for volume, rising in ((up, [K - 1, K]), (down, [])):
        two_sided = selective_relevance(volume, n=[1.0], sigma="signed")
        assert marked_frames(two_sided.masks[0, 0]) == [K - 1, K]
        one_sided = selective_relevance(volume, n=[1.0], sigma="one_sided")
        assert marked_frames(one_sided.masks[0, 0]) == rising
    # the pulse falls again two frames later: negating it swaps the sides one_sided keeps
    falling = selective_relevance(pulse_volume(-1.0), n=[1.0], sigma="one_sided")
    assert marked_frames(falling.masks[0, 0]) == [A + 1, A + 2]


def test_signed_equals_abs_when_the_gradient_has_one_sign():
    # G_t ≥ 0 everywhere (step up) or ≤ 0 everywhere (step down): std(G) = std(|G|), same masks
    for volume in (step_volume(), 1.0 - step_volume()):
        first = selective_relevance(volume, n=[0.5, 2.0], sigma="abs")
        second = selective_relevance(volume, n=[0.5, 2.0], sigma="signed")
        assert torch.equal(first.sigma, second.sigma)
        assert torch.equal(first.masks, second.masks)


def test_conventions_nest_on_random_volumes():
    # std(G) ≥ std(|G|) (variances differ by E[|G|]² - E[G]² ≥ 0), and G > nσ implies |G| > nσ:
    # one_sided ⊆ signed ⊆ abs, with the same G_t throughout
    generator = torch.Generator().manual_seed(3)
    volume = torch.randn(4, T, H, W, generator=generator)
    results = {sigma: selective_relevance(volume, n=[0.0, 0.5, 1.0, 2.0], sigma=sigma) for sigma in SIGMAS}
    gradient = results["abs"].gradient
    for sigma, out in results.items():
        assert torch.equal(out.gradient, gradient), sigma
    assert (results["signed"].sigma >= results["abs"].sigma).all()
    assert torch.equal(results["one_sided"].sigma, results["signed"].sigma)
    assert (results["one_sided"].masks <= results["signed"].masks).all()
    assert (results["signed"].masks <= results["abs"].masks).all()
    assert results["one_sided"].masks.sum() < results["signed"].masks.sum() < results["abs"].masks.sum()
    signed_sigma = gradient.flatten(1).std(dim=1, correction=0)
    for index, value in enumerate(results["one_sided"].n):
        threshold = value * signed_sigma[:, None, None, None]
        assert torch.equal(results["one_sided"].masks[index], gradient > threshold)
        assert torch.equal(results["signed"].masks[index], gradient.abs() > threshold)


def test_settings_pass_the_convention_and_default_to_abs():
    volume = pulse_volume()
    default = selective_from_settings(volume, {"n": [1.5]})
    assert torch.equal(default.masks, selective_relevance(volume, n=[1.5], sigma="abs").masks)
    assert default.masks.any()
    for sigma in SIGMAS:
        ours = selective_from_settings(volume, {"n": [1.5], "sigma": sigma})
        direct = selective_relevance(volume, n=[1.5], sigma=sigma)
        for name in ("gradient", "sigma", "masks", "maps"):
            assert torch.equal(getattr(ours, name), getattr(direct, name)), (sigma, name)
    # the margin mode keeps the convention's σ and removes the band from its mask
    margin = selective_from_settings(
        pulse_volume(), {"n": [1.0], "sigma": "one_sided", "mode": "margin", "margin": {"frames": 1, "pixels": 0}}
    )
    assert margin.sigma.item() == pytest.approx(16 * math.sqrt(4 / T), rel=1e-6)
    assert marked_frames(margin.masks[0, 0]) == [A - 1, A]
    with pytest.raises(VideoXAIError, match=r"selective\.sigma"):
        selective_from_settings(volume, {"sigma": "two_sided"})


def test_unknown_sigma_stops_the_workflow_naming_the_key():
    utils = pytest.importorskip("snakemake.utils")
    import yaml
    from snakemake.exceptions import WorkflowError

    root = Path(__file__).resolve().parents[1]
    schema = str(root / "workflow" / "schemas" / "config.schema.yaml")
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["selective"] = {**(config.get("selective") or {}), "sigma": "both"}
    with pytest.raises(
        WorkflowError, match=r"(?s)'both' is not one of \['abs', 'signed', 'one_sided'\].*\['selective'\]\['sigma'\]"
    ):
        utils.validate(config, schema, set_default=True)
    config["selective"].pop("sigma")
    utils.validate(config, schema, set_default=True)
    assert config["selective"]["sigma"] == "abs"  # the schema's default is the library's


def test_cli_explain_takes_sigma():
    from videoxai.cli import build_parser

    parser = build_parser()
    common = ["explain", "video.mp4", "--out", "out.gif"]
    assert parser.parse_args(common).sigma == "abs"
    assert parser.parse_args([*common, "--sigma", "one_sided"]).sigma == "one_sided"
    with pytest.raises(SystemExit):
        parser.parse_args([*common, "--sigma", "both"])


def test_bad_arguments():
    with pytest.raises(VideoXAIError, match="padding"):
        selective_relevance(step_volume(), padding="reflect")
    with pytest.raises(VideoXAIError, match=r"\(N, T, H, W\)"):
        selective_relevance(torch.zeros(T, H, W))
    with pytest.raises(VideoXAIError, match="n"):
        selective_relevance(step_volume(), n=[])
    with pytest.raises(VideoXAIError, match="sigma"):
        selective_relevance(step_volume(), sigma="median")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    volume = torch.randn(2, T, H, W)
    cpu = selective_relevance(volume, n=[1.0, 2.0])
    gpu = selective_relevance(volume.cuda(), n=[1.0, 2.0])
    assert gpu.masks.device.type == "cuda"
    torch.testing.assert_close(gpu.gradient.cpu(), cpu.gradient, rtol=1e-5, atol=1e-5)
    assert torch.equal(gpu.masks.cpu(), cpu.masks)
