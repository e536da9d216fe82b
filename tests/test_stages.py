"""The library functions behind the workflow's model stages, on a tiny model."""

import numpy as np
import pytest
import torch

from videoxai.errors import ConfigurationError
from videoxai.explain import get_explainer
from videoxai.models import load_configured
from videoxai.stages import explain_clips, faithfulness_table, preflight

TINY = {"name": "workflow_models:tiny_net", "weights": None, "options": {},
        "spec": {"num_frames": 8, "size": 16, "scale": 1 / 127.5, "offset": -1.0, "num_classes": 3}}


@pytest.fixture()
def tiny(monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    return load_configured(TINY)


def clips(count=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, 8, 16, 16, 3), dtype=np.uint8)


def test_explain_clips_equals_each_explainer_called_directly(tiny):
    model, spec = tiny
    data = clips()
    arrays = explain_clips(model, spec, data, ["dtd", "gradcam"], {"gradcam": {"layer": "3"}}, batch_size=2)
    inputs = spec.preprocess(data)
    for method, options in (("dtd", {}), ("gradcam", {"layer": "3"})):
        direct = get_explainer(method, model, spec=spec, **options).attribute(inputs)
        np.testing.assert_allclose(arrays[f"{method}/relevance"], direct.relevance.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(arrays[f"{method}/target"], direct.target.numpy())
        np.testing.assert_array_equal(arrays[f"{method}/predicted"], direct.logits.argmax(1).numpy())
        assert arrays[f"{method}/seconds_per_clip"].shape == (3,) and (arrays[f"{method}/seconds_per_clip"] > 0).all()


def test_explain_clips_names_the_config_key_of_a_bad_option_or_size(tiny):
    model, spec = tiny
    with pytest.raises(ConfigurationError, match=r"explain\.options\.gradcam: .*does not take option"):
        explain_clips(model, spec, clips(), ["gradcam"], {"gradcam": {"stride": 2}})
    with pytest.raises(ConfigurationError, match=r"model\.spec\.size: clips are \(20, 20\) pixels"):
        explain_clips(model, spec, np.zeros((1, 8, 20, 20, 3), np.uint8), ["gradcam"])
    with pytest.raises(ConfigurationError, match="need the clips' optical flow"):
        explain_clips(model, spec, clips(), ["flow_occlusion_approx"])


def test_faithfulness_table_scores_every_map_and_the_random_reference(tiny):
    model, spec = tiny
    data = clips(2)
    relevance = np.random.default_rng(1).standard_normal((2, 8, 16, 16)).astype(np.float32)
    target = np.array([0, 1])
    table = faithfulness_table(model, spec, "v", data, [("gradcam", "baseline", np.nan, relevance, target)], steps=2)
    assert set(table["method"]) == {"gradcam", "random"}
    curve = table[(table["metric"] == "deletion_curve") & (table["method"] == "gradcam") & (table["clip"] == 1)]
    assert sorted(curve["q"]) == [0.0, 0.5, 1.0]
    # nothing removed yet: the first deletion point is the clip's own probability of its target
    probability = torch.softmax(model(spec.preprocess(data[1:2])), 1)[0, 1].item()
    assert curve.sort_values("q")["value"].iloc[0] == pytest.approx(probability, rel=1e-5)


def test_preflight_summarises_a_good_config_and_names_bad_keys(monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    config = {"model": TINY, "clips": {"length": 8}, "explain": {"methods": ["gradcam", "saliency_tubes"], "options": {}},
              "faithfulness": {"enabled": False, "annotations": None}}
    summary = preflight(config)
    assert summary["classes"] == 3 and summary["input"] == [1, 3, 8, 16, 16]
    bad = {**config, "model": {**TINY, "name": "workflow_models:tiny_fc_net"}}
    with pytest.raises(ConfigurationError, match=r"explain\.methods: method 'saliency_tubes' cannot explain"):
        preflight(bad)
