"""Every explanation method on torchvision's video networks: runs or refuses, DTD conservation, cost.

For each of ``torchvision:r3d_18``, ``mc3_18``, ``r2plus1d_18`` and ``s3d`` (random weights with
BatchNorm statistics from one train-mode pass, as a trained network would have them; no weight
hub is reachable here) and each method of ``videoxai.explain.ALL_METHODS``:

* whether it runs, or the one-line reason it refuses;
* for DTD, the relative conservation error |Σ R − logit| / |logit|;
* seconds per clip (median of ``--repeats`` after one warm-up) at the network's native clip
  (16 x 112 x 112 for the ResNets), for S3D at 16 x 224 x 224 (its documented 128-frame clip is
  8x the work). The perturbation methods (occlusion, flow occlusion, FEP, extremal perturbation)
  only run forward passes: their cost is (number of passes) x the forward time listed in the
  ``forward`` row; they are checked for running at 8 x 32 x 32 (S3D: 14 x 224 x 224) with a
  handful of passes, as in the tests.

Writes ``benchmarks/results/cpu-torchvision-methods.md`` and ``.csv``. Not a test.

    python benchmarks/torchvision_methods.py --repeats 3
"""

from __future__ import annotations

import argparse
import csv
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.explain import ALL_METHODS, get_explainer
from videoxai.models import load

RESULTS = Path(__file__).resolve().parent / "results"
NATIVE = {"r3d_18": (16, 112), "mc3_18": (16, 112), "r2plus1d_18": (16, 112), "s3d": (16, 224)}
SMALL = {"r3d_18": (8, 32), "mc3_18": (8, 32), "r2plus1d_18": (8, 32), "s3d": (14, 224)}
PERTURBATION = ("occlusion", "flow_occlusion", "flow_occlusion_approx", "fep", "extremal_perturbation")
CHEAP = {
    "occlusion": {"size": 16, "stride": 16, "temporal_size": 8, "temporal_stride": 8},
    "flow_occlusion": {"size": 16, "stride": 16, "temporal_size": 8, "temporal_stride": 8},
    "flow_occlusion_approx": {"size": 16, "stride": 16, "temporal_size": 8, "temporal_stride": 8},
    "fep": {"iterations": 2},
    "extremal_perturbation": {"iterations": 2},
}


def trained_like(model: nn.Module, shape) -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm3d):
                module.momentum = None
                module.reset_running_stats()
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.uniform_(-0.1, 0.1, generator=generator)
        model.train()
        model(torch.rand((2,) + shape) * 2 - 1)
    return model.eval()


def timed(function, repeats: int) -> tuple[float, object]:
    result = function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--archs", nargs="+", default=list(NATIVE))
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = []
    for arch in args.archs:
        frames, size = NATIVE[arch]
        shape = (3, frames, size, size)
        model, spec = load(f"torchvision:{arch}", num_classes=101)
        model = trained_like(model, shape)
        inputs = torch.rand((1,) + shape) * 2 - 1
        with torch.no_grad():
            seconds, _ = timed(lambda: model(inputs), args.repeats)
        rows.append(
            {
                "arch": arch,
                "method": "forward",
                "input": f"{frames}x{size}x{size}",
                "status": "runs",
                "conservation_error": "",
                "seconds_per_clip": f"{seconds:.2f}",
            }
        )
        print(rows[-1], flush=True)
        for method in ALL_METHODS:
            perturbation = method in PERTURBATION
            small_frames, small_size = SMALL[arch]
            clip = torch.rand((1, 3, small_frames, small_size, small_size)) * 2 - 1 if perturbation else inputs
            row = {
                "arch": arch,
                "method": method,
                "input": "x".join(map(str, clip.shape[2:])),
                "conservation_error": "",
                "seconds_per_clip": "",
            }
            try:
                explainer = get_explainer(method, model, spec=spec, **(CHEAP.get(method, {}) if perturbation else {}))
                if perturbation:
                    result = explainer.attribute(clip)
                    row["seconds_per_clip"] = "passes x forward"
                else:
                    seconds, result = timed(lambda: explainer.attribute(clip), args.repeats)
                    row["seconds_per_clip"] = f"{seconds:.2f}"
                row["status"] = "runs"
                if method == "dtd":
                    logit = result.logits.gather(1, result.target[:, None])[:, 0]
                    error = ((result.relevance.flatten(1).sum(1) - logit).abs() / logit.abs()).max().item()
                    row["conservation_error"] = f"{error:.1e}"
            except VideoXAIError as error:
                row["status"] = f"refuses: {error}"
            rows.append(row)
            print(row, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "cpu-torchvision-methods.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# Explanation methods on torchvision's video networks (CPU)",
        "",
        f"`python benchmarks/torchvision_methods.py --repeats {args.repeats}` on {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, Python {sys.version.split()[0]}; "
        "random weights with BatchNorm statistics from one train-mode pass, 101 classes, one clip. "
        "Median of the repeats after a warm-up. The CPU was shared with other jobs, so times are upper bounds. "
        "Perturbation methods were run at the small input with a handful of passes only.",
        "",
        "| network | method | input (T x H x W) | runs | DTD conservation error | seconds per clip |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['arch']} | {row['method']} | {row['input']} | {row['status']} | "
            f"{row['conservation_error']} | {row['seconds_per_clip']} |"
        )
    (RESULTS / "cpu-torchvision-methods.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
