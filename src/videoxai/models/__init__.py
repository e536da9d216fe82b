"""One way to get a video classifier: ``load(name, weights=None, device=...)``.

Shipped names are listed in :data:`MODELS`. Any importable factory works too::

    model, spec = load("mypackage.nets:build_net", weights="net.safetensors", spec=my_spec)

torchvision's video networks come by name with their input contract built in
(:mod:`videoxai.models.torchvision_video`)::

    model, spec = load("torchvision:r2plus1d_18", weights="finetuned.pth", num_classes=10)

The factory is called with no arguments (or with ``factory_kwargs``) and must return an
``nn.Module``; ``weights`` (``.safetensors``, or a ``.pt``/``.pth`` holding only tensors) is
loaded into it strictly, and ``spec`` describes its input.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from videoxai.core.errors import ConfigurationError, VideoXAIError
from videoxai.core.model_inputs import NAMES as TORCHVISION_NAMES
from videoxai.core.model_inputs import PREFIX as TORCHVISION_PREFIX
from videoxai.core.model_inputs import input_geometry
from videoxai.models.spec import ModelSpec, spec_overrides
from videoxai.models.torchvision_video import load_torchvision_video
from videoxai.models.weights import load_state_dict_file, load_strict

# name -> "module:function"; the function takes (weights, **options) and returns (model, spec).
MODELS: dict[str, str] = {
    "i3d_kinetics400": "videoxai.models.i3d:load_i3d_kinetics400",
    "c3d": "videoxai.models.c3d:load_c3d",
}


def _import_callable(path: str) -> Callable[..., Any]:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise VideoXAIError(
            f"unknown model {path!r}: use one of {sorted(MODELS) + list(TORCHVISION_NAMES)} or 'package.module:factory'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise VideoXAIError(f"cannot import module {module_name!r} for model {path!r}: {error}") from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise VideoXAIError(f"module {module_name!r} has no attribute {attribute!r}") from None


def load(
    name: str,
    weights: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    spec: ModelSpec | dict | None = None,
    **options: Any,
) -> tuple[nn.Module, ModelSpec]:
    """Build a model in eval mode on ``device`` and return it with its :class:`ModelSpec`.

    Args:
        name: a key of :data:`MODELS`, ``"torchvision:<network>"`` (``r3d_18``, ``mc3_18``,
            ``r2plus1d_18``, ``s3d``) or ``"package.module:factory"``.
        weights: path to a weight file; shipped models fall back to their default weights.
        device: torch device for the model.
        spec: required for a user factory. For a shipped model a :class:`ModelSpec` replaces its
            spec, and a mapping (a config's ``model.spec``) overrides its fields one by one.
        options: passed to the shipped loader (e.g. ``num_classes`` for C3D,
            ``fold_batchnorm`` for I3D; ``num_classes``, ``class_names`` (a file) and
            ``num_frames`` for torchvision networks) or, for a user factory, ``factory_kwargs``.
    """
    if name in MODELS:
        loader = _import_callable(MODELS[name])
        model, model_spec = loader(weights=weights, **options)
        if isinstance(spec, dict):
            model_spec = replace(model_spec, **spec_overrides(spec))
        elif spec is not None:
            model_spec = spec
    elif name.startswith(TORCHVISION_PREFIX):
        unknown = sorted(set(options) - {"num_classes", "class_names", "num_frames"})
        if unknown:
            raise VideoXAIError(f"model {name!r} takes the options num_classes, class_names, num_frames; got {unknown}")
        model, model_spec = load_torchvision_video(name, weights=weights, **options)
        if isinstance(spec, dict):
            model_spec = replace(model_spec, **spec_overrides(spec))
        elif spec is not None:
            model_spec = spec
    elif ":" in name:
        factory = _import_callable(name)
        if isinstance(spec, dict):
            spec = ModelSpec(name=name, **{"num_frames": 16, "class_names": (), **spec_overrides(spec)})
        if spec is None:
            raise VideoXAIError(
                f"model {name!r} is a user factory: pass spec=ModelSpec(...) describing its input "
                "(on the command line: --spec FILE; in a study config: model.spec)"
            )
        model = factory(**options.get("factory_kwargs", {}))
        if not isinstance(model, nn.Module):
            raise VideoXAIError(f"factory {name!r} returned {type(model).__name__}, not a torch.nn.Module")
        if weights is not None:
            state, sha256 = load_state_dict_file(weights)
            load_strict(model, state, weights)
            spec = spec.with_weights(sha256)
        model_spec = spec
    else:
        raise VideoXAIError(
            f"unknown model {name!r}: use one of {sorted(MODELS) + list(TORCHVISION_NAMES)} or 'package.module:factory'"
        )
    model = model.to(device).eval()
    return model, model_spec


def load_configured(settings: dict, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelSpec]:
    """:func:`load` from a study config's ``model`` section (``name``, ``weights``, ``options``,
    ``spec``): the one way every workflow stage and the preflight get their model.

    Raises:
        ConfigurationError: the model cannot be built or its weights do not fit; this is a
            problem of the study's settings, not of a video.
    """
    try:
        return load(
            settings["name"],
            weights=settings.get("weights"),
            device=device,
            spec=settings.get("spec") or None,
            **(settings.get("options") or {}),
        )
    except ConfigurationError:
        raise
    except VideoXAIError as error:
        raise ConfigurationError(str(error), "model") from error


__all__ = ["MODELS", "TORCHVISION_NAMES", "ModelSpec", "input_geometry", "load", "load_configured"]
