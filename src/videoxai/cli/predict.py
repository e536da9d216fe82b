"""``videoxai predict VIDEO... --model i3d_kinetics400 [--frames 64] [--top 5]``.

Prints the top-k classes of one clip per video: ``--frames`` frames sampled evenly over the
whole video, resized and centre-cropped as the model's :class:`ModelSpec` says.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from torch import nn

from videoxai.cli.common import add_model_arguments, load_model
from videoxai.core.errors import VideoXAIError
from videoxai.data.video import decode_clips
from videoxai.models.spec import ModelSpec


@torch.inference_mode()  # logits only: no autograd bookkeeping at all
def predict_probabilities(model: nn.Module, spec: ModelSpec, clips: np.ndarray) -> torch.Tensor:
    """Softmax over the logits: uint8 ``(N, T, H, W, 3)`` or ``(T, H, W, 3)`` -> float32 ``(N, classes)``."""
    device = next(model.parameters()).device
    logits = model(spec.preprocess(clips, device=device))
    return logits.float().softmax(dim=-1).cpu()


def top_k(probabilities: torch.Tensor, class_names: tuple[str, ...], k: int) -> list[tuple[str, float]]:
    """``(classes,)`` probabilities -> the ``k`` most probable ``(name, probability)``, best first."""
    values, indices = probabilities.topk(min(k, probabilities.numel()))
    return [(class_names[int(i)], float(v)) for v, i in zip(values, indices)]


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="classify videos with a pretrained model and print the top-k classes",
        description="Classify each video from one clip sampled evenly over the whole video.",
    )
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="video files")
    add_model_arguments(parser)
    parser.add_argument(
        "--frames", type=int, default=None, help="frames per clip (default: the model's native clip length)"
    )
    parser.add_argument("--top", type=int, default=5, help="how many classes to print (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise VideoXAIError(f"--top must be at least 1, got {args.top}")
    model, spec = load_model(args)
    frames = spec.num_frames if args.frames is None else args.frames
    if frames < 1:
        raise VideoXAIError(f"--frames must be at least 1, got {frames}")
    failures = 0
    for path in args.videos:
        try:
            decoded = decode_clips(path, spec, clip_length=frames, sampling="spread")
            probabilities = predict_probabilities(model, spec, decoded.clips)[0]
        except VideoXAIError as error:
            print(f"videoxai: error: {error}", file=sys.stderr)
            failures += 1
            continue
        print(f"{path}  ({frames} of {decoded.num_frames} frames, {spec.size}x{spec.size}, {spec.name})")
        print(f"  {'rank':>4}  {'p':>6}  class")
        for rank, (name, probability) in enumerate(top_k(probabilities, spec.class_names, args.top), start=1):
            print(f"  {rank:>4}  {probability:6.3f}  {name}")
        sys.stdout.flush()
    return 1 if failures else 0
