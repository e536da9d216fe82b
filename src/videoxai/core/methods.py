"""Every explanation method, declared once: name, label, options, needs, and what it refuses.

This module imports nothing heavy (no torch), so the workflow can check a configuration's
method names and options when it builds its DAG, before any job runs. Everything that lists
methods derives from :data:`REGISTRY`: ``videoxai.explain.METHODS`` / ``ALL_METHODS`` /
``FLOW_METHODS``, the table labels and order, the CLI choices and the config schema's list
(a test checks the schema against it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from videoxai.core.errors import ConfigurationError


@dataclass(frozen=True)
class MethodInfo:
    """One explanation method.

    Attributes:
        name: the name used in configs, the CLI and the tables' ``method`` column.
        label: display name in tables and figures (as in the papers).
        explainer: ``"module:Class"`` of its :class:`~videoxai.explain.base.Explainer`.
        options: keyword options its explainer takes (``get_explainer(name, model, **options)``).
        paper: one of the four methods of Hiley et al. (2020).
        needs_flow: ``attribute`` also takes the clip's optical flow ``(N, T, H, W, 2)``.
        refuses: shipped model name -> why the method cannot explain that architecture.
        probe: the method can only tell from a forward pass whether it fits an architecture, and
            that pass is cheap: the preflight runs it once on a blank clip.
        cost: one line on what a clip costs, for docs and ``--help``.
    """

    name: str
    label: str
    explainer: str
    options: tuple[str, ...]
    paper: bool = False
    needs_flow: bool = False
    refuses: dict[str, str] = field(default_factory=dict)
    probe: bool = False
    cost: str = ""


_OCCLUSION_OPTIONS = ("size", "stride", "temporal_size", "temporal_stride", "baseline", "batch_size")
_EXTREMAL_OPTIONS = ("area", "iterations", "mask_stride", "perturbation", "blur_sigma", "learning_rate", "area_weight")
_SALIENCY_TUBES_C3D = (
    "Saliency Tubes needs a classifier right after global pooling of the last convolutional block; "
    "C3D's fc8 follows fc6/fc7, which mix positions and channels (use gradcam)"
)

# Order matters: it is the order of the tables' rows and the CLI's choices.
_DECLARED = (
    MethodInfo(
        "dtd",
        "DTD",
        "videoxai.explain.dtd:DTD",
        ("low", "high", "stabilizer", "bias", "implementation"),
        paper=True,
        cost="one forward and one modified backward pass",
    ),
    MethodInfo(
        "gradcam",
        "Grad-CAM",
        "videoxai.explain.gradcam:GradCAM",
        ("layer", "autocast"),
        paper=True,
        cost="one forward and one backward pass",
    ),
    MethodInfo(
        "guided_backprop",
        "Guided BP",
        "videoxai.explain.guided_backprop:GuidedBackprop",
        ("autocast",),
        paper=True,
        cost="one forward and one modified backward pass",
    ),
    MethodInfo(
        "guided_gradcam",
        "Guided Grad-CAM",
        "videoxai.explain.guided_gradcam:GuidedGradCAM",
        ("layer", "autocast"),
        paper=True,
        cost="Guided BP and Grad-CAM",
    ),
    MethodInfo(
        "saliency_tubes",
        "Saliency Tubes",
        "videoxai.explain.saliency_tubes:SaliencyTubes",
        ("layer", "classifier"),
        refuses={"c3d": _SALIENCY_TUBES_C3D},
        probe=True,
        cost="one forward pass, no gradient",
    ),
    MethodInfo(
        "cfp",
        "CFP",
        "videoxai.explain.cfp:ClassFeaturePyramid",
        ("layers", "depth", "theta", "classifier"),
        probe=True,
        cost="one forward pass (and one backward for C3D's class weights)",
    ),
    MethodInfo(
        "occlusion",
        "Occlusion",
        "videoxai.explain.occlusion:Occlusion",
        _OCCLUSION_OPTIONS,
        cost="one forward pass per occluded cuboid",
    ),
    MethodInfo(
        "flow_occlusion",
        "Flow occlusion",
        "videoxai.explain.occlusion:FlowOcclusion",
        (*_OCCLUSION_OPTIONS, "merge"),
        needs_flow=True,
        cost="one forward pass per flow-following mask",
    ),
    MethodInfo(
        "flow_occlusion_approx",
        "Flow occlusion (1st order)",
        "videoxai.explain.occlusion:FlowOcclusionApprox",
        (*_OCCLUSION_OPTIONS, "merge"),
        needs_flow=True,
        cost="one forward and one backward pass",
    ),
    MethodInfo(
        "extremal_perturbation",
        "Extremal perturbation",
        "videoxai.explain.extremal:ExtremalPerturbation",
        _EXTREMAL_OPTIONS,
        cost="forward and backward per optimisation step",
    ),
    MethodInfo(
        "fep",
        "FEP",
        "videoxai.explain.extremal:FrequencyExtremalPerturbation",
        (*_EXTREMAL_OPTIONS, "cutoff", "attenuation"),
        cost="forward and backward per optimisation step",
    ),
)

REGISTRY: dict[str, MethodInfo] = {info.name: info for info in _DECLARED}

METHODS: tuple[str, ...] = tuple(info.name for info in _DECLARED if info.paper)
ALL_METHODS: tuple[str, ...] = tuple(REGISTRY)
EXTRA_METHODS: tuple[str, ...] = tuple(info.name for info in _DECLARED if not info.paper)
FLOW_METHODS: tuple[str, ...] = tuple(info.name for info in _DECLARED if info.needs_flow)


def method_info(name: str) -> MethodInfo:
    """The declaration of method ``name``; a clear error for an unknown name."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigurationError(f"unknown explanation method {name!r}: use one of {list(ALL_METHODS)}") from None


def check_methods(methods, options: dict | None = None, model_name: str | None = None, where: str = "explain") -> None:
    """Check method names, their options and known refusals without building anything.

    Args:
        methods: method names (config ``explain.methods``).
        options: method name -> {option: value} (config ``explain.options``).
        model_name: the configured model; a shipped model a method refuses is an error here.
        where: the config section the keys live in, for the messages.
    Raises:
        ConfigurationError: naming the bad key (``explain.options.gradcam.layr``) and why.
    """
    methods = list(methods)
    for name in methods:
        if name not in REGISTRY:
            raise ConfigurationError(
                f"unknown explanation method {name!r}: use one of {list(ALL_METHODS)}", f"{where}.methods"
            )
    for name, given in (options or {}).items():
        if name not in REGISTRY:
            raise ConfigurationError(
                f"options for an unknown method {name!r}: use one of {list(ALL_METHODS)}", f"{where}.options.{name}"
            )
        if not isinstance(given, dict):
            raise ConfigurationError(
                f"must be a mapping of option names to values, got {given!r}", f"{where}.options.{name}"
            )
        unknown = sorted(set(given) - set(REGISTRY[name].options))
        if unknown:
            raise ConfigurationError(
                f"method {name!r} does not take option {unknown[0]!r}: it takes {list(REGISTRY[name].options)}",
                f"{where}.options.{name}.{unknown[0]}",
            )
    for name in methods:
        reason = REGISTRY[name].refuses.get(model_name or "")
        if reason:
            raise ConfigurationError(
                f"method {name!r} cannot explain model {model_name!r}: {reason}", f"{where}.methods"
            )


def method_label(method: str) -> str:
    """Display name as in the papers ("Grad-CAM"); the random and centre references, unknown names as they are."""
    if method == "random":
        return "Random"
    if method == "centre":
        return "Centre"
    return REGISTRY[method].label if method in REGISTRY else method
