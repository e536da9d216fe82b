"""How much Table 1 and the ground-truth benchmark move with selective relevance's σ convention.

``selective.sigma`` picks one of three readings of the paper's threshold (docs/explain.md):
``abs`` (the default) keeps ``|G_t| > n·std(|G_t|)``, ``signed`` keeps ``|G_t| > n·std(G_t)`` and
``one_sided`` keeps ``G_t > n·std(G_t)`` (relevance that rises over time). This script measures the
difference on finished data, with nothing but the library's own calls:

``table1``
    Reads a finished study's explain and flow shards (like ``benchmarks/static_control_effect.py``),
    takes the study's selective settings from its selective shards and its motion settings from its
    metrics shards, and for each convention computes the selective maps
    (``selective_from_settings``), the per-clip metrics (``compute_clip_metrics``) and the tables
    (``report.tables.build_tables``): Table 1's precisions at the study's headline τ and Table 3's
    selectivity per method and n, each with its video-level bootstrap interval, and the paired
    difference of every convention to ``abs`` on the same clips (``evaluation.stats``). The
    ``abs`` rows are checked against the study's own ``tables/table1.csv`` when it is there.

``ground-truth``
    Runs the ground-truth benchmark (``videoxai.ground_truth.benchmark.benchmark_one``, the
    workflow's ``ground_truth`` job) once per convention on the two tiny models (trained once and
    cached under ``resources/models/ground_truth/``), and reports the selective maps' precision on
    the evidence, the share of empty maps and the motion share per model, method and convention,
    with intervals, and the paired difference to ``abs`` per video.

Writes ``benchmarks/results/<name>-sigma-conventions.{md,csv}``. Commands::

    # the 25 shared UCF-101 clips: a finished run of config/ucf101_sample.yaml (results/ucf101_sample)
    python benchmarks/sigma_conventions.py table1 --results results/ucf101_sample --name ucf101-sample
    # the embedded default's finished run
    python benchmarks/sigma_conventions.py table1 --results results --name embedded
    # the ground-truth benchmark, clean preset
    python benchmarks/sigma_conventions.py ground-truth --preset clean --name ground-truth-clean
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from videoxai.core.headline import headline_tau  # noqa: E402
from videoxai.core.methods import method_label  # noqa: E402
from videoxai.data.shards import read_shard, shard_key  # noqa: E402
from videoxai.evaluation.metrics import PRECISION_METRICS, ordered_methods  # noqa: E402
from videoxai.evaluation.stats import (  # noqa: E402
    Interval,
    bootstrap_mean,
    bootstrap_settings,
    interval_text,
    paired_difference,
)
from videoxai.motion.selective import SIGMAS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
REFERENCE = "abs"
SELECTIVITY = ("selectivity_voxels", "selectivity_relevance")
LABELS = {"precision": "P (R>0)", "weighted_precision": "P (weighted)", "topq_precision": "P (top q)"}


def _config(shard) -> dict:
    text = shard.attributes.get("config") or "{}"
    return json.loads(text) if isinstance(text, str) else dict(text)


def _cells(prefix: str, interval: Interval) -> dict:
    return {
        f"{prefix}_mean": interval.mean,
        f"{prefix}_low": interval.low,
        f"{prefix}_high": interval.high,
        f"{prefix}_clips": interval.clips,
    }


def _interval(row: pd.Series | dict, prefix: str, scale: float = 100.0, digits: int = 1, signed: bool = False) -> str:
    mean = row.get(f"{prefix}_mean", math.nan)
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    interval = Interval(mean, row[f"{prefix}_low"], row[f"{prefix}_high"], 0, 0)
    return interval_text(interval, scale=scale, digits=digits, signed=signed)


def _write(name: str, frame: pd.DataFrame, lines: list[str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{name}-sigma-conventions.csv"
    frame.to_csv(csv_path, index=False, float_format="%.6g")
    md_path = out / f"{name}-sigma-conventions.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [csv_path, md_path]


# ----------------------------------------------------------------------------- table1


def study_settings(results: Path) -> tuple[dict, dict]:
    """The study's ``selective`` section (from a selective shard) and its motion-metric settings
    (``tau``, ``top_q``, ``motion``, ``border_margin``, from a metrics shard)."""
    selective, motion = None, None
    for path in sorted((results / "selective").glob("*.h5")):
        shard = read_shard(path, names=[])
        if shard.attributes.get("status") == "ok":
            selective = _config(shard)
            break
    for path in sorted((results / "metrics").glob("*.h5")):
        shard = read_shard(path, names=[])
        if shard.attributes.get("status") == "ok":
            motion = _config(shard)
            break
    if selective is None:
        raise SystemExit(f"{results}/selective has no finished shard: run the study first")
    motion = motion or {}
    return selective, {
        "tau": [float(value) for value in motion.get("tau", [0.5, 1.0, 2.0, 4.0])],
        "top_q": [float(value) for value in motion.get("top_q", [0.05])],
        "motion": motion.get("motion", "raw"),
        "border_margin": int(motion.get("border_margin", 0) or 0),
    }


def recompute(results: Path, selective: dict, motion: dict, tau: float | None) -> tuple[dict, float, int]:
    """Tidy metrics per convention of every explained video, the τ used and the number of videos."""
    import torch

    from videoxai.evaluation.metrics import compute_clip_metrics
    from videoxai.motion.selective import selective_from_settings

    methods = list(selective.get("methods") or [])
    settings = {key: value for key, value in selective.items() if key != "methods"}
    frames: dict[str, list[pd.DataFrame]] = {sigma: [] for sigma in SIGMAS}
    videos = 0
    for path in sorted((results / "explain").glob("*/*.h5")):
        names = [shard_key("explain", "relevance", method=method) for method in methods]
        explained = read_shard(path, names=names)
        if explained.failed:
            continue
        video = explained.attributes["video_id"]
        flow_shard = read_shard(results / "flow" / f"{video}.h5")
        key = "object_flow" if motion["motion"] == "compensated" else "flow"
        flow = flow_shard.arrays[key].astype(np.float32)
        relevance = {method: explained.arrays[shard_key("explain", "relevance", method=method)] for method in methods}
        if tau is None:
            tau = headline_tau(motion["tau"], size=next(iter(relevance.values())).shape[-2])
        for sigma in SIGMAS:
            maps = {}
            for method in methods:
                result = selective_from_settings(torch.from_numpy(relevance[method]), {**settings, "sigma": sigma})
                for index, n in enumerate(result.n):
                    maps[(method, n)] = result.maps[index].numpy()
            frames[sigma].append(
                compute_clip_metrics(
                    video=video,
                    relevance=relevance,
                    selective=maps,
                    flow=flow,
                    taus=[tau],
                    top_q=motion["top_q"],
                    border_margin=motion["border_margin"],
                    motion=motion["motion"],
                )
            )
        videos += 1
        print(f"{video}: done", flush=True)
    if not videos:
        raise SystemExit(f"{results}/explain has no finished shard")
    return {sigma: pd.concat(parts, ignore_index=True) for sigma, parts in frames.items()}, float(tau), videos


def _per_clip(metrics: pd.DataFrame, metric: str, method: str, n: float, tau: float, q: float) -> pd.Series:
    rows = metrics[
        (metrics["metric"] == metric)
        & (metrics["method"] == method)
        & (metrics["variant"] == "selective")
        & np.isclose(metrics["n"], n)
    ]
    if metric in PRECISION_METRICS:
        rows = rows[np.isclose(rows["tau"], tau)]
    if metric == "topq_precision":
        rows = rows[np.isclose(rows["q"], q)]
    return rows.set_index(["video", "clip"])["value"].sort_index()


def table1_rows(metrics: dict[str, pd.DataFrame], tau: float, q: float, bootstrap: dict) -> pd.DataFrame:
    """One row per (method, variant, n, convention): Table 1's precisions and Table 3's selectivity
    with their intervals, the paired difference to the baseline (Table 1's Δ) and to ``abs``."""
    from videoxai.report.tables import build_tables

    tables = {sigma: build_tables(frame, tau=tau, q=q, bootstrap=bootstrap) for sigma, frame in metrics.items()}
    records = []
    for sigma in SIGMAS:
        table1, table3 = tables[sigma]["table1"], tables[sigma]["table3"]
        for _, row in table1.iterrows():
            if row["variant"] == "baseline" and sigma != REFERENCE:
                continue  # the baseline maps do not depend on the convention
            record = {
                "sigma": "" if row["variant"] == "baseline" else sigma,
                "method": row["method"],
                "variant": row["variant"],
                "n": row["n"],
                "tau": tau,
                "q": q,
                "clips": row["clips"],
                "videos": row["videos"],
            }
            for metric in (*PRECISION_METRICS, "chance"):
                for suffix in ("mean", "low", "high"):
                    record[f"{metric}_{suffix}"] = row[f"{metric}_{suffix}"]
            for metric in PRECISION_METRICS:
                for suffix in ("mean", "low", "high"):
                    record[f"{metric}_minus_baseline_{suffix}"] = row.get(f"{metric}_delta_{suffix}", math.nan)
            if row["variant"] == "selective":
                found = table3[(table3["method"] == row["method"]) & np.isclose(table3["n"], row["n"])]
                for metric in SELECTIVITY:
                    for suffix in ("mean", "low", "high"):
                        record[f"{metric}_{suffix}"] = found.iloc[0][f"{metric}_{suffix}"] if len(found) else math.nan
                for metric in (*PRECISION_METRICS, *SELECTIVITY):
                    ours = _per_clip(metrics[sigma], metric, row["method"], row["n"], tau, q)
                    reference = _per_clip(metrics[REFERENCE], metric, row["method"], row["n"], tau, q)
                    ours, reference = ours.align(reference)
                    both = ours.notna() & reference.notna()
                    difference = paired_difference(
                        ours[both].to_numpy(),
                        reference[both].to_numpy(),
                        ours[both].index.get_level_values("video").to_numpy(),
                        **bootstrap,
                    )
                    record.update(_cells(f"{metric}_minus_abs", difference))
            records.append(record)
    frame = pd.DataFrame(records)
    order = {method: index for index, method in enumerate(ordered_methods(frame["method"].unique()))}
    frame["_method"] = frame["method"].map(order)
    frame["_variant"] = frame["variant"].map({"baseline": 0, "selective": 1})
    frame["_sigma"] = frame["sigma"].map({"": -1, **{sigma: index for index, sigma in enumerate(SIGMAS)}})
    frame = frame.sort_values(["_method", "_variant", "n", "_sigma"], na_position="first")
    return frame.drop(columns=["_method", "_variant", "_sigma"]).reset_index(drop=True)


def check_against_study(frame: pd.DataFrame, results: Path) -> str:
    """How far the recomputed ``abs`` rows are from the study's own tables/table1.csv."""
    path = results / "tables" / "table1.csv"
    if not path.exists():
        return "The study wrote no tables/table1.csv to check the `abs` rows against."
    study = pd.read_csv(path)
    ours = frame[(frame["sigma"].isin(["", REFERENCE]))]
    keys = ["method", "variant", "n"]
    study = study.assign(n=study["n"].fillna(-1.0))
    ours = ours.assign(n=ours["n"].fillna(-1.0))
    joined = ours.merge(study, on=keys, suffixes=("", "_study"))
    joined = joined[np.isclose(joined["tau_study"], joined["tau"])]
    if joined.empty:
        return f"tables/table1.csv has no rows at τ = {frame['tau'].iloc[0]:g} to check the `abs` rows against."
    gap = max(
        float(np.nanmax(np.abs(joined[f"{metric}_mean"] - joined[f"{metric}_mean_study"])))
        for metric in PRECISION_METRICS
    )
    return (
        f"Check: the recomputed baseline and `abs` rows match the study's own `tables/table1.csv` "
        f"({len(joined)} rows) to {gap:.1e} in every precision."
    )


def table1_markdown(
    frame: pd.DataFrame, results: Path, videos: int, bootstrap: dict, check: str, study: str
) -> list[str]:
    tau, q = frame["tau"].iloc[0], frame["q"].iloc[0]
    clips = int(frame.loc[frame["variant"] == "baseline", "clips"].max())
    lines = [
        f"# Table 1 under the three σ conventions: {results} ({videos} videos, {clips} clips)",
        "",
        f"Written by `benchmarks/sigma_conventions.py table1 --results {results}`. {study} The study's explain "
        "and flow shards, its selective settings with `selective.sigma` set to each convention in turn "
        "(`abs`: |G_t| > n·std(|G_t|), the default; `signed`: |G_t| > n·std(G_t); `one_sided`: "
        "G_t > n·std(G_t)), the study's motion settings. "
        f"Precisions in % at τ = {tau:g} px/frame (top q = {q:.0%}), mean over clips [95 % interval: "
        f"percentile bootstrap resampling videos, {bootstrap['resamples']} resamples, seed {bootstrap['seed']}]. "
        "Δ baseline: selective − baseline of the same method on the same clips (Table 1's Δ); "
        "Δ abs: this convention − `abs` on the clips where both maps are non-empty (paired). "
        "Kept voxels: Table 3's selectivity (positive voxels of the selective map over its baseline's), in %.",
        "",
        check,
        "",
        "## P (R>0)",
        "",
        "| Method | n | σ | P (R>0) | Δ baseline | Δ abs | clips | Kept voxels | Δ abs (kept) |",
        "|:---|---:|:---|---:|---:|---:|---:|---:|---:|",
    ]
    for _, row in frame.iterrows():
        if row["variant"] == "baseline":
            lines.append(
                f"| {method_label(row['method'])} | – | baseline | {_interval(row, 'precision', digits=2)} | | | "
                f"{int(row['clips'])} | | |"
            )
            continue
        lines.append(
            f"| {method_label(row['method'])} | {row['n']:g} | {row['sigma']} | {_interval(row, 'precision', digits=2)} | "
            f"{_interval(row, 'precision_minus_baseline', digits=2, signed=True)} | "
            f"{'' if row['sigma'] == REFERENCE else _interval(row, 'precision_minus_abs', digits=2, signed=True)} | "
            f"{int(row['clips'])} | {_interval(row, 'selectivity_voxels', digits=2)} | "
            f"{'' if row['sigma'] == REFERENCE else _interval(row, 'selectivity_voxels_minus_abs', digits=2, signed=True)} |"
        )
    for metric in ("weighted_precision", "topq_precision"):
        lines += [
            "",
            f"## {LABELS[metric]}",
            "",
            f"| Method | n | σ | {LABELS[metric]} | Δ baseline | Δ abs |",
            "|:---|---:|:---|---:|---:|---:|",
        ]
        for _, row in frame.iterrows():
            if row["variant"] == "baseline":
                lines.append(
                    f"| {method_label(row['method'])} | – | baseline | {_interval(row, metric, digits=2)} | | |"
                )
                continue
            lines.append(
                f"| {method_label(row['method'])} | {row['n']:g} | {row['sigma']} | {_interval(row, metric, digits=2)} | "
                f"{_interval(row, f'{metric}_minus_baseline', digits=2, signed=True)} | "
                f"{'' if row['sigma'] == REFERENCE else _interval(row, f'{metric}_minus_abs', digits=2, signed=True)} |"
            )
    return lines


def run_table1(arguments: argparse.Namespace) -> list[Path]:
    results = arguments.results
    selective, motion = study_settings(results)
    if "sigma" in selective and selective["sigma"] != REFERENCE:
        print(f"note: the study ran with selective.sigma = {selective['sigma']}; all three are recomputed")
    bootstrap = bootstrap_settings({"seed": arguments.seed, "resamples": arguments.resamples})
    metrics, tau, videos = recompute(results, selective, motion, arguments.tau)
    q = motion["top_q"][0]
    frame = table1_rows(metrics, tau, q, bootstrap)
    check = check_against_study(frame, results)
    model = next(
        (
            read_shard(path, names=[]).attributes.get("model_name")
            for path in sorted((results / "explain").glob("*/*.h5"))
        ),
        "?",
    )
    shown = {key: value for key, value in selective.items() if key != "methods"}
    study = f"Model `{model}`; the study's `selective` section: `{json.dumps(shown)}`; motion: `{json.dumps(motion)}`."
    lines = table1_markdown(frame, results, videos, bootstrap, check, study)
    return _write(arguments.name, frame, lines, arguments.out)


# ----------------------------------------------------------------------------- ground truth

GT_METRICS = ("precision", "empty", "motion_share", "weighted_precision")
GT_LABELS = {"motion": "motion-trained", "context": "context-trained"}


def run_ground_truth_conventions(preset: str, cache_dir: Path, n: float) -> tuple[pd.DataFrame, dict]:
    """The benchmark's tidy metrics under each convention (column ``sigma``) and each model's metadata."""
    from videoxai.ground_truth.benchmark import benchmark_one
    from videoxai.ground_truth.settings import MODELS, BenchmarkSettings

    settings = BenchmarkSettings.from_config({"preset": preset})
    frames, info = [], {}
    with tempfile.TemporaryDirectory(prefix="sigma-conventions-") as out_dir:
        for dataset in MODELS:
            for sigma in SIGMAS:
                began = time.perf_counter()
                selective = {"n": [n], "padding": "replicate", "mode": "paper", "sigma": sigma}
                metrics, meta = benchmark_one(settings, dataset, selective, out_dir, cache_dir)
                frames.append(metrics.assign(sigma=sigma))
                info[dataset] = meta
                print(f"{dataset}-trained, σ {sigma}: {time.perf_counter() - began:.1f} s", flush=True)
    return pd.concat(frames, ignore_index=True), info


def ground_truth_rows(metrics: pd.DataFrame, bootstrap: dict) -> tuple[pd.DataFrame, float]:
    """One row per (model, method, convention): the selective maps' metrics with intervals and
    the paired difference to ``abs``; and the largest gap between the conventions' baseline scores
    (of the explanations themselves, which must not depend on σ)."""
    from videoxai.ground_truth.settings import MODELS

    # every baseline score but the wall-clock seconds, which differ from run to run
    baseline = metrics[(metrics["variant"] == "baseline") & (metrics["metric"] != "seconds")].pivot_table(
        index=["model", "video", "method", "metric"], columns="sigma", values="value", aggfunc="first"
    )
    gap = float(np.nanmax(np.abs(baseline.sub(baseline[REFERENCE], axis=0)).to_numpy())) if len(baseline) else 0.0
    selective = metrics[metrics["variant"] == "selective"]
    methods = ordered_methods(selective["method"].unique())
    records = []
    for model in MODELS:
        for method in methods:
            for n in sorted(selective.loc[selective["method"] == method, "n"].unique()):
                rows = selective[
                    (selective["model"] == model) & (selective["method"] == method) & np.isclose(selective["n"], n)
                ]
                wide = rows.pivot_table(
                    index=["video", "metric"], columns="sigma", values="value", aggfunc="first", dropna=False
                )
                for sigma in SIGMAS:
                    record = {"model": model, "method": method, "n": float(n), "sigma": sigma}
                    for metric in GT_METRICS:
                        if metric not in wide.index.get_level_values("metric"):
                            continue
                        column = wide.xs(metric, level="metric")
                        videos = column.index.to_numpy()
                        record.update(_cells(metric, bootstrap_mean(column[sigma].to_numpy(), videos, **bootstrap)))
                        both = column[sigma].notna() & column[REFERENCE].notna()
                        difference = paired_difference(
                            column.loc[both, sigma].to_numpy(),
                            column.loc[both, REFERENCE].to_numpy(),
                            videos[both.to_numpy()],
                            **bootstrap,
                        )
                        record.update(_cells(f"{metric}_minus_abs", difference))
                    records.append(record)
    return pd.DataFrame(records), gap


def ground_truth_markdown(
    frame: pd.DataFrame, info: dict, chance: dict, preset: str, gap: float, bootstrap: dict
) -> list[str]:
    lines = [
        f"# Ground-truth benchmark under the three σ conventions ({preset} preset)",
        "",
        f"Written by `benchmarks/sigma_conventions.py ground-truth --preset {preset}`: the workflow's "
        "`ground_truth` job (`videoxai.ground_truth.benchmark.benchmark_one`) once per `selective.sigma` "
        "(`abs`: |G_t| > n·std(|G_t|), the default; `signed`: |G_t| > n·std(G_t); `one_sided`: G_t > n·std(G_t)), "
        "n = 4, replicate padding, paper mode. Selective maps only. Precision: share of the map's positive "
        "voxels that are evidence (the moving object for the motion-trained model, the static patch for the "
        "context-trained one); empty: share of maps with no positive voxel (precision undefined there); "
        "motion share: Σ S⁺ / Σ R⁺, the share of the positive relevance selective relevance keeps. "
        f"In %, mean over videos [95 % interval: percentile bootstrap over videos, {bootstrap['resamples']} "
        f"resamples, seed {bootstrap['seed']}]; Δ abs: this convention − `abs` on the same videos (paired).",
        "",
        "Models: "
        + "; ".join(
            f"{GT_LABELS[model]} held-out accuracy {meta['accuracy']:.1%}, {meta['videos']} benchmark videos, "
            f"chance precision {100 * chance.get(model, math.nan):.1f} %"
            for model, meta in info.items()
        )
        + f". The baseline maps' scores of the three runs differ by at most {gap:.1e} (the explanations do not "
        "depend on σ).",
    ]
    for model in GT_LABELS:
        part = frame[frame["model"] == model]
        if part.empty:
            continue
        lines += [
            "",
            f"## {GT_LABELS[model]} model",
            "",
            "| Method | σ | Precision | Δ abs | Empty | Motion share | Δ abs |",
            "|:---|:---|---:|---:|---:|---:|---:|",
        ]
        for _, row in part.iterrows():
            reference = row["sigma"] == REFERENCE
            lines.append(
                f"| {method_label(row['method'])} | {row['sigma']} | {_interval(row, 'precision')} | "
                f"{'' if reference else _interval(row, 'precision_minus_abs', signed=True)} | "
                f"{_interval(row, 'empty', digits=0)} | {_interval(row, 'motion_share')} | "
                f"{'' if reference else _interval(row, 'motion_share_minus_abs', signed=True)} |"
            )
    lines += [
        "",
        "## Motion share: motion-trained − context-trained model",
        "",
        "The paper's use of the motion share: higher for the model that needs motion. Difference of the "
        "two models' means (different videos, so not paired), per convention, in points.",
        "",
        "| Method | " + " | ".join(SIGMAS) + " |",
        "|:---|" + "---:|" * len(SIGMAS),
    ]
    for method in ordered_methods(frame["method"].unique()):
        cells = []
        for sigma in SIGMAS:
            values = frame[(frame["method"] == method) & (frame["sigma"] == sigma)].set_index("model")
            if {"motion", "context"} <= set(values.index):
                gap_points = 100 * (
                    values.loc["motion", "motion_share_mean"] - values.loc["context", "motion_share_mean"]
                )
                cells.append(f"{gap_points:+.1f}")
            else:
                cells.append("–")
        lines.append(f"| {method_label(method)} | " + " | ".join(cells) + " |")
    return lines


def run_ground_truth(arguments: argparse.Namespace) -> list[Path]:
    bootstrap = bootstrap_settings({"seed": arguments.seed, "resamples": arguments.resamples})
    metrics, info = run_ground_truth_conventions(arguments.preset, arguments.cache, arguments.n)
    frame, gap = ground_truth_rows(metrics, bootstrap)
    chance_rows = metrics[(metrics["metric"] == "chance") & (metrics["sigma"] == REFERENCE)]
    chance = chance_rows.groupby("model")["value"].mean().to_dict()
    lines = ground_truth_markdown(frame, info, chance, arguments.preset, gap, bootstrap)
    return _write(arguments.name, frame, lines, arguments.out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", type=Path, default=RESULTS, help="folder of the results files (default: %(default)s)")
    common.add_argument("--seed", type=int, default=0, help="bootstrap seed (the study's default)")
    common.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (the study's default)")
    modes = parser.add_subparsers(dest="mode", required=True)
    table1 = modes.add_parser("table1", parents=[common], help="Table 1 of a finished study under each convention")
    table1.add_argument("--results", type=Path, required=True, help="the study's results folder (read only)")
    table1.add_argument("--tau", type=float, help="motion threshold (default: the study's headline τ)")
    table1.add_argument("--name", required=True, help="results file name: <name>-sigma-conventions.{md,csv}")
    truth = modes.add_parser("ground-truth", parents=[common], help="the ground-truth benchmark under each convention")
    truth.add_argument("--preset", default="clean", choices=("clean", "realistic"))
    truth.add_argument("--n", type=float, default=4.0, help="σ multiplier (default: the paper's %(default)s)")
    truth.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "resources" / "models" / "ground_truth",
        help="trained-model cache, as the workflow's (default: %(default)s)",
    )
    truth.add_argument("--name", default="ground-truth-clean", help="results file name (default: %(default)s)")
    arguments = parser.parse_args()
    written = run_table1(arguments) if arguments.mode == "table1" else run_ground_truth(arguments)
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
