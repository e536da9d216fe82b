"""``videoxai boxes-from-pyannot PYANNOT.pkl OUT.csv``.

Converts UCF101-24's ``pyannot.pkl`` (the corrected person boxes of Singh et al.) to the box CSV
of the pointing game (``faithfulness.annotations``), reading the pickle with an unpickler that
allows only builtin containers and NumPy arrays and scalars.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="convert UCF101-24's pyannot.pkl to the pointing game's box CSV",
        description=(
            "Read UCF101-24's pyannot.pkl (per video 'annotations': tubes with 'sf', 'ef' and 'boxes' as "
            "x, y, width, height per frame) with a NumPy-only unpickler, which refuses any other Python "
            "object, and write one row per box: video,frame,x1,y1,x2,y2 (video = file stem, frame 0-based, "
            "x2 = x + width, y2 = y + height), the CSV that faithfulness.annotations takes."
        ),
    )
    parser.add_argument("pickle", metavar="PYANNOT.pkl", help="the annotation pickle")
    parser.add_argument("output", metavar="OUT.csv", help="the box CSV to write")
    return parser


def run(args: argparse.Namespace) -> int:
    from videoxai.data.ucf24 import convert_pyannot  # imported when the command runs: `videoxai --help` stays fast

    count = convert_pyannot(args.pickle, args.output)
    print(f"wrote {count} boxes to {args.output}")
    return 0
