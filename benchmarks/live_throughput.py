"""Live explanation of a stream (not a test): explanations per second and latency, as ``videoxai live`` runs it.

A video file is played at 25 fps through :class:`videoxai.live.session.LiveSession` (reader thread +
explainer thread, newest window first, stale windows dropped), with no page. For each model and
method the session runs ``--seconds`` after its first explanation (which pays the warm-up and is
left out), and reports:

* explanations per second over that time,
* latency from the capture of a window's newest frame to its overlay being ready (median, p95),
* windows dropped per explanation, and the frame rate the reader actually kept.

Models: pretrained I3D (Kinetics-400) on 16-frame windows at 224x224, and C3D at a quarter of its
width (random weights, as in explain_throughput.py) at its native 16x112x112. Writes
``benchmarks/results/<device>-live.csv`` and ``.md``.

    python benchmarks/live_throughput.py                      # CPU, 25 s per measurement
    python benchmarks/live_throughput.py --device cuda --seconds 20
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from _results import write_rows_csv

from videoxai.live.explainer import LiveExplainer, LiveSettings
from videoxai.live.session import LiveSession
from videoxai.live.source import open_source
from videoxai.live.stats import percentile
from videoxai.models import load

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_DATA = Path(os.environ.get("VIDEOXAI_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

# label -> (loader name, loader options, window length T)
MODELS = {
    "i3d_16x224": ("i3d_kinetics400", {}, 16),
    "c3d_w0.25_16x112": ("c3d", {"random_init": True, "width": 0.25, "num_classes": 101}, 16),
}
METHODS = ("gradcam", "guided_backprop")


def default_video(work: Path) -> tuple[Path, str]:
    """A real UCF-101 sample clip (25 fps) when the shared data is here, else a generated 25 fps clip."""
    samples = sorted((SHARED_DATA / "ucf101_sample").glob("*/*.mp4"))
    if samples:
        return samples[0], f"UCF-101 sample {samples[0].name}"
    path = work / "generated_25fps.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (320, 240))
    for index in range(250):
        frame = np.full((240, 320, 3), 40, dtype=np.uint8)
        frame[80:160, (index * 3) % 240 : (index * 3) % 240 + 80] = (40, 180, 230)
        writer.write(frame)
    writer.release()
    return path, "generated 320x240 clip (a square moving over a dark background)"


def measure(label, method, model, spec, clip_length, video: Path, seconds: float, device: str) -> dict:
    source = open_source(str(video), loop=True)
    if abs((source.fps or 0) - 25.0) > 0.5:
        raise SystemExit(f"{video}: plays at {source.fps} fps, the benchmark wants a 25 fps file")
    explainer = LiveExplainer(model, spec, LiveSettings(method, 4.0), device=device)
    session = LiveSession(source, explainer, clip_length=clip_length).start()
    load_before = os.getloadavg()
    try:
        while not session.stats.history():  # the first explanation pays the warm-up
            if not session.running:
                raise RuntimeError(f"{label}/{method}: the session stopped: {session.errors}")
            time.sleep(0.05)
        started = time.monotonic()
        frames_at_start = session.stats.figures().frames_read
        time.sleep(seconds)
        ended = time.monotonic()
        frames_read = session.stats.figures().frames_read - frames_at_start
    finally:
        session.stop(timeout=120)
    load_after = os.getloadavg()
    history = [entry for entry in session.stats.history()[1:] if entry[1] <= ended]
    if not history:
        raise RuntimeError(f"{label}/{method}: no explanation finished within {seconds} s; give more --seconds")
    latencies = sorted(finished - captured for captured, finished, _ in history)
    return {
        "model": label,
        "method": method,
        "input": f"{clip_length}x{spec.size}x{spec.size}",
        "seconds_measured": round(ended - started, 2),
        "explanations": len(history),
        "explanations_per_s": len(history) / (ended - started),
        "latency_median_s": percentile(latencies, 50.0),
        "latency_p95_s": percentile(latencies, 95.0),
        "latency_max_s": latencies[-1],
        "dropped_per_explanation": statistics.fmean(dropped for _, _, dropped in history),
        "reader_fps": frames_read / (ended - started),
        "load_1min_before": load_before[0],
        "load_1min_after": load_after[0],
    }


def write_markdown(rows, path: Path, description: str, video: str, args) -> None:
    lines = [
        f"# Live explanation on {description}",
        "",
        f"`videoxai.live.session.LiveSession` fed by a file at 25 fps ({video}), newest window first, stale windows "
        f"dropped, selective n = 4, target top-1. Each row: {args.seconds:g} s after the first explanation "
        "(warm-up, left out). Latency: capture of a window's newest frame to its overlays being drawn.",
        "",
        "| Model | Input | Method | Explanations/s | Latency median (s) | Latency p95 (s) | Dropped per explanation | Reader fps | Load (1 min) |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['input']} | {r['method']} | {r['explanations_per_s']:.2f} | {r['latency_median_s']:.2f} "
            f"| {r['latency_p95_s']:.2f} | {r['dropped_per_explanation']:.1f} | {r['reader_fps']:.1f} "
            f"| {r['load_1min_before']:.1f} → {r['load_1min_after']:.1f} |"
        )
    cores = os.cpu_count()
    lines += [
        "",
        f"Notes: {cores} logical CPUs, {torch.get_num_threads()} torch threads. The load column is the 1-minute "
        "load average before and after each measurement: above the number of CPUs means other processes "
        "shared the CPU, and the figures are lower than on an idle machine. Fewer explanations per second "
        "mean more dropped windows, not more latency: a window waits at most for the explanation in progress.",
    ]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--seconds", type=float, default=25.0, help="measured time per model and method (default: %(default)s)"
    )
    parser.add_argument(
        "--video", type=Path, help="a 25 fps video (default: a UCF-101 sample clip, else a generated one)"
    )
    parser.add_argument("--models", help="comma-separated subset of " + ",".join(MODELS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda":
        description = f"{torch.cuda.get_device_name(device)} (CUDA)"
    else:
        description = f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads)"
    with tempfile.TemporaryDirectory() as work:
        video, video_description = (args.video, args.video.name) if args.video else default_video(Path(work))
        rows = []
        for label in args.models.split(",") if args.models else MODELS:
            name, options, clip_length = MODELS[label]
            model, spec = load(name, device=args.device, **options)
            for method in args.methods.split(","):
                row = measure(label, method, model, spec, clip_length, video, args.seconds, args.device)
                print(row, flush=True)
                rows.append(row)
            del model
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"{device.type}-live"
    write_rows_csv(stem.with_suffix(".csv"), rows, description)
    write_markdown(rows, stem.with_suffix(".md"), description, video_description, args)
    print(stem.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
