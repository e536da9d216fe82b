"""``--model-option`` / ``--method-option KEY=VALUE``: VALUE is read as YAML, lists included."""

import math

import pytest
from test_overlay_cli import synthetic_video, tiny_model  # noqa: F401  (fixtures)

from videoxai.cli import explain as explain_command
from videoxai.cli import main
from videoxai.cli.common import parse_option
from videoxai.core.errors import VideoXAIError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("layers=[Mixed_5c, Mixed_4f]", ("layers", ["Mixed_5c", "Mixed_4f"])),
        ("depths=[1, 13]", ("depths", [1, 13])),
        ("iterations=10", ("iterations", 10)),
        ("theta=0.5", ("theta", 0.5)),
        ("flag=true", ("flag", True)),
        ("random_init=False", ("random_init", False)),
        ("layer=Mixed_5c", ("layer", "Mixed_5c")),
        ("layer=3", ("layer", 3)),  # a Sequential's child, as before
        ("layer=null", ("layer", None)),
        ("learning_rate=1e-3", ("learning_rate", 0.001)),  # YAML 1.1 alone would leave this text
        ("scale=1.0e2", ("scale", 100.0)),
        ("grid=[7, 7]", ("grid", [7, 7])),
        ("factory_kwargs={depth: 2, width: 0.5}", ("factory_kwargs", {"depth": 2, "width": 0.5})),
        ("name=a=b", ("name", "a=b")),  # only the first = separates
    ],
)
def test_values_are_read_as_yaml(text, expected):
    assert parse_option(text) == expected


def test_nan_stays_text_unless_written_as_yaml():
    assert parse_option("label=nan") == ("label", "nan")
    assert math.isnan(parse_option("threshold=.nan")[1])


@pytest.mark.parametrize("text", ["layers", "=3", ""])
def test_an_option_without_key_and_value_is_refused(text):
    with pytest.raises(VideoXAIError, match="options must look like KEY=VALUE"):
        parse_option(text)


def test_an_unreadable_value_names_the_option():
    with pytest.raises(VideoXAIError, match=r"^option layers: '\[Mixed_5c, Mixed_4f' is not a YAML value"):
        parse_option("layers=[Mixed_5c, Mixed_4f")


def test_a_list_reaches_the_explainer(synthetic_video, tiny_model, tmp_path, capsys, monkeypatch):  # noqa: F811
    received = {}

    def recording_get_explainer(method, model, spec=None, **options):
        received.update(method=method, **options)
        raise VideoXAIError("stopped by the test after the options arrived")

    monkeypatch.setattr(explain_command, "get_explainer", recording_get_explainer)
    code = main(
        [
            "explain",
            str(synthetic_video),
            "--model",
            "tiny",
            "--model-option",
            "width=0.25",
            "--method",
            "cfp",
            "--method-option",
            "layers=[conv3, stem]",
            "--method-option",
            "depth=1",
            "--out",
            str(tmp_path / "explained.mp4"),
        ]
    )
    assert code != 0 and "stopped by the test" in capsys.readouterr().err
    assert received == {"method": "cfp", "layers": ["conv3", "stem"], "depth": 1}
