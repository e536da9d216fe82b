"""Cascading model-parameter randomisation on tiny models, with answers derivable by hand."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from workflow_models import tiny_net

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.evaluation.randomisation import (
    COLUMNS,
    cascading_randomisation,
    layer_groups,
    map_similarity,
    randomise_group,
    spearman_abs,
    ssim_frames,
    top_iou,
)
from videoxai.explain import get_explainer
from videoxai.explain.base import Explanation


class LinearVideoNet(nn.Module):
    """logit_k = <w_k, x> + b_k over a (3, 4, 16, 16) clip: the input gradient of logit k is w_k."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(3 * 4 * 16 * 16, 2)

    def forward(self, inputs):
        return self.fc(self.flatten(inputs))


class InputGradient:
    """Relevance = d logit_target / d input, summed over colours: w_target for LinearVideoNet."""

    def __init__(self, model):
        self.model = model

    def attribute(self, inputs, target=None):
        inputs = inputs.detach().clone().requires_grad_(True)
        logits = self.model(inputs)
        target = logits.argmax(dim=1) if target is None else torch.as_tensor(target).reshape(-1)
        logits.gather(1, target[:, None]).sum().backward()
        return Explanation(relevance=inputs.grad.sum(dim=1), logits=logits.detach(), target=target, method="test")


class InputItself:
    """A 'saliency' that is the input (summed over colours) and ignores the model entirely."""

    def __init__(self, model):
        self.model = model

    def attribute(self, inputs, target=None):
        logits = self.model(inputs).detach()
        target = logits.argmax(dim=1) if target is None else torch.as_tensor(target).reshape(-1)
        return Explanation(relevance=inputs.sum(dim=1), logits=logits, target=target, method="test")


def clips(shape=(2, 3, 4, 16, 16), seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_identical_maps_are_similar_by_every_measure():
    relevance = clips((2, 4, 16, 16))
    values = map_similarity(relevance, relevance.clone())
    for name in ("spearman", "ssim", "iou"):
        np.testing.assert_allclose(values[name], [1.0, 1.0], atol=1e-12)
    assert not values["empty"].any()


def test_spearman_by_hand_with_ties_and_sign():
    first = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 1, 4)
    # |R| ranks 4, 3, 2, 1: perfectly reversed; the sign of R plays no part.
    assert spearman_abs(first, -first.flip(-1))[0] == pytest.approx(-1.0)
    # Ties share their mean rank: [1, 2.5, 2.5, 4] against [1, 2, 3, 4] gives 4.5 / sqrt(4.5 * 5).
    tied = torch.tensor([1.0, 2.0, 2.0, 4.0]).reshape(1, 1, 1, 4)
    assert spearman_abs(tied, first)[0] == pytest.approx(4.5 / math.sqrt(4.5 * 5.0))
    # A constant map has no ranking: undefined.
    assert np.isnan(spearman_abs(torch.ones(1, 1, 1, 4), first)[0])


def test_top_iou_and_ssim_by_hand():
    # 20 voxels, top 5 % = 1 voxel per map; disjoint peaks give IoU 0, a shared peak 1.
    first, second = torch.zeros(1, 1, 4, 5), torch.zeros(1, 1, 4, 5)
    first[0, 0, 0, 0], second[0, 0, 3, 4] = 5.0, -7.0
    assert top_iou(first, second, 0.05)[0] == 0.0
    second[0, 0, 0, 0] = 9.0
    assert top_iou(first, second, 0.05)[0] == 1.0
    # SSIM is scale-free (each map divided by its max |R|) and below 1 for different structure.
    volume = clips((1, 2, 16, 16)).abs()
    assert ssim_frames(volume, 3.0 * volume)[0] == pytest.approx(1.0)
    assert ssim_frames(volume, volume.flip(-1))[0] < 0.5


def test_empty_maps_are_undefined_and_flagged():
    full = clips((2, 2, 16, 16))
    empty = full.clone()
    empty[1] = 0.0
    values = map_similarity(full, empty)
    assert list(values["empty"]) == [False, True]
    for name in ("spearman", "ssim", "iou"):
        assert values[name][0] == pytest.approx(1.0) and np.isnan(values[name][1])


def test_layer_groups_of_tiny_and_block_models():
    assert [group.name for group in layer_groups(tiny_net())] == ["0", "3", "7"]
    assert [group.modules for group in layer_groups(tiny_net(), "layers")] == [("0",), ("3",), ("7",)]
    blocks = nn.Sequential(
        nn.Conv3d(3, 4, 1),
        nn.Sequential(nn.Sequential(nn.Conv3d(4, 4, 1), nn.ReLU()), nn.Sequential(nn.Conv3d(4, 4, 1))),
        nn.Linear(4, 2),
    )
    groups = layer_groups(blocks)
    assert [group.name for group in groups] == ["0", "1.0", "1.1", "2"]
    assert groups[1].modules == ("1.0.0",)
    with pytest.raises(VideoXAIError, match="no parameters"):
        layer_groups(nn.Sequential(nn.ReLU()))
    with pytest.raises(ConfigurationError, match="grouping"):
        layer_groups(tiny_net(), "rows")


def test_seeded_reinitialisation_is_reproducible_and_local():
    model = tiny_net()
    groups = layer_groups(model)
    first, second, other = tiny_net(), tiny_net(), tiny_net()
    randomise_group(first, groups[2], seed=3, index=2)
    randomise_group(second, groups[2], seed=3, index=2)
    randomise_group(other, groups[2], seed=4, index=2)
    assert torch.equal(first[7].weight, second[7].weight) and torch.equal(first[7].bias, second[7].bias)
    assert not torch.equal(first[7].weight, other[7].weight)
    assert not torch.equal(first[7].weight, model[7].weight)
    # Only the chosen level changes, and the new weights follow U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    assert torch.equal(first[0].weight, model[0].weight) and torch.equal(first[3].weight, model[3].weight)
    assert first[7].weight.abs().max() <= 1 / math.sqrt(6)


def test_weight_dependent_map_decorrelates_and_input_map_does_not():
    model = LinearVideoNet()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    rows = cascading_randomisation(
        model,
        clips(),
        lambda net: {"gradient": InputGradient(net), "input": InputItself(net)},
        selective={"n": [1.0]},
        seed=0,
        video="v",
    )
    assert list(rows.columns) == list(COLUMNS)
    # The original model is untouched (the test works on a deep copy).
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
    gradient = rows[(rows.method == "gradient") & (rows.variant == "baseline")].set_index(["depth", "clip"])
    # Depth 0 compares the map with itself; after re-drawing w the map is an independent draw:
    # the rank correlation of 1024 independent |w| is 0 with standard deviation 1/sqrt(1023) ~ 0.03.
    assert (gradient.loc[0, "spearman"] == 1.0).all()
    assert gradient.loc[1, "spearman"].abs().max() < 0.15
    assert list(gradient.loc[1, "layer"]) == ["fc", "fc"]
    # The input itself does not change with the weights: every similarity stays 1.
    input_rows = rows[rows.method == "input"]
    assert np.allclose(input_rows[["spearman", "ssim", "iou"]].to_numpy(dtype=float), 1.0)
    assert set(rows.variant) == {"baseline", "selective"} and set(rows.n.dropna()) == {1.0}
    # The explained class is the trained model's for every depth.
    assert rows.groupby("clip")["target"].nunique().eq(1).all()


def test_gradcam_of_a_tiny_net_loses_its_ranking_when_randomised():
    model = tiny_net().eval()
    inputs = clips((2, 3, 8, 32, 32), seed=5)
    rows = cascading_randomisation(
        model,
        inputs,
        lambda net: {"gradcam": get_explainer("gradcam", net, layer="4")},
        depths=[1, 3],
        seed=0,
        video="v",
    )
    assert sorted(set(rows.depth)) == [0, 1, 3]
    assert list(rows.drop_duplicates("depth").layer) == ["", "7", "0"]
    fully = rows[rows.depth == 3]
    # A fully random net's Grad-CAM keeps at most a weak, input-driven ranking of the original's.
    valid = fully.spearman.dropna()
    assert len(valid) + fully["empty"].sum() == 2
    assert (valid.abs() < 0.5).all()
    again = cascading_randomisation(
        model, inputs, lambda net: {"gradcam": get_explainer("gradcam", net, layer="4")}, depths=[1, 3], seed=0
    )
    pd.testing.assert_frame_equal(rows.drop(columns="video"), again.drop(columns="video"))


def test_depths_are_checked_and_include_the_full_cascade():
    model = tiny_net()
    rows = cascading_randomisation(
        model, clips((1, 3, 8, 32, 32)), lambda net: {"input": InputItself(net)}, depths=[1, 9]
    )
    assert sorted(set(rows.depth)) == [0, 1, 3]
    with pytest.raises(ConfigurationError, match="randomisation.depths"):
        cascading_randomisation(model, clips((1, 3, 8, 32, 32)), lambda net: {"input": InputItself(net)}, depths=[0])


@pytest.mark.slow
def test_workflow_writes_the_randomisation_table_and_curves(tmp_path, workflow_videos):
    import shutil

    from test_workflow import planned_jobs, snakemake, write_config

    from videoxai.data.shards import read_attributes

    videos = tmp_path / "videos"
    for name in ("Knitting", "CliffDiving", "Skijet"):
        (videos / name).mkdir(parents=True)
        shutil.copy(workflow_videos[name], videos / name / workflow_videos[name].name)
    # Listed last, so the spread choice of 2 of the 4 videos takes it: it fails alone.
    (videos / "Skijet" / "zz_empty.mp4").write_bytes(b"")
    write_config(
        tmp_path,
        clips={"length": 8, "max_per_video": 1},
        explain={"methods": ["gradcam", "guided_backprop"], "batch_size": 2, "threads": 1},
        selective={"n": [1.0, 4.0]},
        randomisation={"enabled": True, "videos": 2, "depths": [1]},
    )
    target = "results/tables/randomisation.csv"
    snakemake(tmp_path, target)
    table = pd.read_csv(tmp_path / target)
    # 2 methods x (baseline + 2 n) x depths 0, 1 and all (3 levels of the tiny net), from the one
    # chosen video that decodes; the empty file's shard records its failure.
    assert len(table) == 2 * 3 * 3
    assert set(table.depth) == {0, 1, 3} and set(table.videos) == {1}
    shards = {path.stem: read_attributes(path) for path in (tmp_path / "results/randomisation").glob("*/*.h5")}
    assert len(shards) == 2 and shards["Skijet__zz_empty"]["status"] == "failed"
    assert shards["Skijet__zz_empty"]["failed_stage"] == "clips"
    assert (table[table.depth == 0].spearman.dropna() == 1.0).all()
    for suffix in ("md", "tex", "html"):
        assert "Spearman" in (tmp_path / f"results/tables/randomisation.{suffix}").read_text(encoding="utf-8")
    for method in ("gradcam", "guided_backprop"):
        assert (tmp_path / f"results/figures/randomisation_{method}.png").stat().st_size > 10_000
    # A new seed reruns only the randomisation jobs and the table, not decoding or explaining.
    write_config(
        tmp_path,
        clips={"length": 8, "max_per_video": 1},
        explain={"methods": ["gradcam", "guided_backprop"], "batch_size": 2, "threads": 1},
        selective={"n": [1.0, 4.0]},
        randomisation={"enabled": True, "videos": 2, "depths": [1], "seed": 1},
    )
    planned = planned_jobs(snakemake(tmp_path, target, "--dry-run").stdout)
    assert set(planned) == {"randomisation", "randomisation_table"}


def test_bad_randomisation_settings_stop_the_run_with_the_key():
    from videoxai.core.study_config import check_randomisation

    config = {"explain": {"methods": ["gradcam"]}, "randomisation": {"enabled": True, "methods": ["dtd"]}}
    with pytest.raises(ConfigurationError, match="randomisation.methods"):
        check_randomisation(config)
    config = {"explain": {"methods": ["flow_occlusion"]}, "randomisation": {"enabled": True, "methods": None}}
    with pytest.raises(ConfigurationError, match="optical flow"):
        check_randomisation(config)
    check_randomisation({"explain": {"methods": ["dtd"]}, "randomisation": {"enabled": False, "methods": ["x"]}})


def test_spread_selection_takes_every_class():
    from videoxai.core.batching import spread_selection

    ids = [f"{name}_{index}" for name in "ABCDE" for index in range(5)]
    assert spread_selection(ids, 5) == ["A_0", "B_1", "C_2", "D_3", "E_4"]
    assert spread_selection(ids, None) == ids and spread_selection(ids, 30) == ids
    assert spread_selection(ids, 1) == ["A_0"]


def test_summary_means_intervals_and_empty_counts(tmp_path):
    from videoxai.report.randomisation import summarise, write_figures, write_table

    rows = []
    for video, value in (("a", 0.2), ("b", 0.4), ("c", 0.6)):
        for depth, layer in ((0, ""), (1, "fc")):
            similarity = 1.0 if depth == 0 else value
            rows.append((video, 0, "gradcam", "baseline", np.nan, depth, layer, 1, similarity, similarity, 1.0, False))
            # The selective map of video c is empty once randomised: undefined, counted, left out.
            empty = video == "c" and depth == 1
            selective = np.nan if empty else similarity
            rows.append((video, 0, "gradcam", "selective", 4.0, depth, layer, 1, selective, selective, 1.0, empty))
    summary = summarise(pd.DataFrame(rows, columns=list(COLUMNS)), bootstrap={"resamples": 200})
    assert list(summary[["variant", "depth"]].itertuples(index=False, name=None)) == [
        ("baseline", 0),
        ("baseline", 1),
        ("selective", 0),
        ("selective", 1),
    ]
    baseline, selective = summary.iloc[1], summary.iloc[3]
    assert baseline.spearman == pytest.approx(0.4) and baseline.spearman_low <= 0.4 <= baseline.spearman_high
    # The t interval over 3 videos (0.2, 0.4, 0.6): 0.4 ± t(0.975, 2) · 0.2 / √3, t(0.975, 2) = 0.95 √(2 / 0.0975).
    half = 0.95 * math.sqrt(2 / 0.0975) * 0.2 / math.sqrt(3)
    assert (baseline.spearman_low, baseline.spearman_high) == (pytest.approx(0.4 - half), pytest.approx(0.4 + half))
    assert selective.spearman == pytest.approx(0.3) and selective["empty"] == 1 and selective.videos == 3
    assert summary.iloc[0].spearman == 1.0 and summary.iloc[0].spearman_low == 1.0
    written = write_table(summary, tmp_path, 0.05)
    assert [path.name for path in written] == [f"randomisation.{s}" for s in ("csv", "md", "tex", "html")]
    markdown = (tmp_path / "randomisation.md").read_text(encoding="utf-8")
    assert "| Grad-CAM | baseline | 1 | fc | 0.400 [" in markdown
    assert "| Grad-CAM | selective n=4 | 1 | fc | 0.300 [" in markdown
    figures = write_figures(summary, tmp_path, ["gradcam", "dtd"], 0.05)
    assert sorted(path.name for path in figures) == [
        "randomisation_dtd.pdf",
        "randomisation_dtd.png",
        "randomisation_gradcam.pdf",
        "randomisation_gradcam.png",
    ]


def test_the_table_and_its_caption_take_the_study_bootstrap_settings(tmp_path):
    from videoxai.evaluation.stats import bootstrap_mean
    from videoxai.report.randomisation import summarise, write_table

    values = {"a": 0.2, "b": 0.4, "c": 0.9, "d": 0.1}
    rows = [
        (video, 0, "gradcam", "baseline", np.nan, 1, "fc", 1, value, value, value, False)
        for video, value in values.items()
    ]
    settings = {"level": 0.5, "resamples": 40, "seed": 7, "method": "percentile"}
    (row,) = summarise(pd.DataFrame(rows, columns=list(COLUMNS)), bootstrap=settings).to_dict("records")
    expected = bootstrap_mean(list(values.values()), list(values), level=0.5, resamples=40, seed=7, method="percentile")
    assert (row["spearman_low"], row["spearman_high"]) == pytest.approx((expected.low, expected.high))
    (default,) = summarise(pd.DataFrame(rows, columns=list(COLUMNS))).to_dict("records")
    assert default["spearman_high"] - default["spearman_low"] > expected.high - expected.low
    write_table(pd.DataFrame([row]), tmp_path, 0.05, settings)
    markdown = (tmp_path / "randomisation.md").read_text(encoding="utf-8")
    assert "[50% interval: percentile bootstrap resampling videos (40 resamples, seed 7)]" in markdown
    assert "95" not in markdown.splitlines()[0]


def test_similarity_intervals_stay_within_what_each_measure_can_take():
    """A t interval of similarities near 1 over few videos would pass 1 (and an IoU near 0 go below
    0): every interval is cut to the measure's range."""
    from videoxai.report.randomisation import summarise

    values = {"a": (1.0, 0.0), "b": (0.98, 0.01), "c": (0.80, 0.12), "d": (1.0, 0.0)}
    rows = [
        (video, 0, "gradcam", "baseline", np.nan, 1, "fc", 1, high, high, low, False)
        for video, (high, low) in values.items()
    ]
    (row,) = summarise(pd.DataFrame(rows, columns=list(COLUMNS))).to_dict("records")
    for name in ("spearman", "ssim"):
        assert row[f"{name}_low"] < row[name] < row[f"{name}_high"] == 1.0
    assert row["iou_low"] == 0.0 < row["iou"] < row["iou_high"]
