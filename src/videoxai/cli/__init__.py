"""``videoxai`` command line. Each sub-command lives in its own module with ``add_parser``/``run``."""

from __future__ import annotations

import argparse
import importlib
import sys

from videoxai import __version__
from videoxai.core.errors import VideoXAIError

# sub-command name -> module in videoxai.cli providing add_parser(subparsers) and run(args)
COMMANDS = {
    "fetch-weights": "videoxai.cli.fetch_weights",
    "predict": "videoxai.cli.predict",
    "train": "videoxai.cli.train",
    "explain": "videoxai.cli.explain",
    "live": "videoxai.cli.live",
    "boxes-from-pyannot": "videoxai.cli.boxes_from_pyannot",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videoxai",
        description="Explain what 3D-CNN action-recognition models look at, and how much of it is motion.",
    )
    parser.add_argument("--version", action="version", version=f"videoxai {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue  # sub-command not written yet
            raise
        sub = module.add_parser(subparsers, name)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except VideoXAIError as error:
        print(f"videoxai: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("videoxai: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
