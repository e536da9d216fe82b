"""CPU forward time per clip for each shipped model.

    python benchmarks/model_forward.py [--repeats 5] [--warmup 1] [--threads N]

Writes ``benchmarks/results/cpu-model-forward.csv`` and ``.md``: mean ± std (sample std) of
wall-clock seconds for one clip (batch 1, ``torch.no_grad``, float32) after warm-up runs.
Weights do not change the arithmetic, so a model without weights at hand is timed with
random initialisation (the ``weights`` column says which).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

RESULTS = Path(__file__).resolve().parent / "results"


def build_i3d() -> tuple[nn.Module, str]:
    from videoxai.models.i3d import InceptionI3d, load_i3d_kinetics400
    from videoxai.models.i3d_weights import default_weights_path

    if default_weights_path().is_file():
        model, _ = load_i3d_kinetics400(fetch=False)
        return model, "pretrained (BN folded)"
    return InceptionI3d().eval(), "random init"


def build_c3d() -> tuple[nn.Module, str]:
    from videoxai.models.c3d import load_c3d

    model, _ = load_c3d(random_init=True, num_classes=101)
    return model, "random init (101 classes)"


# (model, builder, input shape (N, C, T, H, W))
CASES: list[tuple[str, Callable[[], tuple[nn.Module, str]], tuple[int, ...]]] = [
    ("i3d_kinetics400", build_i3d, (1, 3, 64, 224, 224)),
    ("i3d_kinetics400", build_i3d, (1, 3, 16, 224, 224)),
    ("c3d", build_c3d, (1, 3, 16, 112, 112)),
]


def time_forward(model: nn.Module, shape: tuple[int, ...], repeats: int, warmup: int) -> list[float]:
    """Seconds per forward pass of a uniform [-1, 1] float32 input of ``shape``, ``repeats`` times."""
    torch.manual_seed(0)
    inputs = torch.rand(shape) * 2 - 1
    seconds = []
    with torch.no_grad():
        for run in range(warmup + repeats):
            started = time.perf_counter()
            model(inputs)
            if run >= warmup:
                seconds.append(time.perf_counter() - started)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    load_before = os.getloadavg()[0]
    rows = []
    for name, build, shape in CASES:
        try:
            model, weights = build()
        except Exception as error:  # noqa: BLE001 - one missing model must not hide the others
            print(f"skip {name}: {type(error).__name__}: {error}", file=sys.stderr)
            continue
        seconds = time_forward(model.eval(), shape, args.repeats, args.warmup)
        clip = f"{shape[2]}x{shape[3]}x{shape[4]}"
        mean = statistics.mean(seconds)
        std = statistics.stdev(seconds) if len(seconds) > 1 else 0.0
        rows.append(
            {
                "model": name,
                "clip_TxHxW": clip,
                "weights": weights,
                "mean_s": f"{mean:.3f}",
                "std_s": f"{std:.3f}",
                "repeats": len(seconds),
                "warmup": args.warmup,
            }
        )
        print(f"{name:16s} {clip:12s} {mean:7.3f} ± {std:.3f} s  ({weights})", file=sys.stderr)

    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "cpu-model-forward.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["model"])
        writer.writeheader()
        writer.writerows(rows)
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads"
    )
    lines = [
        "# CPU forward time per clip",
        "",
        f"Batch 1, float32, `torch.no_grad`, {args.warmup} warm-up run(s), then mean ± std over {args.repeats} runs.",
        f"Machine: {machine}; 1-minute load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after",
        "(other jobs share the CPU when the load exceeds the thread count, which inflates the spread).",
        "Written by `python benchmarks/model_forward.py`.",
        "",
        "| model | clip T×H×W | weights | seconds per clip |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['model']} | {r['clip_TxHxW']} | {r['weights']} | {r['mean_s']} ± {r['std_s']} |" for r in rows]
    (RESULTS / "cpu-model-forward.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
