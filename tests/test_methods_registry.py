"""The method registry is the one declaration every list of methods derives from."""

import inspect
from pathlib import Path

import pytest
import yaml

from videoxai.cli import build_parser
from videoxai.core.errors import ConfigurationError
from videoxai.core.methods import REGISTRY, check_methods, method_label
from videoxai.evaluation.metrics import ordered_methods
from videoxai.explain import ALL_METHODS, FLOW_METHODS, METHODS, explainer_class, get_explainer

REPO = Path(__file__).resolve().parents[1]


def test_schema_lists_exactly_the_registered_methods_in_order():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    assert schema["properties"]["explain"]["properties"]["methods"]["items"]["enum"] == list(ALL_METHODS)


def test_derived_lists():
    assert METHODS == ("dtd", "gradcam", "guided_backprop", "guided_gradcam")
    assert ALL_METHODS[:4] == METHODS and len(ALL_METHODS) == len(REGISTRY) == 11
    assert FLOW_METHODS == ("flow_occlusion", "flow_occlusion_approx")
    assert ordered_methods(["random", "fep", "zzz", "gradcam", "dtd"]) == ["dtd", "gradcam", "fep", "zzz", "random"]
    assert method_label("guided_backprop") == "Guided BP" and method_label("random") == "Random"
    assert method_label("not_a_method") == "not_a_method"


def test_cli_choices_come_from_the_registry():
    parser = build_parser()
    explain = parser._subparsers._group_actions[0].choices["explain"]
    method_action = next(action for action in explain._actions if action.dest == "method")
    assert tuple(method_action.choices) == ALL_METHODS


def _keyword_parameters(cls) -> set[str]:
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind is parameter.KEYWORD_ONLY or parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
                names.add(parameter.name)
    return names - {"self", "model", "spec"}


@pytest.mark.parametrize("name", ALL_METHODS)
def test_declared_options_are_taken_by_the_explainer(name):
    cls = explainer_class(name)
    assert cls.name == name
    # extremal_perturbation's class also takes FEP's low-pass settings, which it ignores: not declared
    assert set(REGISTRY[name].options) <= _keyword_parameters(cls)
    assert set(REGISTRY[name].options) | (
        {"cutoff", "attenuation"} if name == "extremal_perturbation" else set()
    ) == _keyword_parameters(cls)
    assert REGISTRY[name].needs_flow == (name in FLOW_METHODS)


def test_check_methods_names_the_bad_key():
    check_methods(["dtd", "fep"], {"fep": {"iterations": 3}, "gradcam": {"layer": "x"}}, model_name="c3d")
    with pytest.raises(ConfigurationError, match=r"explain\.options\.gradcam\.layr: .*does not take option 'layr'"):
        check_methods(["gradcam"], {"gradcam": {"layr": "conv5b"}})
    with pytest.raises(ConfigurationError, match=r"explain\.options\.gradcma: options for an unknown method"):
        check_methods(["gradcam"], {"gradcma": {"layer": "conv5b"}})
    with pytest.raises(ConfigurationError, match=r"explain\.methods: .*'saliency_tubes' cannot explain model 'c3d'"):
        check_methods(["gradcam", "saliency_tubes"], {}, model_name="c3d")
    with pytest.raises(ConfigurationError, match=r"explain\.methods: unknown explanation method 'lrp'"):
        check_methods(["lrp"])


def test_get_explainer_refuses_an_undeclared_option():
    from torch import nn

    with pytest.raises(ConfigurationError, match="does not take option"):
        get_explainer("gradcam", nn.Conv3d(3, 1, 1), stride=2)
