"""C3D: the paper's architecture, the checkpoints people have, and clear errors for bad input."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from torch import nn

from videoxai import VideoXAIError
from videoxai.models import load
from videoxai.models.c3d import C3D, SPORTS1M_MEAN_RGB, load_c3d, parameter_count, state_dict_for_file

KEYS = [
    f"{layer}.{kind}"
    for layer in ("conv1", "conv2", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b", "fc6", "fc7", "fc8")
    for kind in ("weight", "bias")
]


def quarter(num_classes: int = 5, seed: int = 0) -> C3D:
    torch.manual_seed(seed)
    return C3D(num_classes=num_classes, width=0.25).eval()


def clip(seed: int = 1, batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, 16, 112, 112, generator=torch.Generator().manual_seed(seed)) * 50


def test_parameter_count_of_the_sports1m_network_by_hand():
    conv = lambda cin, cout: cin * cout * 3 * 3 * 3 + cout  # noqa: E731
    linear = lambda fin, fout: fin * fout + fout  # noqa: E731
    by_hand = (
        conv(3, 64)  # conv1: 5,248
        + conv(64, 128)  # conv2: 221,312
        + conv(128, 256)
        + conv(256, 256)  # conv3a/b: 884,992 + 1,769,728
        + conv(256, 512)
        + conv(512, 512)  # conv4a/b: 3,539,456 + 7,078,400
        + conv(512, 512)
        + conv(512, 512)  # conv5a/b: 2 x 7,078,400
        + linear(512 * 1 * 4 * 4, 4096)  # fc6: 33,558,528
        + linear(4096, 4096)  # fc7: 16,781,312
        + linear(4096, 487)  # fc8: 1,995,239
    )
    assert by_hand == 79_991_015
    model = C3D(num_classes=487)
    assert sum(parameter.numel() for parameter in model.parameters()) == by_hand == parameter_count(487)
    assert list(model.state_dict()) == KEYS


def test_layer_shapes_at_full_width():
    model = C3D(num_classes=487).eval()
    shapes = {}
    hooks = [
        model.get_submodule(name).register_forward_hook(
            lambda module, inputs, output, name=name: shapes.__setitem__(name, tuple(output.shape))
        )
        for name in ("pool1", "pool2", "pool3", "pool4", "relu5b", "pool5", "fc6", "fc8")
    ]
    with torch.no_grad():
        logits = model(clip())
    for hook in hooks:
        hook.remove()
    assert logits.shape == (1, 487) and logits.dtype == torch.float32
    assert shapes == {
        "pool1": (1, 64, 16, 56, 56),  # pool1 keeps all 16 frames
        "pool2": (1, 128, 8, 28, 28),
        "pool3": (1, 256, 4, 14, 14),
        "pool4": (1, 512, 2, 7, 7),
        "relu5b": (1, 512, 2, 7, 7),
        "pool5": (1, 512, 1, 4, 4),  # (0, 1, 1) padding: 7 -> 4, so fc6 sees 8192 values
        "fc6": (1, 4096),
        "fc8": (1, 487),
    }


def test_module_conventions_for_the_explainers():
    model = quarter()
    children = list(model.named_children())
    relus = [module for _, module in children if isinstance(module, nn.ReLU)]
    assert len(relus) == 10 and len({id(relu) for relu in relus}) == 10
    assert not any(relu.inplace for relu in relus)
    assert children[0][0] == "conv1" and isinstance(children[0][1], nn.Conv3d)
    assert [name for name, _ in children if isinstance(_, nn.Dropout)] == ["dropout6", "dropout7"]
    assert model.cam_layer == "relu5b" and model.get_submodule(model.cam_layer) is model.relu5b
    assert children[children.index(("relu5b", model.relu5b)) - 1][0] == "conv5b"
    assert model.classifier_layer == "fc8" and isinstance(model.get_submodule("fc8"), nn.Linear)
    assert model.pool5.padding == (0, 1, 1) and model.pool1.kernel_size == (1, 2, 2)
    # quarter width: 16, 32, 64, 128, 128 channels, fc 1024
    assert model.fc6.in_features == 128 * 16 and model.fc6.out_features == 1024


@pytest.mark.parametrize(
    "shape",
    [(1, 3, 8, 112, 112), (1, 3, 16, 224, 224), (3, 16, 112, 112), (1, 16, 3, 112, 112), (1, 1, 16, 112, 112)],
)
def test_wrong_input_shape_is_one_clear_error(shape):
    with pytest.raises(VideoXAIError, match=r"\(N, 3, 16, 112, 112\).*got shape"):
        quarter()(torch.zeros(shape))


def test_integer_input_is_refused():
    with pytest.raises(VideoXAIError, match="float"):
        quarter()(torch.zeros((1, 3, 16, 112, 112), dtype=torch.uint8))


def test_no_weights_explains_what_to_pass():
    with pytest.raises(VideoXAIError, match="ships no weights.*Sports-1M.*UCF-101.*videoxai train"):
        load_c3d()
    model, spec = load_c3d(random_init=True, num_classes=7, width=0.25)
    assert model.fc8.out_features == 7 and spec.class_names == tuple(f"class_{i}" for i in range(7))
    assert (spec.name, spec.num_frames, spec.size, spec.resize_hw) == ("c3d", 16, 112, (128, 171))
    assert spec.mean == SPORTS1M_MEAN_RGB == (102.0, 98.0, 90.0)


def test_unknown_model_name():
    with pytest.raises(VideoXAIError, match=r"unknown model 'c3dd'.*'c3d'"):
        load("c3dd")


def save_figure(state, path):
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(dict(state), str(path))
    else:
        torch.save(state, path)


@pytest.mark.parametrize("suffix", [".pth", ".pickle", ".safetensors"])
def test_checkpoint_round_trip_in_each_format(tmp_path, suffix):
    model = quarter(num_classes=9)
    path = tmp_path / f"c3d{suffix}"
    save_figure(state_dict_for_file(model), path)
    loaded, spec = load_c3d(path, channel_order="rgb")  # num_classes and width come from the file
    assert loaded.fc8.out_features == 9 and loaded.width == 0.25 and not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with torch.no_grad():
        assert torch.equal(loaded(clip()), model(clip()))
    assert spec.num_classes == 9 and len(spec.weights_sha256) == 64
    # through the registry as well
    registry_model, _ = load("c3d", weights=path, channel_order="rgb")
    assert torch.equal(registry_model.fc8.weight, model.fc8.weight)


def test_bgr_checkpoint_takes_rgb_input(tmp_path):
    """Files without a sidecar are taken as BGR-trained (Caffe Sports-1M, OpenCV fine-tunes)."""
    model = quarter()
    path = tmp_path / "sports1m_like.pth"
    torch.save(state_dict_for_file(model), path)
    loaded, _ = load_c3d(path)
    rgb = clip()
    with torch.no_grad():
        assert torch.allclose(loaded(rgb), model(rgb.flip(1)), atol=1e-5)


def test_training_style_wrapper_and_module_prefix(tmp_path):
    """UCF-101 fine-tunes are often saved as {'epoch', 'state_dict', 'opt_dict'} from DataParallel."""
    model = quarter(num_classes=101)
    state = {f"module.{key}": value for key, value in state_dict_for_file(model).items()}
    path = tmp_path / "C3D-ucf101_epoch-99.pth.tar"
    torch.save({"epoch": 100, "state_dict": state, "opt_dict": {"param_groups": [{"lr": 1e-3}]}}, path)
    loaded, spec = load_c3d(path, channel_order="rgb")
    assert spec.num_classes == 101 and torch.equal(loaded.conv1.weight, model.conv1.weight)


def test_sidecar_gives_class_names_and_mean(tmp_path):
    model = quarter(num_classes=3)
    path = tmp_path / "trained.safetensors"
    save_figure(state_dict_for_file(model), path)
    meta = {"class_names": ["a", "b", "c"], "mean": [90.5, 80.0, 70.25], "channel_order": "rgb", "width": 0.25}
    (tmp_path / "trained.json").write_text(json.dumps(meta))
    loaded, spec = load_c3d(path)
    assert spec.class_names == ("a", "b", "c") and spec.mean == (90.5, 80.0, 70.25)
    assert torch.equal(loaded.conv1.weight, model.conv1.weight)  # rgb: not flipped
    with pytest.raises(VideoXAIError, match="2 class names for a model with 3 outputs"):
        load_c3d(path, class_names=["x", "y"])


def test_safetensors_header_metadata_without_sidecar(tmp_path):
    from safetensors.torch import save_file

    model = quarter(num_classes=2)
    path = tmp_path / "m.safetensors"
    meta = {"class_names": ["left", "right"], "mean": [1.0, 2.0, 3.0], "channel_order": "rgb"}
    save_file(dict(state_dict_for_file(model)), str(path), metadata={"videoxai": json.dumps(meta)})
    loaded, spec = load_c3d(path)
    assert spec.class_names == ("left", "right") and spec.mean == (1.0, 2.0, 3.0)
    assert torch.equal(loaded.conv1.weight, model.conv1.weight)


def test_wrong_shapes_and_keys_are_all_listed(tmp_path):
    state = dict(state_dict_for_file(quarter(num_classes=5)))
    state["conv2.weight"] = torch.zeros(32, 16, 3, 3, 1)
    del state["conv3a.bias"]
    state["fc9.weight"] = torch.zeros(2, 2)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(VideoXAIError) as caught:
        load_c3d(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "missing keys: conv3a.bias" in message
    assert "unexpected keys: fc9.weight" in message
    assert "conv2.weight: file (32, 16, 3, 3, 1) vs model (32, 16, 3, 3, 3)" in message
    # a full-width file forced into a quarter-width model: every layer is listed
    full = tmp_path / "full.safetensors"
    save_figure(state_dict_for_file(C3D(num_classes=4, width=0.5)), full)
    with pytest.raises(VideoXAIError) as caught:
        load_c3d(full, width=0.25)
    assert "conv1.weight: file (32, 3, 3, 3, 3) vs model (16, 3, 3, 3, 3)" in str(caught.value)
    assert "fc6.weight: file (2048, 4096) vs model (1024, 2048)" in str(caught.value)
    assert str(caught.value).count(" vs model ") == 21  # every parameter but fc8.bias


def test_not_a_c3d_file_names_its_keys(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"layer1.weight": torch.zeros(1), "fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(VideoXAIError, match="not a C3D checkpoint.*fc.weight, layer1.weight"):
        load_c3d(path)


class _Payload:
    """Unpickling this would run a shell command that creates a marker file."""

    marker = ""

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("suffix,protocol", [(".pickle", 2), (".pickle", 4), (".pth", None)])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, suffix, protocol):
    marker = tmp_path / "executed"
    _Payload.marker = str(marker)
    path = tmp_path / f"c3d{suffix}"
    payload = {"conv1.weight": _Payload(), "fc8.weight": torch.zeros(2, 2)}
    if protocol is None:
        torch.save(payload, path)
    else:
        with open(path, "wb") as handle:
            pickle.dump(payload, handle, protocol=protocol)
    with pytest.raises(VideoXAIError, match="refused.*nothing in it was executed") as caught:
        load_c3d(path)
    assert "weights_only` set to `False`" not in str(caught.value)  # never advise the unsafe load
    assert not marker.exists()


def test_missing_empty_and_corrupt_weight_files(tmp_path):
    with pytest.raises(VideoXAIError, match="weight file not found"):
        load_c3d(tmp_path / "nope.pth")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(VideoXAIError, match="weight file is empty"):
        load_c3d(tmp_path / "empty.safetensors")
    good = tmp_path / "good.safetensors"
    save_figure(state_dict_for_file(quarter()), good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(VideoXAIError, match="cannot read weights"):
        load_c3d(truncated)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(VideoXAIError, match=str(garbage)):
        load_c3d(garbage)


def test_unknown_option_and_bad_mean():
    with pytest.raises(VideoXAIError, match="unknown option.*fold_batchnorm"):
        load_c3d(random_init=True, fold_batchnorm=True)
    with pytest.raises(VideoXAIError, match="mean must be 3 channel means"):
        load_c3d(random_init=True, width=0.25, mean=[0.5, 0.5])
