"""Every explanation method behind one captum-style verb.

::

    from videoxai.explain import METHODS, get_explainer
    explainer = get_explainer("dtd", model, spec=spec)
    result = explainer.attribute(inputs, target=None)  # inputs float32 (N, 3, T, H, W)
    result.relevance  # float32 (N, T, H, W), summed over colour channels, sign kept
    result.logits     # float32 (N, K);  result.target  # int64 (N,)

The methods and their options are declared once, in :mod:`videoxai.core.methods`. Options of the
paper's four: ``dtd``: ``low=``, ``high=`` (default ``spec.value_range``), ``stabilizer=``;
``gradcam``/``guided_gradcam``: ``layer=`` (default ``model.cam_layer``), ``autocast=``;
``guided_backprop``: ``autocast=`` (``None``, ``"bf16"`` or ``"tf32"``).
"""

from __future__ import annotations

import importlib

from torch import nn

from videoxai.core.errors import ConfigurationError
from videoxai.core.methods import ALL_METHODS, EXTRA_METHODS, FLOW_METHODS, METHODS, REGISTRY, method_info
from videoxai.explain.base import AUTOCAST_MODES, Explainer, Explanation, resolve_layer
from videoxai.explain.dtd import DTD
from videoxai.explain.gradcam import GradCAM, grad_cam_map
from videoxai.explain.guided_backprop import GuidedBackprop
from videoxai.explain.guided_gradcam import GuidedGradCAM


def explainer_class(name: str) -> type[Explainer]:
    """The :class:`Explainer` subclass declared for method ``name``."""
    module_name, _, class_name = method_info(name).explainer.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def get_explainer(name: str, model: nn.Module, spec=None, **options) -> Explainer:
    """An explainer for ``model`` by method name (one of :data:`ALL_METHODS`).

    Raises :class:`~videoxai.core.errors.ConfigurationError` for an unknown name or an option the
    method does not take, and :class:`~videoxai.core.errors.VideoXAIError` when the method cannot
    explain this model (with the reason).
    """
    info = method_info(name)
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise ConfigurationError(f"method {name!r} does not take option(s) {unknown}: it takes {list(info.options)}")
    return explainer_class(name)(model, spec=spec, **options)


__all__ = [
    "ALL_METHODS",
    "AUTOCAST_MODES",
    "DTD",
    "EXTRA_METHODS",
    "FLOW_METHODS",
    "METHODS",
    "REGISTRY",
    "Explainer",
    "Explanation",
    "GradCAM",
    "GuidedBackprop",
    "GuidedGradCAM",
    "explainer_class",
    "get_explainer",
    "grad_cam_map",
    "resolve_layer",
]
