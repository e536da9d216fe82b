"""The paper's four explanation methods behind one captum-style verb.

::

    from videoxai.explain import METHODS, get_explainer
    explainer = get_explainer("dtd", model, spec=spec)
    result = explainer.attribute(inputs, target=None)  # inputs float32 (N, 3, T, H, W)
    result.relevance  # float32 (N, T, H, W), summed over colour channels, sign kept
    result.logits     # float32 (N, K);  result.target  # int64 (N,)

Options: ``dtd``: ``low=``, ``high=`` (default ``spec.value_range``), ``stabilizer=``;
``gradcam``/``guided_gradcam``: ``layer=`` (default ``model.cam_layer``), ``autocast=``;
``guided_backprop``: ``autocast=`` (``None``, ``"bf16"`` or ``"tf32"``).
"""

from __future__ import annotations

from torch import nn

from videoxai.errors import VideoXAIError
from videoxai.explain.base import AUTOCAST_MODES, Explainer, Explanation, resolve_layer
from videoxai.explain.dtd import DTD
from videoxai.explain.extra import EXTRA_METHODS, FLOW_METHODS
from videoxai.explain.gradcam import GradCAM, grad_cam_map
from videoxai.explain.guided_backprop import GuidedBackprop
from videoxai.explain.guided_gradcam import GuidedGradCAM

METHODS = ("dtd", "gradcam", "guided_backprop", "guided_gradcam")

_CLASSES: dict[str, type[Explainer]] = {
    "dtd": DTD,
    "gradcam": GradCAM,
    "guided_backprop": GuidedBackprop,
    "guided_gradcam": GuidedGradCAM,
}
# issue 4: other published methods (docs/methods_extra.md), registered alongside the paper's four
_CLASSES.update(EXTRA_METHODS)
ALL_METHODS = METHODS + tuple(EXTRA_METHODS)


def get_explainer(name: str, model: nn.Module, spec=None, **options) -> Explainer:
    """An explainer for ``model`` by method name (one of :data:`ALL_METHODS`).

    Raises :class:`VideoXAIError` for an unknown name or an option the method does not take.
    """
    if name not in _CLASSES:
        raise VideoXAIError(f"unknown explanation method {name!r}: use one of {list(ALL_METHODS)}")
    explainer_class = _CLASSES[name]
    unknown = sorted(set(options) - set(explainer_class.OPTIONS))
    if unknown:
        raise VideoXAIError(
            f"method {name!r} does not take option(s) {unknown}: it takes {list(explainer_class.OPTIONS)}"
        )
    return explainer_class(model, spec=spec, **options)


__all__ = [
    "ALL_METHODS",
    "FLOW_METHODS",
    "AUTOCAST_MODES",
    "DTD",
    "METHODS",
    "Explainer",
    "Explanation",
    "GradCAM",
    "GuidedBackprop",
    "GuidedGradCAM",
    "get_explainer",
    "grad_cam_map",
    "resolve_layer",
]
