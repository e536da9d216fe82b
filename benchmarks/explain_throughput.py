"""Throughput of the four explanation methods and of the selective step (not a test).

For each model and method: clips/s at several batch sizes, time per clip of the method alone
and of method + selective relevance (n = 4), mean and std over repeats after warm-up (CUDA
synchronised), the selective step's share of the cheapest method's time per clip, and, for the
gradient methods, the error of autocast (bf16; TF32 on CUDA) against fp32.

Writes ``benchmarks/results/<device>-explain.csv`` and ``.md`` (a table in the spirit of the
paper's Table 4: seconds per clip per method, without and with selective relevance).

    python benchmarks/explain_throughput.py                 # CPU defaults (reduced sizes)
    python benchmarks/explain_throughput.py --device cuda --preset full
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from _results import write_rows_csv

from videoxai.explain import METHODS, get_explainer
from videoxai.models import load
from videoxai.motion.selective import selective_relevance

RESULTS = Path(__file__).resolve().parent / "results"

# name -> (loader name, loader options, input shape (C, T, H, W), batch sizes)
PRESETS = {
    # a 2-core CPU shared with others: quarter- and full-width C3D at their native clip, I3D at a
    # reduced 16x112x112 clip (its native 64x224x224 is ~16x the work)
    "cpu": {
        "c3d_w0.25": ("c3d", {"random_init": True, "width": 0.25, "num_classes": 101}, (3, 16, 112, 112), (1, 2)),
        "c3d": ("c3d", {"random_init": True, "num_classes": 101}, (3, 16, 112, 112), (1,)),
        "i3d_16x112": ("i3d_kinetics400", {"fetch": False}, (3, 16, 112, 112), (1,)),
    },
    "full": {
        "c3d": ("c3d", {"random_init": True, "num_classes": 101}, (3, 16, 112, 112), (1, 16, 64)),
        "i3d_16x224": ("i3d_kinetics400", {"fetch": False}, (3, 16, 224, 224), (1, 8, 32)),
        "i3d_64x224": ("i3d_kinetics400", {"fetch": False}, (3, 64, 224, 224), (1, 4)),
    },
}
AUTOCAST_METHODS = ("gradcam", "guided_backprop", "guided_gradcam")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(function, device: torch.device, warmup: int, repeats: int):
    """Run ``function`` warmup + repeats times; return (last result, list of seconds)."""
    seconds, result = [], None
    for index in range(warmup + repeats):
        synchronize(device)
        start = time.perf_counter()
        result = function()
        synchronize(device)
        if index >= warmup:
            seconds.append(time.perf_counter() - start)
    return result, seconds


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


def errors(value: torch.Tensor, reference: torch.Tensor) -> tuple[float, float]:
    """(relative L2 error, largest absolute error / largest |reference|)."""
    difference = (value - reference).float()
    relative_l2 = (difference.norm() / reference.float().norm().clamp_min(1e-30)).item()
    relative_max = (difference.abs().max() / reference.float().abs().max().clamp_min(1e-30)).item()
    return relative_l2, relative_max


def benchmark_model(label, loader, options, shape, batch_sizes, args, device, rows):
    torch.manual_seed(0)  # randomly initialised models are the same from run to run
    model, spec = load(loader, device=device, **options)
    generator = torch.Generator().manual_seed(0)
    low, high = (bound.view(1, 3, 1, 1, 1) for bound in spec.value_range)
    precisions = ["bf16"] + (["tf32"] if device.type == "cuda" else [])
    for batch in batch_sizes:
        inputs = (low + torch.rand((batch,) + shape, generator=generator) * (high - low)).to(device)
        per_method = {}
        for method in METHODS:
            explainer = get_explainer(method, model, spec=spec)
            result, seconds = timed(lambda: explainer.attribute(inputs), device, args.warmup, args.repeats)
            _, selective_seconds = timed(
                lambda: selective_relevance(result.relevance, n=[4.0]), device, 3, args.selective_repeats
            )
            per_method[method] = (result, seconds, selective_seconds)
            print(
                f"{label} b={batch} {method}: {statistics.fmean(seconds) / batch:.3f} s/clip",
                file=sys.stderr,
                flush=True,
            )
        cheapest = min(statistics.fmean(seconds) / batch for _, seconds, _ in per_method.values())
        for method, (_, seconds, selective_seconds) in per_method.items():
            rows.append(row(label, shape, method, "fp32", batch, seconds, selective_seconds, cheapest, None))
        if batch != batch_sizes[0] or args.no_autocast:
            continue  # autocast error is measured once per model, at the smallest batch
        for mode in precisions:
            for method in AUTOCAST_METHODS:
                explainer = get_explainer(method, model, spec=spec, autocast=mode)
                reference = per_method[method][0]
                result, seconds = timed(
                    lambda: explainer.attribute(inputs, target=reference.target), device, 1, args.repeats
                )
                _, selective_seconds = timed(
                    lambda: selective_relevance(result.relevance, n=[4.0]), device, 3, args.selective_repeats
                )
                error = errors(result.relevance, reference.relevance)
                rows.append(row(label, shape, method, mode, batch, seconds, selective_seconds, cheapest, error))
                print(f"{label} b={batch} {method} {mode}: rel L2 error {error[0]:.2e}", file=sys.stderr, flush=True)
    del model


def row(label, shape, method, precision, batch, seconds, selective_seconds, cheapest, error):
    method_mean, method_std = mean_std([value / batch for value in seconds])
    selective_mean, selective_std = mean_std([value / batch for value in selective_seconds])
    totals = [value / batch + selective_mean for value in seconds]
    return {
        "model": label,
        "input": "x".join(str(size) for size in shape[1:]),
        "method": method,
        "precision": precision,
        "batch_size": batch,
        "repeats": len(seconds),
        "clips_per_s": batch / statistics.fmean(seconds),
        "method_s_per_clip_mean": method_mean,
        "method_s_per_clip_std": method_std,
        "selective_s_per_clip_mean": selective_mean,
        "selective_s_per_clip_std": selective_std,
        "total_s_per_clip_mean": mean_std(totals)[0],
        "total_s_per_clip_std": mean_std(totals)[1],
        "selective_pct_of_cheapest": 100.0 * selective_mean / cheapest,
        "rel_l2_error_vs_fp32": "" if error is None else error[0],
        "max_rel_error_vs_fp32": "" if error is None else error[1],
    }


def write_markdown(rows, path: Path, device_description: str, args) -> None:
    fp32 = [r for r in rows if r["precision"] == "fp32"]
    models = list(dict.fromkeys(r["model"] for r in fp32))
    lines = [
        f"# Explanation throughput on {device_description}",
        "",
        f"Mean ± std over {args.repeats} repeats after {args.warmup} warm-up; selective = "
        f"`selective_relevance(relevance, n=[4])` (mean of {args.selective_repeats} runs). "
        "Seconds per clip at batch size 1, as in the paper's Table 4.",
        "",
        "| Method | "
        + " | ".join(f"{m} ({next(r['input'] for r in fp32 if r['model'] == m)}) | + selective" for m in models)
        + " |",
        "|---|" + "---:|---:|" * len(models),
    ]
    for method in METHODS:
        cells = []
        for model in models:
            match = [r for r in fp32 if r["model"] == model and r["method"] == method and r["batch_size"] == 1]
            if match:
                r = match[0]
                cells += [
                    f"{r['method_s_per_clip_mean']:.3f} ± {r['method_s_per_clip_std']:.3f}",
                    f"{r['total_s_per_clip_mean']:.3f}",
                ]
            else:
                cells += ["", ""]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Selective step vs the cheapest method (target ≤ 1 %)",
        "",
        "| Model | Batch | Cheapest method (s/clip) | Selective (ms/clip) | Share |",
        "|---|---:|---:|---:|---:|",
    ]
    for model in models:
        for batch in sorted({r["batch_size"] for r in fp32 if r["model"] == model}):
            group = [r for r in fp32 if r["model"] == model and r["batch_size"] == batch]
            cheapest = min(group, key=lambda r: r["method_s_per_clip_mean"])
            selective_ms = 1000 * statistics.fmean(r["selective_s_per_clip_mean"] for r in group)
            share = max(r["selective_pct_of_cheapest"] for r in group)
            lines.append(
                f"| {model} | {batch} | {cheapest['method_s_per_clip_mean']:.3f} ({cheapest['method']}) "
                f"| {selective_ms:.2f} | {share:.3f} % |"
            )
    lines += [
        "",
        "## Throughput (clips/s)",
        "",
        "| Model | Batch | " + " | ".join(METHODS) + " |",
        "|---|---:|" + "---:|" * len(METHODS),
    ]
    for model in models:
        for batch in sorted({r["batch_size"] for r in fp32 if r["model"] == model}):
            cells = []
            for method in METHODS:
                match = [r for r in fp32 if r["model"] == model and r["batch_size"] == batch and r["method"] == method]
                cells.append(f"{match[0]['clips_per_s']:.3f}" if match else "")
            lines.append(f"| {model} | {batch} | " + " | ".join(cells) + " |")
    mixed = [r for r in rows if r["precision"] != "fp32"]
    if mixed:
        lines += [
            "",
            "## Autocast vs fp32 (same clips, same targets; DTD always runs in fp32)",
            "",
            "| Model | Method | Precision | s/clip | Relative L2 error | Max abs error / max |ref| |",
            "|---|---|---|---:|---:|---:|",
        ]
        for r in mixed:
            lines.append(
                f"| {r['model']} | {r['method']} | {r['precision']} | {r['method_s_per_clip_mean']:.3f} "
                f"| {r['rel_l2_error_vs_fp32']:.2e} | {r['max_rel_error_vs_fp32']:.2e} |"
            )
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="model set (default: cpu on CPU, full on CUDA)")
    parser.add_argument("--models", help="comma-separated subset of the preset's models")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--selective-repeats", type=int, default=20)
    parser.add_argument("--no-autocast", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (default: torch's). On a shared, oversubscribed CPU, spinning OpenMP "
        "threads inflate small element-wise steps such as the selective one many times over; 1 avoids that",
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    preset = PRESETS[args.preset or ("full" if device.type == "cuda" else "cpu")]
    names = args.models.split(",") if args.models else list(preset)
    if device.type == "cuda":
        description = f"{torch.cuda.get_device_name(device)} (CUDA)"
    else:
        description = f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads)"
    rows: list[dict] = []
    for name in names:
        loader, options, shape, batch_sizes = preset[name]
        try:
            benchmark_model(name, loader, copy.deepcopy(options), shape, batch_sizes, args, device, rows)
        except Exception as error:  # a model that cannot be loaded here (no weights) is reported, not fatal
            print(f"skipping {name}: {error}", file=sys.stderr)
    if not rows:
        print("nothing measured", file=sys.stderr)
        return 1
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"{device.type}-explain"
    write_rows_csv(stem.with_suffix(".csv"), rows, description)
    write_markdown(rows, stem.with_suffix(".md"), description, args)
    print(stem.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
