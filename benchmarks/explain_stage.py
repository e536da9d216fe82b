"""What an explain job costs besides the explanations, and what batching and sharing save (not a test).

Sections (each writes its own table under benchmarks/results/, prefixed by the device):

* ``startup``: a fresh Python process importing torch + zennit + the library (what every job
  pays), and loading each model, median of repeats.
* ``libraries``: the four paper methods on one clip as the project computes them (one
  ``explain_clips`` call: Guided Grad-CAM reuses Grad-CAM and Guided BP) against captum
  (LayerGradCam + trilinear upsampling, GuidedBackprop, GuidedGradCam) and zennit (the same
  DTD composite through ``zennit.attribution.Gradient``) called directly on the same model, with
  the largest relative difference of each map.
* ``dryrun``: ``snakemake -n`` over a tree of empty files named as the UCF-101 split-1 test
  list (3,783 videos): jobs per rule and the time to build the DAG, per ``explain.videos_per_job``;
  with ``--compare-with`` checkouts, each one's workflow on the same tree at the first
  ``--videos-per-job``, written to ``ucf101-dryrun-compare`` (how a change to the workflow's
  layout moves the DAG's size and build time).
* ``stage``: the explain stage of the 25 shared UCF-101 clips (config/ucf101_sample.yaml, with
  ``--stage-clips`` clips per video at ``--size``) run for real, once with this checkout and once
  with each ``--compare-with`` checkout (e.g. a worktree of the commit before bucket jobs): the
  clips are decoded first, then only the explain jobs are timed.

    python benchmarks/explain_stage.py startup libraries dryrun
    python benchmarks/explain_stage.py stage --compare-with /tmp/before --size 112 --stage-clips 1
    python benchmarks/explain_stage.py dryrun --videos-per-job 16 --compare-with /tmp/before --repeats 3
    python benchmarks/explain_stage.py libraries --device cuda --size 224 --frames 16
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SPLITS = REPO.parent / "shared" / "data" / "ucfTrainTestlist"


def write_table(name: str, device: str, header: list[str], rows: list[list], notes: list[str]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"{device}-{name}.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    lines = [f"# {name} ({device})", "", *notes, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    markdown = RESULTS / f"{device}-{name}.md"
    markdown.write_text("\n".join(lines) + "\n")
    print(markdown.read_text())
    return markdown


def machine_notes(device: str) -> list[str]:
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu = f"{os.cpu_count()} CPUs, load {load:.1f} at the start"
    gpu = torch.cuda.get_device_name(0) if device == "cuda" and torch.cuda.is_available() else "no GPU"
    return [
        f"Machine: {platform.machine()}, {cpu}, {gpu}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {time.strftime('%Y-%m-%d')}."
    ]


def median_and_spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f}, n = {len(values)})"


def startup(args) -> None:
    snippets = {
        "import torch": "import torch",
        "import torch, zennit, videoxai.study.explain (a job's imports)": "import torch, zennit, videoxai.study.explain",
    }
    models = {
        "load i3d_kinetics400": "from videoxai.models import load; load('i3d_kinetics400', device='{device}', fetch=False)",
        "load c3d (80 M parameters, random)": "from videoxai.models import load; load('c3d', random_init=True, device='{device}')",
    }
    rows = []
    for label, code in snippets.items():
        seconds = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            seconds.append(time.perf_counter() - began)
        rows.append([label, median_and_spread(seconds)])
    for label, code in models.items():
        timer = (
            "import time, torch, videoxai.study.explain; began = time.perf_counter(); "
            f"{code.format(device=args.device)}; "
            "torch.cuda.synchronize() if torch.cuda.is_available() else None; "
            "print(time.perf_counter() - began)"
        )
        seconds = [
            float(
                subprocess.run(
                    [sys.executable, "-c", timer], check=True, capture_output=True, text=True
                ).stdout.split()[-1]
            )
            for _ in range(args.repeats)
        ]
        rows.append([label, median_and_spread(seconds)])
    write_table(
        "job-startup",
        args.device,
        ["step (fresh process)", "seconds"],
        rows,
        [
            *machine_notes(args.device),
            "Every job of a stage that loads a model pays the imports and the load "
            "before its first clip; a bucket job pays them once for all its videos.",
        ],
    )


def captum_zennit_maps(model, spec, inputs, target, layer):
    """The four paper maps computed with captum and zennit directly: (N, T, H, W) each."""
    import torch
    import torch.nn.functional as F
    from captum.attr import GuidedBackprop, GuidedGradCam, LayerGradCam
    from zennit.attribution import Gradient

    from videoxai.explain import DTD

    maps = {}
    dtd = DTD(model, spec=spec)
    low, high = dtd.bounds_at_first_layer(inputs)
    with Gradient(model=model, composite=dtd.composite(low, high)) as attributor:
        one_hot = torch.zeros(len(inputs), spec.num_classes, device=inputs.device)
        one_hot[torch.arange(len(inputs)), target] = 1.0
        _, relevance = attributor(inputs, lambda output: one_hot * output)
    maps["dtd"] = relevance.sum(1)
    cam = LayerGradCam(model, layer).attribute(inputs, target=target, relu_attributions=True)
    maps["gradcam"] = F.interpolate(cam, size=inputs.shape[2:], mode="trilinear", align_corners=False)[:, 0]
    maps["guided_backprop"] = GuidedBackprop(model).attribute(inputs, target=target).sum(1)
    maps["guided_gradcam"] = (
        GuidedGradCam(model, layer).attribute(inputs, target=target, interpolate_mode="trilinear").sum(1)
    )
    return maps


def libraries(args) -> None:
    import numpy as np
    import torch

    from videoxai.data.shards import shard_key
    from videoxai.explain import METHODS
    from videoxai.explain.batched import explain_clips
    from videoxai.models import load

    torch.manual_seed(0)
    model, spec = load("i3d_kinetics400", device=args.device, fetch=False)
    clips = np.random.default_rng(0).integers(0, 256, (args.clips, args.frames, args.size, args.size, 3), np.uint8)
    from dataclasses import replace

    spec = replace(spec, size=args.size)
    inputs = spec.preprocess(clips, device=args.device)
    layer = model.get_submodule(model.cam_layer)
    with torch.no_grad():
        target = model(inputs).argmax(1)

    def synchronise():
        if args.device == "cuda":
            torch.cuda.synchronize()

    project, reference = [], []
    for repeat in range(args.repeats + 1):  # the first of each is a warm-up
        synchronise()
        began = time.perf_counter()
        arrays = explain_clips(model, spec, clips, list(METHODS), batch_size=args.clips, device=args.device)
        synchronise()
        if repeat:
            project.append(time.perf_counter() - began)
        began = time.perf_counter()
        maps = captum_zennit_maps(model, spec, inputs, target, layer)
        synchronise()
        if repeat:
            reference.append(time.perf_counter() - began)
    rows = []
    for method in METHODS:
        ours = torch.as_tensor(arrays[shard_key("explain", "relevance", method=method)])
        theirs = maps[method].detach().cpu()
        error = float((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-30))
        rows.append([f"map {method}", f"max abs(ours - theirs) / max abs(theirs) = {error:.1e}"])
    ratio = [ours / theirs for ours, theirs in zip(project, reference)]
    rows += [
        ["project: explain_clips, 4 methods (s)", median_and_spread(project)],
        ["captum + zennit directly, 4 methods (s)", median_and_spread(reference)],
        ["project / libraries", median_and_spread(ratio)],
    ]
    write_table(
        "explain-vs-libraries",
        args.device,
        ["what", "value"],
        rows,
        [
            *machine_notes(args.device),
            f"I3D (BatchNorm folded), {args.clips} clip(s) of {args.frames}x{args.size}x"
            f"{args.size}, the same top-1 target for both; {args.repeats} timed repeats after one warm-up.",
        ],
    )


def fake_ucf101_tree(root: Path) -> tuple[Path, int]:
    """Empty files named as the split-1 test list (from ../shared when present, else generated)."""
    split_dir = root / "splits"
    split_dir.mkdir(parents=True)
    if (SPLITS / "testlist01.txt").is_file():
        names = [line.split()[0] for line in (SPLITS / "testlist01.txt").read_text().splitlines() if line.strip()]
        (split_dir / "classInd.txt").write_text((SPLITS / "classInd.txt").read_text())
    else:  # 101 classes x 37 or 38 videos, the list's shape
        classes = [f"Class{index:03d}" for index in range(101)]
        (split_dir / "classInd.txt").write_text("".join(f"{i + 1} {name}\n" for i, name in enumerate(classes)))
        names = [f"{classes[i % 101]}/v_{classes[i % 101]}_g{i // 101:02d}_c01.avi" for i in range(3783)]
    (split_dir / "testlist01.txt").write_text("\n".join(names) + "\n")
    for name in names:
        path = root / "videos" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return split_dir, len(names)


def run_snakemake(checkout: Path, folder: Path, *arguments: str) -> subprocess.CompletedProcess:
    """The workflow of ``checkout`` (its own library first on the path) on ``folder/config.yaml``."""
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("snakemake")),
            "--snakefile",
            str(checkout / "Snakefile"),
            "--directory",
            str(folder),
            "--configfile",
            str(folder / "config.yaml"),
            "--quiet",
            "rules",
            *arguments,
        ],
        capture_output=True,
        text=True,
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout / "src")},
    )


def checkout_label(checkout: Path) -> str:
    """``<folder> @ <short commit>`` of a checkout."""
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return f"{checkout.name} @ {commit or 'unknown'}"


def dryrun(args) -> None:
    import yaml

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        split_dir, count = fake_ucf101_tree(folder)
        compared = [Path(checkout) for checkout in args.compare_with]
        if compared:  # the same tree, settings and job size through each checkout's workflow, interleaved
            runs = [(checkout, args.videos_per_job[0]) for _ in range(args.repeats) for checkout in [REPO, *compared]]
        else:
            runs = [(REPO, per_job) for per_job in args.videos_per_job]
        for checkout, per_job in runs:
            config = {
                "videos": {
                    "source": "ucf101",
                    "root": str(folder / "videos"),
                    "ucf101": {"split_dir": str(split_dir), "split": 1, "subset": "test"},
                },
                "model": {"name": "c3d", "weights": None, "options": {"random_init": True}},
                "faithfulness": {"enabled": True},
            }
            config["explain"] = {"videos_per_job": per_job}
            (folder / "config.yaml").write_text(yaml.safe_dump(config))
            began = time.perf_counter()
            completed = run_snakemake(checkout, folder, "-n", "--cores", "1")
            seconds = time.perf_counter() - began
            if completed.returncode:
                raise SystemExit(completed.stdout[-2000:] + completed.stderr[-2000:])
            table = completed.stdout.split("Job stats:", 1)[-1]
            jobs = {rule: int(number) for rule, number in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M)}
            label = f"{per_job} ({checkout_label(checkout)})" if compared else str(per_job)
            rows.append(
                [
                    label,
                    jobs.get("explain", 0),
                    jobs.get("faithfulness", 0),
                    jobs.get("decode", 0),
                    jobs.get("total", 0),
                    f"{seconds:.1f}",
                ]
            )
    write_table(
        "ucf101-dryrun-compare" if compared else "ucf101-dryrun",
        "cpu",
        ["explain.videos_per_job", "explain jobs", "faithfulness jobs", "decode jobs", "all jobs", "dry run (s)"],
        rows,
        [
            *machine_notes("cpu"),
            f"{count} empty files named as UCF-101 split-1's test list; "
            "faithfulness on; dry run wall time includes Snakemake's start-up and the listing.",
        ],
    )


def stage(args) -> None:
    import yaml

    shared = Path(os.environ.get("VIDEOXAI_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (shared / "ucf101_sample").is_dir():
        raise SystemExit(f"no UCF-101 sample under {shared}")
    rows = []
    for checkout in [REPO, *args.compare_with]:
        checkout = Path(checkout).resolve()
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            config = yaml.safe_load((REPO / "config" / "ucf101_sample.yaml").read_text())
            config.update(results=str(folder / "results"), resources=str(REPO / "resources"), device=args.device)
            config["videos"]["root"] = str(shared / "ucf101_sample")
            config["clips"]["max_per_video"] = args.stage_clips
            config["model"]["spec"] = {"size": args.size, "resize_short_side": round(args.size * 8 / 7)}
            config["explain"]["threads"] = os.cpu_count()
            (folder / "config.yaml").write_text(yaml.safe_dump(config))
            cores = str(os.cpu_count())
            decoded = run_snakemake(checkout, folder, "--cores", cores, "--until", "decode")
            if decoded.returncode:
                raise SystemExit(decoded.stdout[-3000:] + decoded.stderr[-3000:])
            began = time.perf_counter()
            done = run_snakemake(checkout, folder, "--cores", cores, "--until", "explain")
            seconds = time.perf_counter() - began
            if done.returncode:
                raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
            jobs = len(list((folder / "results" / "logs" / "explain").glob("*.log")))
            clips = 25 * args.stage_clips
            label = "this checkout" if checkout == REPO.resolve() else f"{checkout.name} (compared)"
            rows.append([label, jobs, f"{seconds:.0f}", f"{seconds / clips:.2f}"])
    write_table(
        "ucf101-sample-explain-stage",
        args.device,
        ["checkout", "explain jobs", "wall time (s)", "s per clip"],
        rows,
        [
            *machine_notes(args.device),
            f"The explain stage of config/ucf101_sample.yaml on the 25 shared clips: "
            f"I3D, the paper's four methods, {args.stage_clips} clip(s) per video at 16x{args.size}x{args.size}, "
            "decoded beforehand; wall time of `snakemake --until explain`, each explain job using all "
            f"{os.cpu_count()} cores (explain.threads), so jobs run one after another.",
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sections", nargs="+", choices=("startup", "libraries", "dryrun", "stage"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clips", type=int, default=1, help="clips per call (libraries)")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--videos-per-job", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--stage-clips", type=int, default=1, help="clips per video (stage)")
    parser.add_argument("--compare-with", nargs="*", default=[], help="other checkouts to time (stage)")
    args = parser.parse_args()
    for section in args.sections:
        {"startup": startup, "libraries": libraries, "dryrun": dryrun, "stage": stage}[section](args)


if __name__ == "__main__":
    main()
