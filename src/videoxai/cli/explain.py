"""``videoxai explain VIDEO --model NAME --method NAME --n 4 --out FILE.mp4|.gif [--sheet FILE.png]``.

Explains clips of consecutive frames (the paper's sampling) and writes one video with the
relevance over the frames: the method's map on the left, its selective map on the right, with
the method, explained class, probability, n, time and a colour bar on every frame. ``--sheet``
adds a PNG contact sheet of a few frames spread over the clips.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from videoxai.cli.common import add_model_arguments, load_model, parse_option
from videoxai.core.errors import VideoXAIError
from videoxai.core.methods import method_label
from videoxai.data.video import decode_clips
from videoxai.explain import ALL_METHODS, FLOW_METHODS, get_explainer
from videoxai.motion.flow import farneback
from videoxai.motion.selective import PADDINGS, SIGMAS, selective_relevance
from videoxai.report.overlay import FORMATS, ExplainedClips, contact_sheet, render_explanation, write_png, write_video


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
    add_model_arguments(parser)
    parser.add_argument(
        "--method",
        default="dtd",
        choices=ALL_METHODS,
        help="explanation method (default: %(default)s); flow_occlusion* compute Farnebäck flow from the frames",
    )
    parser.add_argument(
        "--method-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option for the method, repeatable; VALUE is read as YAML (e.g. stride=32 temporal_stride=8 for "
        "occlusion, iterations=10 for fep, 'layers=[Mixed_5c, Mixed_4f]' for cfp)",
    )
    parser.add_argument(
        "--n", type=float, default=4.0, help="σ multiplier of selective relevance (default: %(default)s)"
    )
    parser.add_argument(
        "--padding", default="replicate", choices=PADDINGS, help="border padding of the temporal gradient"
    )
    parser.add_argument(
        "--sigma",
        default="abs",
        choices=SIGMAS,
        help=(
            "σ convention: abs = |G_t| > n·std(|G_t|), signed = |G_t| > n·std(G_t), "
            "one_sided = G_t > n·std(G_t), rising relevance only (default: %(default)s)"
        ),
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="output .mp4 (H.264) or .gif")
    parser.add_argument(
        "--sheet",
        metavar="FILE",
        help="also write a PNG contact sheet: frames spread over the clips, baseline above selective",
    )
    parser.add_argument(
        "--sheet-frames", type=int, default=6, help="frames on the contact sheet (default: %(default)s)"
    )
    parser.add_argument("--target", help="class index or name to explain (default: each clip's top-1)")
    parser.add_argument("--layer", help="Grad-CAM layer, dotted module name (default: the model's cam_layer)")
    parser.add_argument(
        "--clips", type=int, default=1, help="how many clips, spread over the video (default: %(default)s)"
    )
    parser.add_argument("--stride", type=int, help="frames between clip starts (default: the clip length)")
    parser.add_argument(
        "--scale", type=int, default=2, help="integer upscaling of the frames in the output (default: %(default)s)"
    )
    parser.add_argument("--fps", type=float, help="output frame rate (default: the video's)")
    parser.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")
    return parser


def run(args: argparse.Namespace) -> int:
    if Path(args.out).suffix.lower() not in FORMATS:
        raise VideoXAIError("--out must end in .mp4 or .gif", args.out)
    if args.sheet and Path(args.sheet).suffix.lower() != ".png":
        raise VideoXAIError("--sheet must end in .png", args.sheet)
    if args.clips < 1 or args.scale < 1 or args.sheet_frames < 1:
        raise VideoXAIError("--clips, --scale and --sheet-frames must be at least 1")
    model, spec = load_model(args)
    decoded = decode_clips(args.video, spec, stride=args.stride, max_clips=args.clips)
    clips, fps, frame_indices = decoded.clips, decoded.fps, decoded.frame_indices
    inputs = spec.preprocess(clips, device=args.device)
    explainer_options = {"layer": args.layer} if args.layer and args.method in ("gradcam", "guided_gradcam") else {}
    explainer_options.update(parse_option(text) for text in args.method_option)
    explainer = get_explainer(args.method, model, spec=spec, **explainer_options)
    target = resolve_target_name(args.target, spec.class_names)
    # one clip at a time keeps memory bounded for long videos; maps are identical to a batch
    relevance, targets, probabilities = [], [], []
    for index, clip in enumerate(inputs):
        # flow methods: Farnebäck flow of the clip's own frames, as the workflow's flow stage computes it
        extra = (
            {"flow": torch.from_numpy(farneback(clips[index])[None].astype(np.float32))}
            if args.method in FLOW_METHODS
            else {}
        )
        result = explainer.attribute(clip[None], target=target, **extra)
        relevance.append(result.relevance)
        targets.append(int(result.target[0]))
        probabilities.append(float(result.logits.softmax(dim=1)[0, result.target[0]]))
    relevance = torch.cat(relevance)
    selective = selective_relevance(relevance, n=args.n, padding=args.padding, sigma=args.sigma)
    kept_per_clip = selective.masks[0].flatten(1).float().mean(dim=1).tolist()
    kept = float(np.mean(kept_per_clip))

    def class_name(index: int) -> str:
        return spec.class_names[index] if index < len(spec.class_names) else str(index)

    explained = ExplainedClips(
        clips=clips,
        baseline=relevance.cpu().numpy(),
        selective=selective.maps[0].cpu().numpy(),
        method=method_label(args.method),
        classes=[class_name(t) for t in targets],
        probabilities=probabilities,
        n=args.n,
        kept=kept_per_clip,
        times=frame_indices / fps,
    )
    out = write_video(render_explanation(explained, args.scale), args.out, fps=args.fps or fps)
    if args.sheet:
        write_png(contact_sheet(explained, args.sheet_frames), args.sheet)

    names = sorted(set(targets))
    described = ", ".join(class_name(t) for t in names)
    print(
        f"{args.video}: {len(clips)} clip(s) x {spec.num_frames} frames, method {args.method}, "
        f"target {described} (p={np.mean(probabilities):.3f}), selective n={args.n:g} keeps {100 * kept:.2f}% "
        f"of voxels -> {out}" + (f", {args.sheet}" if args.sheet else "")
    )
    return 0
