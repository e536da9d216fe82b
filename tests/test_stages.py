"""The library functions behind the workflow's model stages, on a tiny model."""

import numpy as np
import pytest
import torch

from videoxai.core.errors import ConfigurationError
from videoxai.explain import get_explainer
from videoxai.explain.batched import explain_clips
from videoxai.models import load_configured
from videoxai.study.explain import preflight
from videoxai.study.faithfulness import faithfulness_table

TINY = {
    "name": "workflow_models:tiny_net",
    "weights": None,
    "options": {},
    "spec": {"num_frames": 8, "size": 16, "scale": 1 / 127.5, "offset": -1.0, "num_classes": 3},
}


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
    both = faithfulness_table(
        model,
        spec,
        "v",
        data,
        [("gradcam", "baseline", np.nan, relevance, target)],
        steps=2,
        references=["random", "centre"],
    )
    assert set(both["method"]) == {"gradcam", "random", "centre"}
    with pytest.raises(ConfigurationError, match="faithfulness.references"):
        faithfulness_table(
            model, spec, "v", data, [("gradcam", "baseline", np.nan, relevance, target)], steps=1, references=["edge"]
        )
    # nothing removed yet: the first deletion point is the clip's own probability of its target
    probability = torch.softmax(model(spec.preprocess(data[1:2])), 1)[0, 1].item()
    assert curve.sort_values("q")["value"].iloc[0] == pytest.approx(probability, rel=1e-5)


def test_preflight_summarises_a_good_config_and_names_bad_keys(monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    config = {
        "model": TINY,
        "clips": {"length": 8},
        "explain": {"methods": ["gradcam", "saliency_tubes"], "options": {}},
        "faithfulness": {"enabled": False, "annotations": None},
    }
    summary = preflight(config)
    assert summary["classes"] == 3 and summary["input"] == [1, 3, 8, 16, 16]
    bad = {**config, "model": {**TINY, "name": "workflow_models:tiny_fc_net"}}
    with pytest.raises(ConfigurationError, match=r"explain\.methods: method 'saliency_tubes' cannot explain"):
        preflight(bad)


class RefusesBlankClips(torch.nn.Module):
    """tiny_net that refuses a batch holding a constant clip: a stand-in for a video the model
    cannot take, to see that it fails alone when its clips share a batch with other videos."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, inputs):
        from videoxai.core.errors import VideoXAIError

        if (inputs.flatten(1).std(dim=1) == 0).any():
            raise VideoXAIError("a blank clip")
        return self.net(inputs)


def test_explain_videos_batches_across_videos_without_changing_a_map(tiny):
    from videoxai.explain.batched import VideoClips, explain_videos

    model, spec = tiny
    videos = [VideoClips(f"v{index}", clips(count, seed=index)) for index, count in enumerate((1, 3, 2))]
    methods = ["dtd", "gradcam", "guided_backprop", "guided_gradcam"]
    batched = dict(explain_videos(model, spec, iter(videos), methods, batch_size=4))
    assert list(batched) == ["v0", "v1", "v2"]
    for video in videos:
        alone = explain_clips(model, spec, video.clips, methods, batch_size=1)
        for name, array in alone.items():
            if name.endswith("seconds_per_clip"):
                assert batched[video.video_id][name].shape == array.shape
                continue
            np.testing.assert_allclose(batched[video.video_id][name], array, rtol=1e-6, atol=1e-7, err_msg=name)


def test_guided_gradcam_reuses_the_configured_maps_exactly(tiny):
    from videoxai.explain.batched import shared_guided_gradcam

    model, spec = tiny
    data = clips(3)
    methods = ["gradcam", "guided_backprop", "guided_gradcam"]
    assert shared_guided_gradcam(methods, {})
    assert not shared_guided_gradcam(methods, {"gradcam": {"layer": "3"}})
    assert not shared_guided_gradcam(["gradcam", "guided_gradcam"], {})
    arrays = explain_clips(model, spec, data, methods, batch_size=2)
    direct = get_explainer("guided_gradcam", model, spec=spec).attribute(spec.preprocess(data))
    expected = direct.relevance.numpy()
    # 1e-6 of the map's scale: batches of 2 and of 3 clips round the last bits differently
    np.testing.assert_allclose(
        arrays["guided_gradcam/relevance"], expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max()
    )
    np.testing.assert_array_equal(arrays["guided_gradcam/target"], direct.target.numpy())
    # its time is what its two passes cost, so Table 4 still compares like with like
    shared = arrays["guided_gradcam/seconds_per_clip"]
    assert (shared >= arrays["gradcam/seconds_per_clip"] + arrays["guided_backprop/seconds_per_clip"]).all()


def test_one_bad_video_in_a_batch_fails_alone(tiny):
    from videoxai.core.errors import VideoXAIError
    from videoxai.explain.batched import VideoClips, explain_videos

    net, spec = tiny
    model = RefusesBlankClips(net).eval()
    blank = np.full((2, 8, 16, 16, 3), 90, np.uint8)
    videos = [VideoClips("good1", clips(2, 1)), VideoClips("blank", blank), VideoClips("good2", clips(1, 2))]
    results = dict(explain_videos(model, spec, videos, ["gradcam", "guided_backprop"], batch_size=4))
    assert list(results) == ["good1", "blank", "good2"]
    assert isinstance(results["blank"], VideoXAIError) and "a blank clip" in str(results["blank"])
    for video in (videos[0], videos[2]):
        alone = explain_clips(net, spec, video.clips, ["gradcam"], batch_size=1)
        np.testing.assert_allclose(
            results[video.video_id]["gradcam/relevance"], alone["gradcam/relevance"], rtol=1e-6, atol=1e-7
        )


def test_prefetched_keeps_order_and_raises_where_the_producer_failed():
    from videoxai.study.explain import prefetched

    assert list(prefetched(iter(range(10)), depth=3)) == list(range(10))

    def broken():
        yield 1
        raise OSError("shard unreadable")

    iterator = prefetched(broken())
    assert next(iterator) == 1
    with pytest.raises(OSError, match="shard unreadable"):
        next(iterator)
