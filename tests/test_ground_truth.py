"""Ground-truth benchmark: metrics on maps with a known answer, the table's intervals, a trained
model's accuracy, the config check, and the rules end to end on a tiny setting."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from videoxai.core.errors import ConfigurationError
from videoxai.core.study_config import check_ground_truth
from videoxai.explain import get_explainer
from videoxai.ground_truth import benchmark as gt
from videoxai.ground_truth import generator as synthetic
from videoxai.ground_truth import model as gt_model
from videoxai.ground_truth import report as gt_report
from videoxai.ground_truth import settings as gt_settings

REPO = Path(__file__).resolve().parents[1]


def test_map_metrics_on_hand_made_maps():
    evidence = np.zeros((2, 2, 4, 4), bool)
    evidence[:, :, :2, :2] = True  # 8 evidence voxels of 32 per clip
    relevance = np.zeros((2, 2, 4, 4), np.float32)
    relevance[0, :, :2, :2] = 1.0  # all 8 evidence voxels, weight 1
    relevance[0, 0, 3, 3] = 3.0  # one voxel off the evidence, weight 3
    relevance[0, 1, 3, 3] = -5.0  # negative relevance counts nowhere
    moving = np.zeros_like(evidence)
    moving[0, 0, 3, 3] = True
    result = gt.map_metrics(relevance, evidence, moving)
    assert result["precision"][0] == pytest.approx(8 / 9)
    assert result["recall"][0] == pytest.approx(1.0)
    assert result["weighted_precision"][0] == pytest.approx(8 / 11)
    assert result["on_object"][0] == pytest.approx(3 / 11)
    assert result["empty"].tolist() == [0.0, 1.0]
    assert math.isnan(result["precision"][1]) and result["recall"][1] == 0.0
    selective = relevance * (np.arange(4) == 3)[None, None, None, :]  # keeps only column 3
    assert gt.motion_share(relevance, selective)[0] == pytest.approx(3 / 11)
    assert math.isnan(gt.motion_share(relevance, selective)[1])


def test_summary_table_means_and_intervals_on_known_data():
    rows = []
    for video in range(6):
        for model in gt_settings.MODELS:
            rows.append(
                {
                    "model": model,
                    "video": f"v{video}",
                    "method": "gradcam",
                    "variant": "baseline",
                    "n": math.nan,
                    "metric": "precision",
                    "value": 0.25,
                }
            )
            rows.append(
                {
                    "model": model,
                    "video": f"v{video}",
                    "method": "gradcam",
                    "variant": "selective",
                    "n": 4.0,
                    "metric": "motion_share",
                    "value": video / 5,
                }
            )
            rows.append(
                {
                    "model": model,
                    "video": f"v{video}",
                    "method": "",
                    "variant": "",
                    "n": math.nan,
                    "metric": "chance",
                    "value": 0.1,
                }
            )
    metrics = pd.DataFrame(rows)
    summary = gt.summary_table(metrics)
    constant = summary[(summary["metric"] == "precision")]
    assert (constant["mean"] == 0.25).all() and (constant["low"] == 0.25).all() and (constant["high"] == 0.25).all()
    share = summary[summary["metric"] == "motion_share"].iloc[0]
    assert share["mean"] == pytest.approx(0.5) and share["low"] < 0.5 < share["high"] and share["videos"] == 6
    # Written to CSV and read back (empty method names come back as NaN) gives the same table.
    again = gt.summary_table(pd.read_csv(pd.io.common.StringIO(metrics.to_csv(index=False))))
    pd.testing.assert_frame_equal(summary, again)
    headers, body = gt_report.display_table(summary)
    assert headers[:2] == ["Method", "Map"] and len(body) == 2
    assert body[0][2] == "0.250 [0.250, 0.250]"


def test_tiny_net_is_explainable_by_every_default_method():
    model = gt_model.tiny_c3d(4).eval()
    spec = gt_model.model_spec(gt_settings.BenchmarkSettings(), "motion")
    clips = np.random.default_rng(0).integers(0, 256, (1, 16, 32, 32, 3), dtype=np.uint8)
    inputs = spec.preprocess(clips)
    for method in ("dtd", "gradcam", "guided_backprop", "guided_gradcam", "saliency_tubes"):
        options = gt_settings.DEFAULT_OPTIONS.get(method, {})
        relevance = get_explainer(method, model, spec=spec, **options).attribute(inputs).relevance
        assert relevance.shape == (1, 16, 32, 32) and torch.isfinite(relevance).all()
    # DTD conserves the target logit in a bias-free ReLU network: zero the biases and check.
    for module in model.modules():
        if getattr(module, "bias", None) is not None:
            torch.nn.init.zeros_(module.bias)
    result = get_explainer("dtd", model, spec=spec).attribute(inputs)
    logit = result.logits[0, result.target[0]]
    assert float(result.relevance.sum()) == pytest.approx(float(logit), rel=1e-3)


def test_config_check_names_the_key():
    check_ground_truth({"enabled": False, "methods": ["nonsense"]})  # off: not checked
    with pytest.raises(ConfigurationError, match="ground_truth.methods"):
        check_ground_truth({"enabled": True, "methods": ["nonsense"]})
    with pytest.raises(ConfigurationError, match="ground_truth.architecture"):
        check_ground_truth({"enabled": True, "architecture": "no_colon"})
    with pytest.raises(ConfigurationError, match="ground_truth.options.gradcam.layr"):
        check_ground_truth({"enabled": True, "options": {"gradcam": {"layr": "x"}}})
    with pytest.raises(ConfigurationError, match="ground_truth.architecture"):
        gt_model.build_architecture("videoxai.ground_truth.model:missing_factory", 4)


@pytest.mark.slow
def test_trained_models_reach_the_accuracy_and_come_from_the_cache(tmp_path):
    """Both default models on the default settings: ≥ 95 % held-out accuracy; a second call
    loads the same weights from the cache without training."""
    torch.set_num_threads(2)
    settings = gt_settings.BenchmarkSettings()
    for dataset in gt_settings.MODELS:
        model, spec, meta = gt_model.trained_model(settings, dataset, tmp_path / "cache", tmp_path / "work")
        assert meta["accuracy"] >= 0.95 and not meta["cached"]
        again, _, cached = gt_model.trained_model(settings, dataset, tmp_path / "cache", tmp_path / "work")
        assert cached["cached"] and cached["accuracy"] == meta["accuracy"]
        for first, second in zip(model.state_dict().values(), again.state_dict().values()):
            assert torch.equal(first, second)
    assert settings.model_key("motion") != gt_settings.BenchmarkSettings(epochs=3).model_key("motion")


@pytest.mark.slow
def test_ground_truth_rules_write_the_table_and_figure(tmp_path):
    """The rules on a tiny setting: two methods, two videos per class, a short training."""
    config = {
        "results": "results",
        "resources": "resources",
        "videos": {"source": "folder", "root": "videos"},
        "model": {"name": "workflow_models:tiny_net", "spec": {"num_frames": 8, "size": 32, "num_classes": 3}},
        "selective": {"n": [2.0, 4.0]},
        "ground_truth": {
            "enabled": True,
            "videos_per_class": 2,
            "train_per_class": 4,
            "test_per_class": 2,
            "epochs": 1,
            "min_accuracy": 0.0,
            "methods": ["gradcam", "dtd"],
        },
    }
    # The study needs a listed video to build its DAG; only the benchmark's targets are asked for.
    frames = np.zeros((8, 32, 32, 3), np.uint8)
    synthetic.write_video(tmp_path / "videos" / "Still" / "still.avi", frames, 25.0, compression=False)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    snakemake = Path(sys.executable).with_name("snakemake")
    completed = subprocess.run(
        [
            str(snakemake),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(tmp_path / "config.yaml"),
            "--cores",
            "2",
            "results/tables/ground_truth.csv",
            "results/figures/ground_truth.png",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    summary = pd.read_csv(tmp_path / "results" / "tables" / "ground_truth.csv")
    assert set(summary["model"]) == set(gt_settings.MODELS)
    assert set(summary["method"].dropna()) == {"gradcam", "dtd"}
    assert set(summary["n"].dropna()) == {2.0, 4.0}
    assert {"precision", "recall", "weighted_precision", "empty", "motion_share", "chance", "correct"} <= set(
        summary["metric"]
    )
    assert (summary.groupby("model")["videos"].max() == 8).all()
    assert (tmp_path / "results" / "figures" / "ground_truth.png").stat().st_size > 10_000
    markdown = (tmp_path / "results" / "tables" / "ground_truth.md").read_text()
    assert "motion-trained" in markdown and "context-trained" in markdown and "[" in markdown
    cached = list((tmp_path / "resources" / "models" / "ground_truth").glob("*.safetensors"))
    assert len(cached) == 2
    # A second run with the results removed trains nothing: the models come from the cache.
    for path in [*(tmp_path / "results" / "ground_truth").glob("*.csv"), tmp_path / "results/tables/ground_truth.csv"]:
        path.unlink()
    again = subprocess.run(
        [
            str(snakemake),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(tmp_path / "config.yaml"),
            "--cores",
            "2",
            "results/tables/ground_truth.csv",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-4000:]
    log = (tmp_path / "results" / "logs" / "ground_truth" / "motion.log").read_text()
    assert "from the cache" in log


def test_front_page_sentences_come_from_the_table():
    from videoxai.report.front_page import ground_truth_lines, ground_truth_sentences

    rows = []
    shares = {
        ("motion", "dtd"): 0.4,
        ("context", "dtd"): 0.1,
        ("motion", "gradcam"): 0.05,
        ("context", "gradcam"): 0.07,
    }
    for (model, method), share in shares.items():
        for video in range(3):
            base = {"model": model, "video": f"v{video}", "method": method}
            rows.append({**base, "variant": "selective", "n": 4.0, "metric": "motion_share", "value": share})
            rows.append(
                {
                    **base,
                    "variant": "selective",
                    "n": 4.0,
                    "metric": "weighted_precision",
                    "value": 0.5 if method == "dtd" else 0.2,
                }
            )
            rows.append({**base, "variant": "baseline", "n": math.nan, "metric": "weighted_precision", "value": 0.1})
            rows.append({**base, "variant": "selective", "n": 4.0, "metric": "empty", "value": 0.0})
    summary = gt.summary_table(pd.DataFrame(rows))
    table_sentence, figure_sentence = ground_truth_sentences(summary)
    assert "with 1 of 2 methods (DTD)" in table_sentence
    assert "DTD's selective maps lay most on the moving object" in table_sentence and "50.0%" in table_sentence
    assert "kept 8.5% of the positive relevance" in figure_sentence and "0.0% of its maps empty" in figure_sentence
    headers, body = gt_report.display_table(summary)
    lines = ground_truth_lines(summary, "caption", headers, body)
    assert lines[0] == "Ground truth" and any("<table" in line for line in lines)


def test_the_table_takes_the_study_bootstrap_level_and_resamples(tmp_path):
    from videoxai.evaluation.stats import bootstrap_mean

    shares = [0.1, 0.5, 0.3, 0.9]
    csvs, metas = [], []
    for model in gt_settings.MODELS:
        rows = [
            {"model": model, "video": f"v{video}", "method": "dtd", "variant": variant, "n": n, "metric": metric}
            | {"value": share}
            for video, share in enumerate(shares)
            for variant, n, metric in (("baseline", math.nan, "precision"), ("selective", 4.0, "motion_share"))
        ]
        rows += [
            {"model": model, "video": f"v{video}", "method": "", "variant": "", "n": math.nan}
            | {"metric": metric, "value": value}
            for video in range(len(shares))
            for metric, value in (("chance", 0.1), ("correct", 1.0))
        ]
        csvs.append(tmp_path / f"{model}.csv")
        pd.DataFrame(rows).to_csv(csvs[-1], index=False)
        metas.append(tmp_path / f"{model}.json")
        metas[-1].write_text(json.dumps({"dataset": model, "accuracy": 1.0}))
    gt_report.ground_truth_report(
        csvs,
        metas,
        tmp_path / "tables",
        tmp_path / "gt.png",
        seed=2,
        bootstrap={"level": 0.5, "resamples": 30, "method": "percentile"},
    )
    summary = pd.read_csv(tmp_path / "tables" / "ground_truth.csv")
    share = summary[(summary["model"] == "motion") & (summary["metric"] == "motion_share")].iloc[0]
    expected = bootstrap_mean(
        shares, [f"v{video}" for video in range(4)], level=0.5, resamples=30, seed=2, method="percentile"
    )
    assert (share["low"], share["high"]) == pytest.approx((expected.low, expected.high))
    caption = (tmp_path / "tables" / "ground_truth.md").read_text().splitlines()[0]
    assert "mean [50% interval: percentile bootstrap resampling videos (30 resamples, seed 2)]" in caption
