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
  every map on its own scale, or on the clip's scale, and with or without spatial smoothing.

It writes, per preset, method and test, the share of videos flagged for each model and the
AUROC of the test's statistic between the models, to
``benchmarks/results/cpu-calibration-design.{md,csv}``.

    .venv/bin/python benchmarks/calibration_design.py            # both presets, 6 videos per class
    .venv/bin/python benchmarks/calibration_design.py --per-class 10
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
from videoxai.evaluation.correlation import auroc
from videoxai.explain.batched import build_explainers
from videoxai.ground_truth import generator as synthetic
from videoxai.ground_truth.model import read_clips, trained_model
from videoxai.ground_truth.settings import MODELS, BenchmarkSettings
from videoxai.motion.calibrated import smooth
from videoxai.motion.selective import temporal_gradient

METHODS = ["dtd", "gradcam", "guided_backprop", "guided_gradcam"]
ALPHA = 0.05


def explain(model, spec, clips, target):
    explainers = build_explainers(model, spec, METHODS, {})
    inputs = spec.preprocess(clips)
    return {
        m: explainers[m].attribute(inputs, target=torch.as_tensor(target)).relevance.detach().numpy() for m in METHODS
    }


def scale(maps: np.ndarray) -> np.ndarray:
    values = np.abs(maps).reshape(len(maps), -1).mean(1)
    return np.where(values > 0, values, 1.0)


def leave_one_out_flags(statistic: np.ndarray, null: np.ndarray, per_video: int) -> np.ndarray:
    """Each video's statistic against the (1 − α) quantile of the other videos' null statistics."""
    flags = np.empty(len(statistic), bool)
    for index in range(len(statistic)):
        others = np.delete(null, range(index * per_video, (index + 1) * per_video))
        flags[index] = statistic[index] > np.quantile(others, 1 - ALPHA)
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
    return out


def run_preset(preset: str, per_class: int, cache: Path, work: Path) -> list[dict]:
    settings = BenchmarkSettings(preset=preset, videos_per_class=per_class)
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
        for method in METHODS:
            statistics[(dataset, method)] = designs(maps, method, frame, clips.shape[2])
    records = []
    for method in METHODS:
        for design in statistics[("motion", method)]:
            record = {"preset": preset, "method": method, "design": design}
            for dataset in MODELS:
                statistic, null, per_video = statistics[(dataset, method)][design]
                record[f"flagged_{dataset}"] = float(leave_one_out_flags(statistic, null, per_video).mean())
                record[f"videos_{dataset}"] = len(statistic)
            record["auroc"] = auroc(
                statistics[("motion", method)][design][0], statistics[("context", method)][design][0]
            )
            records.append(record)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=6, help="benchmark videos per class (4 classes)")
    parser.add_argument("--presets", nargs="+", default=["clean", "realistic"])
    parser.add_argument("--cache", default="resources/models/ground_truth")
    parser.add_argument("--work", default="/tmp/videoxai-calibration-design")
    args = parser.parse_args()
    torch.set_num_threads(2)
    began = time.perf_counter()
    records = []
    for preset in args.presets:
        records += run_preset(preset, args.per_class, Path(args.cache), Path(args.work))
    lines = [
        "# calibration-design (cpu)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at the end; torch "
        f"{torch.__version__}; {time.strftime('%Y-%m-%d')}.",
        f"Ground-truth benchmark, {args.per_class} videos per class and model (one clip each); α = {ALPHA}, null "
        f"pooled over the model's other videos; {time.perf_counter() - began:.0f} s. Written by "
        "`benchmarks/calibration_design.py`; the design the library uses is `residual, shift null, clip's scale, "
        "smoothing 0.05`.",
        "",
        "| Preset | Method | Test | Flagged, motion-trained | Flagged, context-trained | AUROC |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in records:
        lines.append(
            f"| {row['preset']} | {row['method']} | {row['design']} | {row['flagged_motion']:.2f} | "
            f"{row['flagged_context']:.2f} | {row['auroc']:.3f} |"
        )
    out = Path(__file__).resolve().parent / "results"
    write_rows_csv(out / "cpu-calibration-design.csv", records, "cpu")
    (out / "cpu-calibration-design.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
