"""Cost per clip of the extra explanation methods and of deletion/insertion (not a test).

One real UCF-101 clip (``../shared/data/ucf101_sample``; random pixels if absent) per model:
quarter-width C3D (random weights) at 16x112x112 and I3D Kinetics-400 at 16x224x224. Each
method runs once at its default options on one clip (batch size 1), after one warm-up forward.

Methods whose default cost is many forward passes (``occlusion``, ``flow_occlusion``) are
*estimated* unless ``--full``: the masks are built (timed), one batch of 32 occluded clips is
timed, and the cost is mask building + forward + batches x seconds per batch. FEP / EP run
``--iterations`` iterations on I3D (default 10 instead of the method's 30) and the cost at 30 is
scaled from the measured per-iteration time; both are in the table. The Farnebäck flow the flow
methods take is timed separately (it is the workflow's flow stage).

Also: the spatio-temporal smoothness (mean |Δt| and |Δxy| of the max-normalised map) of every map
that was computed, and deletion/insertion AUCs (16 steps, zeros baseline) for a few maps and a
random reference on I3D.

Writes ``benchmarks/results/cpu-extra-methods.csv`` and ``.md``.

    python benchmarks/extra_methods_cost.py            # ~10 min on one (shared) CPU thread
"""

from __future__ import annotations

import argparse
import csv
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from videoxai.core.errors import VideoXAIError
from videoxai.evaluation.faithfulness import deletion_insertion, random_relevance, spatiotemporal_smoothness
from videoxai.explain import get_explainer
from videoxai.models import load
from videoxai.motion.flow import farneback_clips

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "ucf101_sample"
    / "CliffDiving"
    / "v_CliffDiving_g03_c02.mp4"
)
MODELS = {
    "c3d_w0.25": ("c3d", {"random_init": True, "width": 0.25, "num_classes": 101}, 16),
    "i3d": ("i3d_kinetics400", {"fetch": False}, 16),
}
METHODS = (
    "saliency_tubes",
    "cfp",
    "flow_occlusion_approx",
    "flow_occlusion",
    "occlusion",
    "extremal_perturbation",
    "fep",
)
ESTIMATED = ("occlusion", "flow_occlusion")
ITERATIVE = ("extremal_perturbation", "fep")


def clip_for(spec, frames: int) -> np.ndarray:
    """uint8 (1, T, H, W, 3): the first clip of the sample video, or seeded random pixels."""
    if SAMPLE.is_file():
        from videoxai.data.video import decode_clips

        return decode_clips(SAMPLE, spec, clip_length=frames, max_clips=1).clips[:1]
    return np.random.default_rng(0).integers(0, 256, (1, frames, spec.size, spec.size, 3), dtype=np.uint8)


def seconds_of(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def estimate_occlusion(explainer, inputs, flow, target, measured_batches=1):
    """(estimated seconds, masks, detail): mask building + forward + batches x measured batch time."""
    explainer._flow = flow
    try:
        masks, build = seconds_of(lambda: explainer.masks_for(inputs))
    finally:
        explainer._flow = None
    masks = masks[0]
    with torch.no_grad():
        (logits), forward = seconds_of(lambda: explainer.model(inputs))
    reference = logits.softmax(dim=1)[0, target]
    height, width = inputs.shape[3:]
    batches = math.ceil(len(masks) / explainer.batch_size)
    measured = []
    for index in range(min(measured_batches, batches)):
        start = index * explainer.batch_size
        dense = masks.dense(start, start + explainer.batch_size, height, width)
        _, spent = seconds_of(lambda: explainer._drops(inputs[0], dense, torch.tensor(target), reference, 0))
        measured.append(spent * explainer.batch_size / len(dense))
    per_batch = float(np.mean(measured))
    total = build + forward + batches * per_batch
    return total, len(masks), f"estimated: {len(masks)} masks, build {build:.2f} s + {batches} x {per_batch:.2f} s"


def run_model(label, loader, options, frames, args, rows, smooth_rows, auc_rows):
    torch.manual_seed(0)
    model, spec = load(loader, **options)
    clip = clip_for(spec, frames)
    inputs = spec.preprocess(clip)
    flow, flow_seconds = seconds_of(lambda: farneback_clips(clip))
    rows.append(
        {
            "model": label,
            "input": f"{frames}x{spec.size}x{spec.size}",
            "method": "farneback_flow (stage)",
            "seconds_per_clip": flow_seconds,
            "how": "measured",
            "detail": "flow of the clip, OpenCV",
        }
    )
    with torch.no_grad():
        logits = model(inputs)  # warm-up
    target = int(logits.argmax())
    maps = {}
    for method in METHODS:
        method_options = {}
        if method in ITERATIVE and label != "c3d_w0.25":
            method_options["iterations"] = args.iterations
        explainer = get_explainer(method, model, spec=spec, **method_options)
        call = (
            (lambda: explainer.attribute(inputs, target, flow=flow))
            if "flow" in method
            else (lambda: explainer.attribute(inputs, target))
        )
        shape = f"{frames}x{spec.size}x{spec.size}"
        try:
            if method in ESTIMATED and not args.full:
                seconds, count, detail = estimate_occlusion(
                    explainer, inputs, flow if "flow" in method else None, target
                )
                rows.append(
                    {
                        "model": label,
                        "input": shape,
                        "method": method,
                        "seconds_per_clip": seconds,
                        "how": "estimated",
                        "detail": detail,
                    }
                )
                print(f"{label} {method}: ~{seconds:.1f} s ({detail})", file=sys.stderr, flush=True)
                continue
            result, seconds = seconds_of(call)
        except VideoXAIError as error:
            rows.append(
                {
                    "model": label,
                    "input": shape,
                    "method": method,
                    "seconds_per_clip": float("nan"),
                    "how": "refused",
                    "detail": str(error).split(";")[0],
                }
            )
            print(f"{label} {method}: refused", file=sys.stderr, flush=True)
            continue
        maps[method] = result.relevance
        detail = ""
        if method in ITERATIVE:
            iterations = explainer.iterations
            detail = f"{iterations} iterations"
            if iterations != 30:
                rows.append(
                    {
                        "model": label,
                        "input": shape,
                        "method": method,
                        "seconds_per_clip": seconds * 30 / iterations,
                        "how": "estimated",
                        "detail": f"default 30 iterations, scaled from {iterations}",
                    }
                )
        if method == "flow_occlusion_approx":
            detail = "one gradient; masks built from the given flow"
        rows.append(
            {
                "model": label,
                "input": shape,
                "method": method,
                "seconds_per_clip": seconds,
                "how": "measured",
                "detail": detail,
            }
        )
        print(f"{label} {method}: {seconds:.2f} s", file=sys.stderr, flush=True)
    maps["random"] = random_relevance(maps[next(iter(maps))].shape, seed=0)
    for method, relevance in maps.items():
        temporal, spatial = spatiotemporal_smoothness(relevance)
        smooth_rows.append(
            {"model": label, "method": method, "temporal": float(temporal[0]), "spatial": float(spatial[0])}
        )
    for method in args.auc_methods:
        if method not in maps or label not in args.auc_models:
            continue
        result, seconds = seconds_of(
            lambda: deletion_insertion(model, inputs, maps[method], target, steps=16, batch_size=8)
        )
        auc_rows.append(
            {
                "model": label,
                "method": method,
                "deletion_auc": float(result["deletion_auc"][0]),
                "insertion_auc": float(result["insertion_auc"][0]),
            }
        )
        if method == "random":
            rows.append(
                {
                    "model": label,
                    "input": f"{frames}x{spec.size}x{spec.size}",
                    "method": "deletion+insertion (metric)",
                    "seconds_per_clip": seconds,
                    "how": "measured",
                    "detail": "16 steps, voxels, zeros, batch 8",
                }
            )
        print(f"{label} deletion/insertion {method}: {seconds:.1f} s", file=sys.stderr, flush=True)


def write(rows, smooth_rows, auc_rows, args):
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / "cpu-extra-methods"
    with open(stem.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=[
                "table",
                "model",
                "input",
                "method",
                "seconds_per_clip",
                "how",
                "detail",
                "temporal",
                "spatial",
                "deletion_auc",
                "insertion_auc",
            ],
        )
        writer.writeheader()
        for table, entries in (("cost", rows), ("smoothness", smooth_rows), ("auc", auc_rows)):
            for entry in entries:
                writer.writerow({"table": table, **entry})
    lines = [
        f"# Extra explanation methods: cost per clip on CPU ({platform.machine()}, {torch.get_num_threads()} torch thread(s))",
        "",
        "One clip (first 16 frames of UCF-101 `v_CliffDiving_g03_c02`), batch size 1, default options unless noted, "
        "target = top-1. C3D is quarter width with random weights; I3D is the Kinetics-400 port. "
        "The CPU is shared with other jobs, so times are indicative (compare with `cpu-explain.md`, same machine). "
        "*estimated* = mask building + forward + number of occlusion batches x measured seconds per batch "
        "(one batch of 32 measured).",
        "",
        "| Model | Input | Method | s/clip | How | Detail |",
        "|---|---|---|---:|---|---|",
    ]
    for entry in rows:
        value = entry["seconds_per_clip"]
        shown = "—" if value != value else f"{value:.2f}"
        lines.append(
            f"| {entry['model']} | {entry['input']} | {entry['method']} | {shown} | {entry['how']} | {entry['detail']} |"
        )
    lines += [
        "",
        "## Smoothness of the maps (max-normalised; lower = smoother)",
        "",
        "Mean |R[t+1] − R[t]| (temporal) and mean |R[y+1] − R[y]|, |R[x+1] − R[x]| (spatial) on the same clip.",
        "",
        "| Model | Method | Temporal | Spatial |",
        "|---|---|---:|---:|",
    ]
    for entry in smooth_rows:
        lines.append(f"| {entry['model']} | {entry['method']} | {entry['temporal']:.4f} | {entry['spatial']:.4f} |")
    if auc_rows:
        lines += [
            "",
            "## Deletion / insertion on the same clip (16 steps, voxels, zeros baseline)",
            "",
            "One clip only: a sanity check, not a result.",
            "",
            "| Model | Method | Deletion AUC (lower better) | Insertion AUC (higher better) |",
            "|---|---|---:|---:|",
        ]
        for entry in auc_rows:
            lines.append(
                f"| {entry['model']} | {entry['method']} | {entry['deletion_auc']:.4f} | {entry['insertion_auc']:.4f} |"
            )
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(stem.with_suffix(".md").read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--iterations", type=int, default=10, help="FEP/EP iterations on I3D (default 10)")
    parser.add_argument("--full", action="store_true", help="run occlusion methods fully instead of estimating")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--auc-methods", nargs="*", default=["saliency_tubes", "fep", "random"])
    parser.add_argument("--auc-models", nargs="*", default=list(MODELS))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows, smooth_rows, auc_rows = [], [], []
    for label in args.models:
        loader, options, frames = MODELS[label]
        run_model(label, loader, options, frames, args, rows, smooth_rows, auc_rows)
    write(rows, smooth_rows, auc_rows, args)


if __name__ == "__main__":
    main()
