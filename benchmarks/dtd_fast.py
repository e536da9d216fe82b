"""DTD at the cost of a gradient: the project's four methods against captum + zennit, before and after (not a test).

One process, every entry alternating with the others (the order rotates each repeat), so load
from other processes hits all sides alike. Each timed call starts from the same uint8 clips, so
preprocessing and the forward pass are inside every timer; all sides explain the same class
(each clip's top-1, computed once beforehand, because captum needs it before its forward pass).

Sides:

* ``ours``: the project now: ``DTD`` (fast pass), ``GradCAM``, ``GuidedBackprop``,
  ``GuidedGradCAM`` alone; all four as the explain stage runs them (``explain.batched.attribute_batch``:
  one shared forward pass, Guided Grad-CAM from the other two).
* ``before``: DTD through zennit's hooks (``implementation="zennit"``, the implementation before
  this change) alone; all four as the stage ran them before (each method its own passes, Guided
  Grad-CAM from Grad-CAM and Guided BP).
* ``libraries``: captum ``LayerGradCam`` (+ trilinear upsampling), ``GuidedBackprop``,
  ``GuidedGradCam`` and zennit's ``SpecialFirstLayerMapComposite`` (ZBox first, ZPlus with
  biases zeroed, Pass, Norm) through ``zennit.attribution.Gradient``, called directly; all four:
  LayerGradCam and GuidedBackprop once each, Guided Grad-CAM as their product, and zennit's DTD.

Writes ``benchmarks/results/<device>-dtd-fast.{md,csv}``, with the largest difference of each of
our maps from the library's, and (``--profile``) where the time of one fast DTD call on one I3D
clip goes.

    python benchmarks/dtd_fast.py --profile --oracle       # I3D 16x224 and C3D 16x112, batch 1 and 8
    python benchmarks/dtd_fast.py --quick                  # quarter-width C3D, batch 1, one repeat
    python benchmarks/dtd_fast.py --device cuda --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _results import write_rows_csv

from videoxai.explain import METHODS, get_explainer
from videoxai.explain.batched import attribute_batch
from videoxai.explain.dtd import DTD
from videoxai.models import load

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]


def load_model(name: str, device: str):
    """``(label, model, spec, clip shape (T, H, W), note)``; I3D falls back to random weights."""
    torch.manual_seed(0)
    if name == "i3d":
        try:
            model, spec = load("i3d_kinetics400", device=device, fetch=False)
            note = "I3D with the Kinetics-400 weights (BatchNorm folded)"
        except Exception as error:  # noqa: BLE001 - any reason the weights are missing
            from videoxai.models.i3d import InceptionI3d, kinetics400_class_names
            from videoxai.models.spec import ModelSpec

            model = InceptionI3d().eval().to(device)
            spec = ModelSpec("i3d_random", 64, 224, kinetics400_class_names(), scale=1 / 127.5, offset=-1.0)
            note = f"I3D with random weights, the Kinetics-400 weights could not be loaded ({error})"
        return "i3d_16x224", model, spec, (16, 224, 224), note
    width = 0.25 if name == "c3d_w0.25" else 1.0
    model, spec = load("c3d", device=device, random_init=True, num_classes=101, width=width)
    return f"{name}_16x112", model, spec, (16, 112, 112), f"C3D at width {width} with random weights"


def synchronise(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def zennit_dtd(model, inputs, target, low, high):
    """The reference DTD, zennit called directly: z^B first, z+ with biases zeroed, Pass, Norm."""
    from zennit.attribution import Gradient
    from zennit.canonizers import SequentialMergeBatchNorm
    from zennit.composites import SpecialFirstLayerMapComposite
    from zennit.rules import Norm, Pass, ZBox, ZPlus
    from zennit.types import Activation, AvgPool, Convolution

    layer_map = [
        (Activation, Pass()),
        (AvgPool, Norm()),
        (Convolution, ZPlus(zero_params=["bias"])),
        (torch.nn.Linear, ZPlus(zero_params=["bias"])),
    ]
    first_map = [(Convolution, ZBox(low=low, high=high, zero_params=["bias"]))]
    composite = SpecialFirstLayerMapComposite(layer_map, first_map, canonizers=[SequentialMergeBatchNorm()])
    with Gradient(model=model, composite=composite) as attributor:
        _, relevance = attributor(
            inputs, lambda output: torch.zeros_like(output).scatter_(1, target[:, None], 1.0) * output
        )
    return relevance.sum(1)


def entries(model, spec, clips, target, device):
    """name -> (side, method, function of nothing returning {method: relevance (N, T, H, W)})."""
    from captum.attr import GuidedBackprop, GuidedGradCam, LayerGradCam

    ours = {method: get_explainer(method, model, spec=spec) for method in METHODS}
    before = DTD(model, spec=spec, implementation="zennit")
    layer = model.get_submodule(model.cam_layer)
    bounds = DTD(model, spec=spec)

    def preprocess():
        return spec.preprocess(clips, device=device)

    def own(method):
        return lambda: {method: ours[method].attribute(preprocess(), target=target).relevance}

    def captum_cam(inputs):
        cam = LayerGradCam(model, layer).attribute(inputs, target=target, relu_attributions=True)
        return F.interpolate(cam, size=inputs.shape[2:], mode="trilinear", align_corners=False)[:, 0]

    def library_dtd(inputs):
        low, high = bounds.bounds_at_first_layer(inputs)
        return zennit_dtd(model, inputs, target, low, high)

    def ours_all():
        results = attribute_batch(ours, preprocess(), None, True, device, target)
        return {method: torch.as_tensor(result["relevance"]) for method, result in results.items()}

    def before_all():
        inputs = preprocess()
        maps = {"dtd": before.attribute(inputs, target=target).relevance}
        maps["gradcam"] = ours["gradcam"].attribute(inputs, target=target).relevance
        maps["guided_backprop"] = ours["guided_backprop"].attribute(inputs, target=target).relevance
        maps["guided_gradcam"] = maps["guided_backprop"] * maps["gradcam"]
        return maps

    def libraries_all():
        inputs = preprocess()
        maps = {"gradcam": captum_cam(inputs)}
        maps["guided_backprop"] = GuidedBackprop(model).attribute(inputs, target=target).sum(1)
        maps["guided_gradcam"] = maps["guided_backprop"] * maps["gradcam"]
        maps["dtd"] = library_dtd(inputs)
        return maps

    return {
        "ours dtd": ("ours", "dtd", own("dtd")),
        "ours gradcam": ("ours", "gradcam", own("gradcam")),
        "ours guided_backprop": ("ours", "guided_backprop", own("guided_backprop")),
        "ours guided_gradcam": ("ours", "guided_gradcam", own("guided_gradcam")),
        "before dtd": ("before", "dtd", lambda: {"dtd": before.attribute(preprocess(), target=target).relevance}),
        "libraries dtd": ("libraries", "dtd", lambda: {"dtd": library_dtd(preprocess())}),
        "libraries gradcam": ("libraries", "gradcam", lambda: {"gradcam": captum_cam(preprocess())}),
        "libraries guided_backprop": (
            "libraries",
            "guided_backprop",
            lambda: {"guided_backprop": GuidedBackprop(model).attribute(preprocess(), target=target).sum(1)},
        ),
        "libraries guided_gradcam": (
            "libraries",
            "guided_gradcam",
            lambda: {
                "guided_gradcam": GuidedGradCam(model, layer)
                .attribute(preprocess(), target=target, interpolate_mode="trilinear")
                .sum(1)
            },
        ),
        "ours all four": ("ours", "all four (shared passes)", ours_all),
        "before all four": ("before", "all four (shared passes)", before_all),
        "libraries all four": ("libraries", "all four (shared passes)", libraries_all),
    }


def relative_difference(value: torch.Tensor, reference: torch.Tensor) -> float:
    value, reference = value.detach().float().cpu(), reference.detach().float().cpu()
    return float((value - reference).abs().max() / reference.abs().max().clamp_min(1e-30))


def run_model(name: str, batch: int, repeats: int, device: str, rows: list, notes: list) -> None:
    label, model, spec, (frames, height, width), note = load_model(name, device)
    clips = np.random.default_rng(0).integers(0, 256, (batch, frames, height, width, 3), dtype=np.uint8)
    with torch.no_grad():  # not inference mode: the target takes part in autograd-recorded ops later
        target = model(spec.preprocess(clips, device=device)).argmax(1)
    table = entries(model, spec, clips, target, device)
    maps = {key: function() for key, (side, _, function) in table.items() if side == "ours"}  # warm-up
    seconds: dict[str, list[float]] = {key: [] for key in table}
    keys = list(table)
    for repeat in range(repeats):
        shift = repeat % len(keys)
        for key in keys[shift:] + keys[:shift]:
            synchronise(device)
            began = time.perf_counter()
            result = table[key][2]()
            synchronise(device)
            seconds[key].append(time.perf_counter() - began)
            maps[key] = result
    notes.append(f"{label}: {note}; batch {batch}, {repeats} timed repeat(s) after a warm-up of our side.")
    for key, (side, method, _) in table.items():
        values = [value / batch for value in seconds[key]]
        row = {
            "model": label,
            "batch": batch,
            "method": method,
            "side": side,
            "seconds_per_clip": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "repeats": len(values),
            "max_rel_diff_to_libraries": "",
        }
        if side == "ours":
            theirs = maps[key.replace("ours", "libraries")]
            row["max_rel_diff_to_libraries"] = max(
                relative_difference(maps[key][method_name], theirs[method_name]) for method_name in maps[key]
            )
        rows.append(row)
    del model
    print(f"{label} batch {batch}: done", flush=True)


def profile_dtd(device: str) -> list[str]:
    """Phases and operators of one fast DTD call on one I3D clip (16x224x224)."""
    from torch.profiler import ProfilerActivity, profile

    from videoxai.explain.base import one_hot
    from videoxai.explain.canonizers import canonized
    from videoxai.explain.lrp import PassState, dtd_rules, rules_attached

    label, model, spec, (frames, height, width), note = load_model("i3d", device)
    clips = np.random.default_rng(0).integers(0, 256, (1, frames, height, width, 3), dtype=np.uint8)
    explainer = DTD(model, spec=spec)
    explainer.attribute(spec.preprocess(clips, device=device))  # fills the caches
    phases = {"preprocess": [], "forward pass (rules attached)": [], "backward pass (rules)": []}
    for _ in range(3):
        began = time.perf_counter()
        inputs = spec.preprocess(clips, device=device).requires_grad_(True)
        synchronise(device)
        phases["preprocess"].append(time.perf_counter() - began)
        low, high = explainer.cached_bounds(inputs)
        state = PassState()
        with canonized(model):
            rules = dtd_rules(model, explainer.cache, low, high, explainer.stabilizer, False, state)
            with rules_attached(rules):
                began = time.perf_counter()
                logits = model(inputs)
                synchronise(device)
                phases["forward pass (rules attached)"].append(time.perf_counter() - began)
                began = time.perf_counter()
                start = one_hot(logits.argmax(1), logits) * logits.detach()
                torch.autograd.grad(logits, inputs, grad_outputs=start)
                synchronise(device)
                phases["backward pass (rules)"].append(time.perf_counter() - began)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with profile(activities=activities) as profiler:
        explainer.attribute(spec.preprocess(clips, device=device))
    averages = profiler.key_averages()
    total = sum(event.self_cpu_time_total for event in averages)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        "",
        f"## Where the time of one fast DTD call goes ({label}, batch 1, {note})",
        "",
        f"Load average (1, 5, 15 min) {load} when the profile ran.",
        "",
        "| phase | seconds (median of 3) |",
        "|---|---:|",
    ]
    lines += [f"| {phase} | {statistics.median(values):.3f} |" for phase, values in phases.items()]
    lines += [
        "",
        "torch.profiler, one call, operators by self CPU time (convolution forwards in the backward pass are z = x·w⁺):",
        "",
        "| operator | calls | self CPU (s) | share |",
        "|---|---:|---:|---:|",
    ]
    for event in sorted(averages, key=lambda event: event.self_cpu_time_total, reverse=True)[:12]:
        share = event.self_cpu_time_total / total
        lines.append(f"| `{event.key}` | {event.count} | {event.self_cpu_time_total / 1e6:.3f} | {share:.1%} |")
    return lines


def oracle_differences(device: str) -> list[str]:
    """max |fast − zennit| / max |zennit| per clip on torchvision's video networks (random weights,
    BatchNorm statistics from one train-mode pass), under both bias conventions."""
    lines = [
        "",
        "## Fast DTD against zennit's (the oracle) on torchvision's video networks",
        "",
        "Random weights, BatchNorm with random affine parameters and the statistics of one train-mode pass "
        "(so merging is exercised), 2 clips of 8x32x32 (S3D: 1 clip of 14x224x224), top-1 targets; "
        "largest over clips of max |fast − zennit| / max |zennit|.",
        "",
        "| network | bias ignore | bias include |",
        "|---|---:|---:|",
    ]
    for arch in ("r3d_18", "mc3_18", "r2plus1d_18", "s3d"):
        torch.manual_seed(0)
        model, spec = load(f"torchvision:{arch}", device=device, num_classes=5)
        shape = (1, 3, 14, 224, 224) if arch == "s3d" else (2, 3, 8, 32, 32)
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm3d):
                    module.momentum = None
                    module.reset_running_stats()
                    module.weight.uniform_(0.5, 1.5, generator=generator)
                    module.bias.uniform_(-0.1, 0.1, generator=generator)
            model.train()
            model(torch.rand((2, *shape[1:]), generator=generator).to(device) * 2 - 1)
        model.eval()
        inputs = (torch.rand(shape, generator=generator) * 2 - 1).to(device)
        cells = []
        for bias in ("ignore", "include"):
            fast = DTD(model, spec=spec, bias=bias).attribute(inputs).relevance.flatten(1)
            oracle = DTD(model, spec=spec, bias=bias, implementation="zennit").attribute(inputs).relevance.flatten(1)
            error = ((fast - oracle).abs().max(1).values / oracle.abs().max(1).values).max().item()
            cells.append(f"{error:.1e}")
        lines.append(f"| {arch} | {cells[0]} | {cells[1]} |")
    return lines


def markdown(rows: list[dict], notes: list[str], extra: list[str], device: str, load_before, load_after) -> str:
    lines = [
        f"# DTD at the cost of a gradient ({device})",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {time.strftime('%Y-%m-%d')}. Load average (1, 5, 15 min) "
        f"{load_before} at the start, {load_after} at the end: the machine is shared, so every entry "
        "alternates with the others in one process and the ratios are what to read.",
        "",
        *notes,
        "",
        "Seconds per clip, median over the repeats (min–max). `before`: DTD through zennit's hooks, as "
        "the project computed it until now. Difference: max |ours − library| / max |library| of the map.",
        "",
    ]
    for model in dict.fromkeys(row["model"] for row in rows):
        for batch in dict.fromkeys(row["batch"] for row in rows if row["model"] == model):
            subset = [row for row in rows if row["model"] == model and row["batch"] == batch]
            cell = {(row["method"], row["side"]): row for row in subset}
            lines += [
                f"## {model}, batch {batch}",
                "",
                "| method | ours | before | libraries | ours / libraries | ours / before | difference |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for method in dict.fromkeys(row["method"] for row in subset):
                ours, before, theirs = (cell.get((method, side)) for side in ("ours", "before", "libraries"))

                def text(row):
                    if row is None:
                        return "(= ours)"
                    return f"{row['seconds_per_clip']:.3f} ({row['min']:.3f}–{row['max']:.3f})"

                lines.append(
                    f"| {method} | {text(ours)} | {text(before)} | {text(theirs)} | "
                    f"{ours['seconds_per_clip'] / theirs['seconds_per_clip']:.2f} | "
                    + (f"{ours['seconds_per_clip'] / before['seconds_per_clip']:.2f}" if before else "")
                    + f" | {ours['max_rel_diff_to_libraries']:.1e} |"
                )
            dtd = cell[("dtd", "ours")]["seconds_per_clip"]
            guided = cell[("guided_backprop", "ours")]["seconds_per_clip"]
            before_dtd = cell[("dtd", "before")]["seconds_per_clip"]
            lines += ["", f"DTD / Guided BP: ours {dtd / guided:.2f}, before {before_dtd / guided:.2f}.", ""]
    return "\n".join(lines + extra) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=["i3d", "c3d"], choices=("i3d", "c3d", "c3d_w0.25"))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats at batch 1")
    parser.add_argument("--repeats-large", type=int, default=2, help="timed repeats at larger batches")
    parser.add_argument("--profile", action="store_true", help="add where one fast DTD call on I3D spends its time")
    parser.add_argument("--oracle", action="store_true", help="add fast vs zennit DTD on torchvision's networks")
    parser.add_argument("--profile-only", action="store_true", help="only the profile, to <device>-dtd-fast-profile.md")
    parser.add_argument("--quick", action="store_true", help="quarter-width C3D, batch 1, one repeat, no profile")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="captum")  # "input did not require gradients", "setting hooks"
    if args.quick:
        args.models, args.batches, args.repeats, args.profile, args.oracle = ["c3d_w0.25"], [1], 1, False, False
    os.environ.setdefault("VIDEOXAI_CACHE", str(REPO / "resources"))
    if args.profile_only:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        text = "\n".join([f"# DTD at the cost of a gradient: profile ({args.device})", *profile_dtd(args.device)])
        (args.out_dir / f"{args.device.split(':')[0]}-dtd-fast-profile.md").write_text(text + "\n")
        print(text)
        return
    load_before = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    rows: list[dict] = []
    notes: list[str] = []
    for name in args.models:
        for batch in args.batches:
            run_model(name, batch, args.repeats if batch == 1 else args.repeats_large, args.device, rows, notes)
    extra = profile_dtd(args.device) if args.profile else []
    extra += oracle_differences(args.device) if args.oracle else []
    load_after = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{args.device.split(':')[0]}-dtd-fast{'-quick' if args.quick else ''}"
    write_rows_csv(args.out_dir / f"{stem}.csv", rows, args.device)
    text = markdown(rows, notes, extra, args.device, load_before, load_after)
    (args.out_dir / f"{stem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
