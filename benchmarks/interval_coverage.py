"""How often the study's video-level intervals cover the true mean, with 4 to 50 videos.

Simulated studies whose true mean is known, each summarised the way the tables summarise a
metric: ``videoxai.evaluation.stats.bootstrap_mean(values, videos, method=...)`` for a
clip-weighted mean, and the same on the per-clip differences for a paired change (what
``paired_difference`` and the tables' Δ columns do). Every interval is the library's own, with
the study's defaults (95 %, 2,000 resamples, seed 0), except ``studentized``: a cluster
bootstrap-t (resampled means standardised by their own between-video standard error), a
comparison the study does not offer, written here.

Designs (clips nested in videos; between-video spread larger than within, as in the study,
where scene and camera make a video's clips alike):

* ``normal``: value = b_video + e_clip, b ~ N(0, 1), e ~ N(0, 0.5²), 2 clips per video; true
  mean 0. The textbook case: the t interval is exact here.
* ``precision``: a motion precision in (0, 1): expit(logit 0.3 + b_video + e_clip), b ~ N(0, 1),
  e ~ N(0, 0.5²), 1 to 3 clips per video (uniform); skewed and bounded like Table 1's values.
* ``change``: the paired change selective − baseline of ``precision``: the selective value
  is expit(logit 0.3 + 0.4 + b_video + u_video + e_clip + f_clip), u ~ N(0, 0.5²) (videos respond
  differently), f ~ N(0, 0.25²); the interval is that of the mean per-clip difference.

True means of the logit-normal designs by Gauss–Hermite quadrature. Writes
``benchmarks/results/cpu-interval-coverage.{csv,md}``: per design, number of videos and
method, the coverage with its Monte-Carlo standard error √(p(1 − p)/R) and the mean width.

    python benchmarks/interval_coverage.py               # 2,000 studies per cell, ~1.5 min on 2 cores
    python benchmarks/interval_coverage.py --repetitions 200 --videos 4 8
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import numpy as np
from _results import write_rows_csv

from videoxai.evaluation.stats import LEVEL, RESAMPLES, SEED, bootstrap_mean, t_quantile

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("percentile", "bca", "t", "studentized")
VIDEOS = (4, 8, 15, 50)
DESIGNS = ("normal", "precision", "change")
BASE = math.log(0.3 / 0.7)  # logit of a motion precision of 0.3
CHANGE = 0.4  # the selective maps' shift on the logit scale


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit_normal_mean(location: float, scale: float) -> float:
    """E[expit(location + scale · Z)], Z ~ N(0, 1), by 80-point Gauss–Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    return float((weights * expit(location + scale * nodes)).sum() / math.sqrt(2.0 * math.pi))


def truth(design: str) -> float:
    baseline = logit_normal_mean(BASE, math.sqrt(1.0 + 0.25))
    if design == "normal":
        return 0.0
    if design == "precision":
        return baseline
    return logit_normal_mean(BASE + CHANGE, math.sqrt(1.0 + 0.25 + 0.25 + 0.0625)) - baseline


def simulate(design: str, videos: int, generator: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One study: per-clip values ``(K,)`` and their video ids ``(K,)``."""
    clips = np.full(videos, 2) if design == "normal" else generator.integers(1, 4, size=videos)
    video = np.repeat(np.arange(videos), clips)
    between = generator.normal(0.0, 1.0, size=videos)[video]
    within = generator.normal(0.0, 0.5, size=video.size)
    if design == "normal":
        return between + within, video
    baseline = expit(BASE + between + within)
    if design == "precision":
        return baseline, video
    response = generator.normal(0.0, 0.5, size=videos)[video]
    selective = expit(BASE + CHANGE + between + response + within + generator.normal(0.0, 0.25, size=video.size))
    return selective - baseline, video


def studentized(values: np.ndarray, video: np.ndarray) -> tuple[float, float]:
    """Cluster bootstrap-t: quantiles of (resampled mean − mean) / resampled standard error."""
    sums, counts = np.bincount(video, weights=values), np.bincount(video).astype(float)
    groups = sums.size
    mean = sums.sum() / counts.sum()

    def error(s: np.ndarray, c: np.ndarray) -> np.ndarray:
        centre = s.sum(axis=-1) / c.sum(axis=-1)
        residuals = s - centre[..., None] * c
        return np.sqrt(groups / (groups - 1) * (residuals**2).sum(axis=-1)) / c.sum(axis=-1), centre

    standard, _ = error(sums, counts)
    draws = np.random.default_rng(SEED).integers(0, groups, size=(RESAMPLES, groups))
    resampled_error, resampled = error(sums[draws], counts[draws])
    with np.errstate(divide="ignore", invalid="ignore"):
        # A resample of one video repeated has no spread: its t is infinite (0 when it hits the mean).
        statistic = np.where(
            resampled_error > 0, (resampled - mean) / resampled_error, np.sign(resampled - mean) * np.inf
        )
    alpha = (1.0 - LEVEL) / 2.0
    low, high = np.quantile(statistic, [alpha, 1.0 - alpha], method="inverted_cdf")
    return float(mean - high * standard), float(mean - low * standard)


def interval(method: str, values: np.ndarray, video: np.ndarray) -> tuple[float, float]:
    if method == "studentized":
        return studentized(values, video)
    result = bootstrap_mean(values, video, method=method)
    return result.low, result.high


def run(designs, videos, repetitions: int, seed: int) -> list[dict]:
    rows = []
    for design in designs:
        target = truth(design)
        for count in videos:
            generator = np.random.default_rng([seed, DESIGNS.index(design), count])
            covered = {method: 0 for method in METHODS}
            widths = {method: [] for method in METHODS}
            truth_below = {method: 0 for method in METHODS}
            started = time.perf_counter()
            for _ in range(repetitions):
                values, video = simulate(design, count, generator)
                for method in METHODS:
                    low, high = interval(method, values, video)
                    covered[method] += low <= target <= high
                    truth_below[method] += target < low
                    widths[method].append(high - low)
            for method in METHODS:
                share = covered[method] / repetitions
                rows.append(
                    {
                        "design": design,
                        "videos": count,
                        "method": method,
                        "repetitions": repetitions,
                        "coverage": share,
                        "coverage_se": math.sqrt(share * (1.0 - share) / repetitions),
                        "truth_below_interval": truth_below[method] / repetitions,
                        "truth_above_interval": 1.0 - share - truth_below[method] / repetitions,
                        "mean_width": float(np.mean(widths[method])),
                        "median_width": float(np.median(widths[method])),
                        "truth": target,
                    }
                )
            print(
                f"{design:9s} {count:3d} videos: "
                + "  ".join(f"{m} {covered[m] / repetitions:.3f}" for m in METHODS)
                + f"  ({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
    return rows


def markdown(rows: list[dict], repetitions: int, seconds: float) -> str:
    designs = list(dict.fromkeys(row["design"] for row in rows))
    videos = list(dict.fromkeys(row["videos"] for row in rows))
    lines = [
        f"# Coverage of the video-level 95 % intervals (cpu, {platform.machine()})",
        "",
        f"{repetitions} simulated studies per cell (designs in `benchmarks/interval_coverage.py`); each cell: "
        "coverage ± its Monte-Carlo standard error, then the mean width. Nominal 95 %; the bootstrap "
        f"methods use {RESAMPLES} resamples, seed {SEED}. `studentized` is a comparison the study does not offer. "
        f"Run time {seconds:.0f} s.",
    ]
    t_half = {count: t_quantile(0.5 + LEVEL / 2.0, count - 1) for count in videos}
    for design in designs:
        lines += [
            "",
            f"## {design} (true mean {next(r['truth'] for r in rows if r['design'] == design):.4f})",
            "",
            "| Method | " + " | ".join(f"{count} videos" for count in videos) + " |",
            "|:---|" + "---:|" * len(videos),
        ]
        for method in METHODS:
            cells = []
            for count in videos:
                row = next(r for r in rows if (r["design"], r["videos"], r["method"]) == (design, count, method))
                width = row["mean_width"]
                cells.append(
                    f"{100 * row['coverage']:.1f} ± {100 * row['coverage_se']:.1f} % "
                    f"(width {'∞' if math.isinf(width) else f'{width:.3g}'})"
                )
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Where the t interval misses (truth below / above the interval, %)",
        "",
        "| Design | " + " | ".join(f"{count} videos" for count in videos) + " |",
        "|:---|" + "---:|" * len(videos),
    ]
    for design in designs:
        cells = []
        for count in videos:
            row = next(r for r in rows if (r["design"], r["videos"], r["method"]) == (design, count, "t"))
            cells.append(f"{100 * row['truth_below_interval']:.1f} / {100 * row['truth_above_interval']:.1f}")
        lines.append(f"| {design} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "A bootstrap interval (percentile, BCa) lies within the range of the video means, which misses a "
        "symmetric truth with probability 2 · 2^−G: with 4 videos it cannot cover more than 87.5 %. "
        "t(0.975, G − 1) = " + ", ".join(f"{t_half[count]:.3f} (G = {count})" for count in videos) + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=2000, help="simulated studies per design and size")
    parser.add_argument("--videos", type=int, nargs="+", default=list(VIDEOS))
    parser.add_argument("--designs", nargs="+", choices=DESIGNS, default=list(DESIGNS))
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated data")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of cpu-interval-coverage.{csv,md}")
    arguments = parser.parse_args()
    started = time.perf_counter()
    rows = run(arguments.designs, arguments.videos, arguments.repetitions, arguments.seed)
    seconds = time.perf_counter() - started
    arguments.out.mkdir(parents=True, exist_ok=True)
    write_rows_csv(arguments.out / "cpu-interval-coverage.csv", rows, device="cpu")
    text = markdown(rows, arguments.repetitions, seconds)
    (arguments.out / "cpu-interval-coverage.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
