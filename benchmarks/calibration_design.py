"""Which null makes a calibrated selective test? The design choices of videoxai.motion.calibrated, measured.

On the ground-truth benchmark (a motion-trained and a context-trained tiny 3D CNN, both presets),
every benchmark video is explained with the paper's four methods, together with still copies of
its middle frame f (and of frame f + 1) and still copies of frame f shifted by one pixel (right,
down, diagonal). Then several tests are compared, each at α = 0.05 with its null pooled over the
model's videos (leave-one-video-out for the video being tested):

* ``temporal gradient vs still``: the issue's first sketch: the max of the clip's normalised
  |G_t| (temporal Sobel, each map on its own mean |R|), studentised per frame and border band,
  against the same statistic of the still copies;
* ``residual, adjacent-still null``: max |R[f] − S_f[f]| (clip's scale) against the still copies of
  frames f and f + 1 compared with each other;
* ``residual, shift null``: the same residual against still copies shifted by one pixel — with
  every map on its own scale, or on the clip's scale, and with or without spatial smoothing;
* ``residual, shift null with the clip's flicker and noise``: the shifted still copies given each
  frame's lighting gain and fresh sensor noise of the level estimated from the clip;
* ``residual vs camera-and-light still, shift null``: the reference is no longer the plain still
  copy but frame f moved by each frame's estimated whole-pixel camera offset (phase correlation),
  given that frame's gain and fresh noise (everything of the clip but the objects' motion); its
  one-pixel shifts are the null.

Every seed draws its own benchmark videos and trains its own pair of models: the flag rates depend
on the trained instance (a model trained with another torch thread count already differs), so they
are pooled over seeds. It writes, per preset, method and test, the share of videos flagged for each
model (Wilson interval, per-seed range) and the AUROC of the test's statistic between the models,
to ``benchmarks/results/cpu-calibration-design.{md,csv}`` (per seed: ``…-seeds.csv``).

    .venv/bin/python benchmarks/calibration_design.py            # both presets, 9 videos per class, seeds 0 1 2
    .venv/bin/python benchmarks/calibration_design.py --per-class 10 --seeds 0
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_rows_csv

from videoxai.data.copies import SHIFTS, frozen_copy, reference_frame, shifted
from videoxai.evaluation.correlation import auroc, binomial_interval
from videoxai.explain.batched import build_explainers
from videoxai.ground_truth import generator as synthetic
from videoxai.ground_truth.model import read_clips, trained_model
from videoxai.ground_truth.settings import MODELS, BenchmarkSettings
from videoxai.motion.calibrated import smooth
from videoxai.motion.selective import temporal_gradient

METHODS = ["dtd", "gradcam", "guided_backprop", "guided_gradcam"]
ALPHA = 0.05
# a stricter level beside it: a test calibrated at α flags about α of clips without motion
STRICT = 0.01


def explain(model, spec, clips, target):
    explainers = build_explainers(model, spec, METHODS, {})
    inputs = spec.preprocess(clips)
    return {
        m: explainers[m].attribute(inputs, target=torch.as_tensor(target)).relevance.detach().numpy() for m in METHODS
    }


def photometry(clips: np.ndarray, frame: int, reach: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per clip and frame the whole-pixel camera offset (dy, dx) of frame t against frame f (the
    shift within ``reach`` pixels that best matches the grey frames after a gain), the lighting
    gain (mean of frame t over the aligned frame f) and per clip the sensor noise level (robust
    spread of the aligned, gain-corrected difference)."""
    count, length = clips.shape[:2]
    grey = clips.astype(np.float32).mean(-1)
    inner = (slice(reach, -reach), slice(reach, -reach))
    offsets = np.zeros((count, length, 2), int)
    gains = np.ones((count, length))
    noise = np.zeros(count)
    for index in range(count):
        spreads = []
        for t in range(length):
            if t == frame:
                continue
            target = grey[index, t][inner]
            best = None
            for dy in range(-reach, reach + 1):
                for dx in range(-reach, reach + 1):
                    moved = shifted(grey[index, frame][None, None], dy, dx)[0, 0][inner]
                    gain = target.mean() / max(moved.mean(), 1e-6)
                    error = float(np.median(np.abs(target - gain * moved)))  # robust: the moving object is an outlier
                    if best is None or error < best[0]:
                        best = (error, dy, dx, gain)
            _, dy, dx, gains[index, t] = best
            offsets[index, t] = dy, dx
            # the noise is drawn per channel: measure it on the channels, not on their mean
            colour = clips[index, t].astype(np.float32)[inner]
            moved = shifted(clips[index, frame][None, None].astype(np.float32), dy, dx)[0, 0][inner]
            difference = colour - gains[index, t] * moved
            spreads.append(1.4826 * np.median(np.abs(difference - np.median(difference))) / np.sqrt(2))
        noise[index] = float(np.median(spreads)) if spreads else 0.0
    return offsets, gains, noise


def lit_copy(clips, frame, offsets, gains, noise, seed, move=True, extra=(0, 0)) -> np.ndarray:
    """Frame f of every clip repeated, each frame t moved by the clip's camera offset (when
    ``move``) plus ``extra``, given frame t's gain and fresh noise (frame f itself: only ``extra``)."""
    rng = np.random.default_rng(seed)
    base = clips[:, frame].astype(np.float32)
    out = np.empty(clips.shape, np.float32)
    for index in range(len(clips)):
        for t in range(clips.shape[1]):
            dy, dx = (offsets[index, t] if move else (0, 0)) + np.asarray(extra)
            picture = shifted(base[index, None, None], int(dy), int(dx))[0, 0] * gains[index, t]
            if t != frame:
                picture = picture + rng.normal(0.0, noise[index], size=picture.shape)
            out[index, t] = picture
    return np.clip(np.round(out), 0, 255).astype(clips.dtype)


def scale(maps: np.ndarray) -> np.ndarray:
    values = np.abs(maps).reshape(len(maps), -1).mean(1)
    return np.where(values > 0, values, 1.0)


def leave_one_out_flags(statistic: np.ndarray, null: np.ndarray, per_video: int, alpha: float = ALPHA) -> np.ndarray:
    """Each video's statistic against the (1 − α) quantile of the other videos' null statistics."""
    flags = np.empty(len(statistic), bool)
    for index in range(len(statistic)):
        others = np.delete(null, range(index * per_video, (index + 1) * per_video))
        flags[index] = statistic[index] > np.quantile(others, 1 - alpha)
    return flags


def designs(maps: dict, method: str, frame: int, size: int) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Per design: the videos' statistics, the pooled null statistics (per video, in order) and
    how many null statistics each video contributes."""
    clip, still, after, moved = (
        maps["clip"][method],
        maps["still"][method],
        maps["after"][method],
        maps["shifted"][method],
    )
    videos = len(clip)
    out = {}
    # temporal gradient vs still: each map on its own scale, studentised per frame and border band
    own = clip / scale(clip)[:, None, None, None]
    still_own = still / scale(still)[:, None, None, None]
    gradient = np.abs(temporal_gradient(torch.from_numpy(own.astype(np.float32))).numpy())
    null_gradient = np.abs(temporal_gradient(torch.from_numpy(still_own.astype(np.float32))).numpy())
    band = np.ones(clip.shape[1:], bool)
    width = max(1, size // 16)
    band[:, width:-width, width:-width] = False
    spread = np.empty(clip.shape[1:])
    for index in range(clip.shape[1]):
        for inside in (True, False):
            where = band[index] == (not inside)
            spread[index][where] = np.sqrt((null_gradient[:, index][:, where] ** 2).mean()) + 1e-12
    out["temporal gradient vs still"] = (
        (gradient / spread).reshape(videos, -1).max(1),
        (null_gradient / spread).reshape(videos, -1).max(1),
        1,
    )
    c = scale(clip)[:, None, None]
    residual = clip[:, frame] / c - still[:, frame] / c
    adjacent = np.stack(
        [still[:, frame] / c - after[:, frame] / c, after[:, frame + 1] / c - still[:, frame + 1] / c], 1
    )
    out["residual, adjacent-still null"] = (
        np.abs(residual).reshape(videos, -1).max(1),
        np.abs(adjacent).reshape(videos * 2, -1).max(1),
        2,
    )
    for label, normalise in (("own scale", True), ("clip's scale", False)):
        for sigma_share in (0.0, 0.05):
            if normalise:
                d = clip[:, frame] / c - still[:, frame] / scale(still)[:, None, None]
                n = still[:, None, frame] / scale(still)[:, None, None, None] - moved / scale(
                    moved.reshape(videos * 3, 1, size, size)
                ).reshape(videos, 3, 1, 1)
            else:
                d = residual
                n = still[:, None, frame] / c[:, None] - moved / c[:, None]
            sigma = sigma_share * size
            d, n = smooth(d, sigma), smooth(n, sigma)
            name = f"residual, shift null, {label}, smoothing {sigma_share:g}"
            out[name] = (np.abs(d).reshape(videos, -1).max(1), np.abs(n).reshape(videos * 3, -1).max(1), 3)
    sigma = 0.05 * size
    d = smooth(residual, sigma)
    n = smooth(still[:, None, frame] / c[:, None] - maps["lit_shifted"][method] / c[:, None], sigma)
    out["residual, shift null with the clip's flicker and noise"] = (
        np.abs(d).reshape(videos, -1).max(1),
        np.abs(n).reshape(videos * 3, -1).max(1),
        3,
    )
    camera = maps["camera"][method][:, frame]
    d = smooth(clip[:, frame] / c - camera / c, sigma)
    n = smooth(camera[:, None] / c[:, None] - maps["camera_shifted"][method] / c[:, None], sigma)
    out["residual vs camera-and-light still, shift null"] = (
        np.abs(d).reshape(videos, -1).max(1),
        np.abs(n).reshape(videos * 3, -1).max(1),
        3,
    )
    return out


def run_preset(preset: str, per_class: int, cache: Path, work: Path, seed: int = 0) -> list[dict]:
    """One seed's rows: per method and design the flagged count of each model and the AUROC."""
    settings = BenchmarkSettings(preset=preset, videos_per_class=per_class, seed=seed)
    work = work / f"seed{seed}"
    statistics: dict[tuple[str, str], dict[str, tuple]] = {}
    for dataset in MODELS:
        model, spec, _ = trained_model(settings, dataset, cache, work / preset / "training")
        rows = synthetic.make_dataset(settings.dataset(dataset, "benchmark"), work / preset / "videos" / dataset)
        clips, _ = read_clips(rows, spec)
        frame = reference_frame(clips.shape[1])
        with torch.no_grad():
            target = model(spec.preprocess(clips)).argmax(1).numpy()
        still = frozen_copy(clips, frame)
        maps = {
            "clip": explain(model, spec, clips, target),
            "still": explain(model, spec, still, target),
            "after": explain(model, spec, frozen_copy(clips, frame + 1), target),
        }
        moved = [explain(model, spec, shifted(still, dy, dx), target) for dy, dx in SHIFTS[:3]]
        maps["shifted"] = {m: np.stack([part[m][:, frame] for part in moved], 1) for m in METHODS}
        offsets, gains, noise = photometry(clips, frame)
        maps["camera"] = explain(model, spec, lit_copy(clips, frame, offsets, gains, noise, 0), target)
        for name, move in (("lit_shifted", False), ("camera_shifted", True)):
            parts = [
                explain(model, spec, lit_copy(clips, frame, offsets, gains, noise, 1 + k, move, shift), target)
                for k, shift in enumerate(SHIFTS[:3])
            ]
            maps[name] = {m: np.stack([part[m][:, frame] for part in parts], 1) for m in METHODS}
        for method in METHODS:
            statistics[(dataset, method)] = designs(maps, method, frame, clips.shape[2])
    records = []
    for method in METHODS:
        for design in statistics[("motion", method)]:
            record = {"preset": preset, "method": method, "design": design, "seed": seed}
            for dataset in MODELS:
                statistic, null, per_video = statistics[(dataset, method)][design]
                record[f"flagged_{dataset}"] = int(leave_one_out_flags(statistic, null, per_video).sum())
                record[f"strict_{dataset}"] = int(leave_one_out_flags(statistic, null, per_video, STRICT).sum())
                record[f"videos_{dataset}"] = len(statistic)
            record["auroc"] = auroc(
                statistics[("motion", method)][design][0], statistics[("context", method)][design][0]
            )
            records.append(record)
    return records


def pooled(records: list[dict]) -> list[dict]:
    """Per preset, method and design: flag rates pooled over the seeds (each seed a freshly drawn
    benchmark and freshly trained models) with Wilson intervals, the range of the per-seed rates,
    and the AUROC's mean and range over seeds."""
    groups: dict[tuple, list[dict]] = {}
    for row in records:
        groups.setdefault((row["preset"], row["method"], row["design"]), []).append(row)
    out = []
    for (preset, method, design), rows in groups.items():
        row = {"preset": preset, "method": method, "design": design, "seeds": len(rows)}
        for dataset in MODELS:
            videos = sum(r[f"videos_{dataset}"] for r in rows)
            row[f"videos_{dataset}"] = videos
            for level in ("flagged", "strict"):
                flagged = sum(r[f"{level}_{dataset}"] for r in rows)
                low, high = binomial_interval(flagged, videos)
                rates = [r[f"{level}_{dataset}"] / r[f"videos_{dataset}"] for r in rows]
                row |= {
                    f"{level}_{dataset}": flagged / videos,
                    f"{level}_{dataset}_low": low,
                    f"{level}_{dataset}_high": high,
                    f"{level}_{dataset}_seed_min": min(rates),
                    f"{level}_{dataset}_seed_max": max(rates),
                }
        aurocs = [r["auroc"] for r in rows]
        row |= {"auroc": float(np.mean(aurocs)), "auroc_seed_min": min(aurocs), "auroc_seed_max": max(aurocs)}
        out.append(row)
    return out


def rate(row: dict, dataset: str, level: str = "flagged") -> str:
    key = f"{level}_{dataset}"
    text = f"{row[key]:.2f} [{row[f'{key}_low']:.2f}, {row[f'{key}_high']:.2f}]"
    if row["seeds"] > 1:
        text += f" ({row[f'{key}_seed_min']:.2f}–{row[f'{key}_seed_max']:.2f})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=9, help="benchmark videos per class (4 classes)")
    parser.add_argument("--presets", nargs="+", default=["clean", "realistic"])
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[0, 1, 2], help="benchmark seeds: each draws videos and trains models"
    )
    parser.add_argument("--cache", default="resources/models/ground_truth")
    parser.add_argument("--work", default="/tmp/videoxai-calibration-design")
    args = parser.parse_args()
    torch.set_num_threads(2)
    began = time.perf_counter()
    records = []
    for seed in args.seeds:
        for preset in args.presets:
            records += run_preset(preset, args.per_class, Path(args.cache), Path(args.work), seed)
    rows = pooled(records)
    lines = [
        "# calibration-design (cpu)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at the end; torch "
        f"{torch.__version__}; {time.strftime('%Y-%m-%d')}.",
        f"Ground-truth benchmark, {args.per_class} videos per class and model (one clip each) for each of the seeds "
        f"{', '.join(map(str, args.seeds))} (each seed draws its own videos and trains its own models, with 2 torch "
        f"threads); α = {ALPHA}, null pooled over the model's other videos of the same seed; "
        f"{time.perf_counter() - began:.0f} s. Written by `benchmarks/calibration_design.py`; the design the library "
        "uses is `residual, shift null, clip's scale, smoothing 0.05`.",
        "",
        "Flag rates are pooled over the seeds, with a Wilson 95 % interval and, in parentheses, the lowest and "
        "highest rate of a single seed; AUROC of the test's statistic between the two models: mean over seeds "
        "(lowest–highest).",
        "",
        f"| Preset | Method | Test | Flagged, motion-trained | Flagged, context-trained | AUROC | Motion at α = "
        f"{STRICT} | Context at α = {STRICT} |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['preset']} | {row['method']} | {row['design']} | {rate(row, 'motion')} | {rate(row, 'context')} | "
            f"{row['auroc']:.3f} ({row['auroc_seed_min']:.3f}–{row['auroc_seed_max']:.3f}) | "
            f"{rate(row, 'motion', 'strict')} | {rate(row, 'context', 'strict')} |"
        )
    out = Path(__file__).resolve().parent / "results"
    write_rows_csv(out / "cpu-calibration-design.csv", rows, "cpu")
    write_rows_csv(out / "cpu-calibration-design-seeds.csv", records, "cpu")
    (out / "cpu-calibration-design.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
