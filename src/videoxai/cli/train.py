"""``videoxai train``: fine-tune or train C3D on a UCF-101 split with the paper's recipe."""

from __future__ import annotations

import argparse
import json
import sys

from videoxai.core.errors import VideoXAIError


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _mean(text: str) -> tuple[float, float, float]:
    parts = [part for part in text.replace(",", " ").split() if part]
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"give three RGB means such as '102,98,90', got {text!r}")
    return tuple(float(part) for part in parts)  # type: ignore[return-value]


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="train C3D on a UCF-101 split (Hiley et al. 2020 recipe)",
        description=(
            "Train C3D on UCF-101 split files: SGD lr 1e-3, momentum 0.9, batch 32, lr x0.1 after "
            "10 epochs without improvement, random 16x112x112 clips, zero-centred with the training "
            "set's channel means. Writes checkpoint.pth, log.csv, model.safetensors (+ model.json) "
            "and metrics.json to --out; --resume continues an interrupted run exactly."
        ),
    )
    parser.add_argument("--root", required=True, help="folder of UCF-101 class folders with the videos")
    parser.add_argument("--splits", required=True, help="folder with classInd.txt, trainlist0N.txt, testlist0N.txt")
    parser.add_argument("--split", type=int, default=1, choices=(1, 2, 3))
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--width", type=float, default=1.0, help="channel width multiplier (0.25 for quick tests)")
    parser.add_argument("--iterations", type=_positive_int, default=60_000, help="SGD steps (paper: 60000)")
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--checkpoint-every", type=_positive_int, default=1000, metavar="K")
    parser.add_argument(
        "--init", default=None, help="C3D weights to start from (e.g. the Sports-1M port); fc8 is replaced"
    )
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pth if it exists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mean", type=_mean, default=None, help="RGB means 'R,G,B' (default: computed on the training videos)"
    )
    parser.add_argument("--test-max-clips", type=_positive_int, default=None, help="clips per test video (default all)")
    parser.add_argument("--cache-gb", type=float, default=4.0, help="memory for decoded frames")
    parser.add_argument(
        "--missing",
        choices=("skip", "error"),
        default="skip",
        help="listed videos absent from --root: leave out (default) or fail",
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default cpu)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    from videoxai.models.training import TrainConfig, train_from_split  # when the command runs: no torch for --help

    if not args.width > 0:
        raise VideoXAIError(f"--width must be positive, got {args.width}")
    config = TrainConfig(
        width=args.width,
        iterations=args.iterations,
        batch_size=args.batch_size,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        mean=args.mean,
        test_max_clips=args.test_max_clips,
        cache_bytes=int(args.cache_gb * (1 << 30)),
        device=args.device,
    )
    metrics = train_from_split(
        root=args.root,
        split_dir=args.splits,
        split=args.split,
        out_dir=args.out,
        config=config,
        init=args.init,
        resume=args.resume,
        progress=not args.no_progress,
        missing=args.missing,
    )
    summary = {
        key: metrics[key] for key in ("test_video_accuracy", "test_clip_accuracy", "iterations", "final_train_loss")
    }
    print(json.dumps(summary), file=sys.stdout)
    return 0
