"""``videoxai explain VIDEO --model NAME --method NAME --n 4 --out FILE.mp4|.gif``.

Explains clips of consecutive frames (the paper's sampling) and writes one video with the
relevance over the frames: the method's map on the left, its selective map on the right.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from videoxai.errors import VideoXAIError
from videoxai.explain import ALL_METHODS, FLOW_METHODS, get_explainer
from videoxai.flow import farneback
from videoxai.overlay import enlarge, overlay_relevance, side_by_side, write_video
from videoxai.selective import PADDINGS, selective_relevance
from videoxai.video import center_crop, clip_indices, frame_transform_for, read_video


def parse_option(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE read as bool, int, float or left a string."""
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise VideoXAIError(f"--model-option must look like KEY=VALUE, got {text!r}")
    lowered = value.lower()
    if lowered in ("true", "false"):
        return key, lowered == "true"
    for cast in (int, float):
        try:
            return key, cast(value)
        except ValueError:
            pass
    return key, value


def load_clips(path: str | Path, spec, max_clips: int, stride: int | None) -> tuple[np.ndarray, float]:
    """uint8 ``(N, T, size, size, 3)`` clips of consecutive frames, and the video's fps."""
    video = read_video(path, transform=frame_transform_for(spec))
    indices = clip_indices(video.num_frames, spec.num_frames, stride=stride, max_clips=max_clips)
    try:
        clips = center_crop(video.frames[indices], spec.size)
    except ValueError as error:
        raise VideoXAIError(str(error), path) from None
    return np.ascontiguousarray(clips), video.fps


def resolve_target_name(target: str | None, class_names: tuple[str, ...]) -> int | None:
    if target is None:
        return None
    if target.isdigit():
        return int(target)
    if target in class_names:
        return class_names.index(target)
    raise VideoXAIError(f"--target {target!r} is neither a class index nor one of the model's class names")


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="explain one video and write the relevance over its frames (baseline | selective)",
        description=(
            "Explain clips of consecutive frames of VIDEO with one method and write an MP4 or GIF: "
            "the relevance over the frames on the left, the selective relevance (|G_t| > n·σ) on the right."
        ),
    )
    parser.add_argument("video", metavar="VIDEO", help="video file")
    parser.add_argument("--model", default="i3d_kinetics400",
                        help="model name (i3d_kinetics400, c3d, torchvision:r3d_18, torchvision:mc3_18, "
                             "torchvision:r2plus1d_18, torchvision:s3d) or package.module:factory (default: %(default)s)")
    parser.add_argument("--weights", metavar="FILE", help="weight file (default: the model's own)")
    parser.add_argument(
        "--model-option", action="append", default=[], metavar="KEY=VALUE",
        help="option for the model loader, repeatable (e.g. random_init=true width=0.25 for C3D)",
    )
    parser.add_argument("--method", default="dtd", choices=ALL_METHODS,
                        help="explanation method (default: %(default)s); flow_occlusion* compute Farnebäck flow from the frames")
    parser.add_argument(
        "--method-option", action="append", default=[], metavar="KEY=VALUE",
        help="option for the method, repeatable (e.g. stride=32 temporal_stride=8 for occlusion, iterations=10 for fep)",
    )
    parser.add_argument("--n", type=float, default=4.0, help="σ multiplier of selective relevance (default: %(default)s)")
    parser.add_argument("--padding", default="replicate", choices=PADDINGS, help="border padding of the temporal gradient")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .mp4 or .gif")
    parser.add_argument("--target", help="class index or name to explain (default: each clip's top-1)")
    parser.add_argument("--layer", help="Grad-CAM layer, dotted module name (default: the model's cam_layer)")
    parser.add_argument("--clips", type=int, default=1, help="how many clips, spread over the video (default: %(default)s)")
    parser.add_argument("--stride", type=int, help="frames between clip starts (default: the clip length)")
    parser.add_argument("--scale", type=int, default=2, help="integer upscaling of the frames in the output (default: %(default)s)")
    parser.add_argument("--fps", type=float, help="output frame rate (default: the video's)")
    parser.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")
    return parser


def run(args: argparse.Namespace) -> int:
    from videoxai import models

    if Path(args.out).suffix.lower() not in (".mp4", ".gif"):
        raise VideoXAIError("--out must end in .mp4 or .gif", args.out)
    if args.clips < 1 or args.scale < 1:
        raise VideoXAIError("--clips and --scale must be at least 1")
    options = dict(parse_option(text) for text in args.model_option)
    model, spec = models.load(args.model, weights=args.weights, device=args.device, **options)
    clips, fps = load_clips(args.video, spec, args.clips, args.stride)
    inputs = spec.preprocess(clips, device=args.device)
    explainer_options = {"layer": args.layer} if args.layer and args.method in ("gradcam", "guided_gradcam") else {}
    explainer_options.update(parse_option(text) for text in args.method_option)
    explainer = get_explainer(args.method, model, spec=spec, **explainer_options)
    target = resolve_target_name(args.target, spec.class_names)
    # one clip at a time keeps memory bounded for long videos; maps are identical to a batch
    relevance, targets, probabilities = [], [], []
    for index, clip in enumerate(inputs):
        # flow methods: Farnebäck flow of the clip's own frames, as the workflow's flow stage computes it
        extra = {"flow": torch.from_numpy(farneback(clips[index])[None].astype(np.float32))} if args.method in FLOW_METHODS else {}
        result = explainer.attribute(clip[None], target=target, **extra)
        relevance.append(result.relevance)
        targets.append(int(result.target[0]))
        probabilities.append(float(result.logits.softmax(dim=1)[0, result.target[0]]))
    relevance = torch.cat(relevance)
    selective = selective_relevance(relevance, n=args.n, padding=args.padding)
    baseline_maps = relevance.cpu().numpy()
    selective_maps = selective.maps[0].cpu().numpy()
    kept = float(selective.masks[0].float().mean())

    panels_left, panels_right = [], []
    for index in range(len(clips)):
        # one colour scale per clip for both panels, so the selective map reads as a subset
        scale = float(np.abs(baseline_maps[index]).max())
        panels_left.append(overlay_relevance(clips[index], baseline_maps[index], scale))
        panels_right.append(overlay_relevance(clips[index], selective_maps[index], scale))
    left = enlarge(np.concatenate(panels_left), args.scale)
    right = enlarge(np.concatenate(panels_right), args.scale)
    frames = side_by_side([left, right], labels=[args.method, f"selective n={args.n:g}"])
    out = write_video(frames, args.out, fps=args.fps or fps)

    names = sorted(set(targets))
    described = ", ".join(f"{spec.class_names[t] if t < len(spec.class_names) else t}" for t in names)
    print(
        f"{args.video}: {len(clips)} clip(s) x {spec.num_frames} frames, method {args.method}, "
        f"target {described} (p={np.mean(probabilities):.3f}), selective n={args.n:g} keeps {100 * kept:.2f}% "
        f"of voxels -> {out}"
    )
    return 0
