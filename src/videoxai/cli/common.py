"""What several sub-commands share: choosing and loading the model, KEY=VALUE options."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import yaml

from videoxai.core.errors import VideoXAIError

# Numbers in exponent notation that YAML 1.1 reads as text (1e-3 has no dot, 1.0e3 no sign).
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def parse_option(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE read as one YAML value, as it would be written in the config's
    ``explain.options``: ``iterations=10`` an int, ``theta=0.5`` a float, ``flag=true`` a bool,
    ``layer=Mixed_5c`` a string, ``layers=[Mixed_5c, Mixed_4f]`` a list, ``layer=null`` None.

    Numbers in exponent notation YAML 1.1 leaves as text (``1e-3``, ``1.0e3``) are read as floats.
    """
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise VideoXAIError(f"options must look like KEY=VALUE, got {text!r}")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or type(error).__name__
        raise VideoXAIError(f"option {key}: {value!r} is not a YAML value ({problem})") from None
    if isinstance(parsed, str) and _EXPONENT_NUMBER.fullmatch(parsed):
        return key, float(parsed)
    return key, parsed


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--weights``, ``--model-option`` and ``--spec`` (see :func:`load_model`)."""
    parser.add_argument(
        "--model",
        default="i3d_kinetics400",
        help="i3d_kinetics400, c3d, torchvision:r3d_18, torchvision:mc3_18, torchvision:r2plus1d_18, "
        "torchvision:s3d, or package.module:factory for your own network (default: %(default)s)",
    )
    parser.add_argument("--weights", metavar="FILE", help="weight file (default: the model's own)")
    parser.add_argument(
        "--model-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option for the model loader, repeatable; VALUE is read as YAML (e.g. random_init=true width=0.25 "
        "for C3D, 'factory_kwargs={depth: 2}' for a factory)",
    )
    parser.add_argument(
        "--spec",
        metavar="FILE",
        help="a JSON or YAML file with the input contract (keys of the config's model.spec: num_frames, size, "
        "resize_short_side or resize_hw, scale, offset, mean, std, num_classes or class_names); required for "
        "your own factory, overrides single keys of a shipped model's",
    )


def read_spec_file(path: str | Path) -> dict:
    """The mapping in a JSON or YAML spec file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise VideoXAIError(f"cannot read the spec file ({error.strerror})", path) from None
    if path.suffix.lower() == ".json":
        fields = json.loads(text)
    else:
        fields = yaml.safe_load(text)
    if not isinstance(fields, dict):
        raise VideoXAIError("a spec file must hold a mapping of ModelSpec fields", path)
    return fields


def load_model(args: argparse.Namespace):
    """``(model, spec)`` from the arguments of :func:`add_model_arguments` and ``--device``."""
    from videoxai import models  # imported when a command runs: `videoxai --help` needs no torch

    options = dict(parse_option(text) for text in getattr(args, "model_option", []))
    spec = read_spec_file(args.spec) if getattr(args, "spec", None) else None
    return models.load(args.model, weights=args.weights, device=args.device, spec=spec, **options)
