"""DTD's bias conventions and the explained class on real video, clip by clip, resumable.

For each video of a workflow run that has decoded clips and flow (``clips/``, ``flow/`` shards),
in class-interleaved order so that a partial run covers every class, with the model loaded once:

* ``ignore``: DTD with ``bias: ignore`` (the default) for the top-1 class;
* ``include``: DTD with ``bias: include`` for the top-1 class;
* ``label``: DTD (``ignore``) for the video's true class through the ``ucf101_kinetics400``
  label map, i.e. ``explain.target: label``. Only computed where the top-1 class differs from a
  mapped label: elsewhere the label target explains the very class ``ignore`` explained (an
  unmapped label falls back to top-1), so those rows are ``ignore``'s.

Each of the three maps goes through the workflow's own functions (``stages.explain_clips``,
``selective.selective_from_settings``, ``metrics.compute_clip_metrics``,
``correctness.mark_correct``) with ``config/ucf101_sample.yaml``'s selective n and τ, and one
CSV per video is written to ``--out`` (a video already there is skipped; explain shards of
earlier workflow runs given with ``--reuse-*`` are used instead of recomputing).
``--report`` then writes ``benchmarks/results/ucf101-sample-dtd-bias-explained-class.{md,csv}``:
motion precision of both conventions with the paired difference (video-level bootstrap,
``videoxai.evaluation.stats``), the clip accuracy of the top-1 prediction, and Table 1 split by correct
prediction for the top-1 and the label target.

    python benchmarks/dtd_bias_and_target.py --results /tmp/run --out /tmp/dtd  # until stopped
    python benchmarks/dtd_bias_and_target.py --out /tmp/dtd --report
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_rows_csv  # noqa: E402

from videoxai.core.label_map import class_index, read_label_map  # noqa: E402
from videoxai.data.shards import read_shard  # noqa: E402
from videoxai.evaluation.stats import bootstrap_mean, interval_text, paired_difference  # noqa: E402
from videoxai.report.correctness import table1_by_correct  # noqa: E402
from videoxai.report.tables import headline_q  # noqa: E402

RESULTS = Path(__file__).parent / "results"
METRICS = ("precision", "weighted_precision", "topq_precision")
LABELS = {"precision": "P (R>0)", "weighted_precision": "P (weighted)", "topq_precision": "P (top 5%)"}


def metrics_of(results: Path) -> pd.DataFrame:
    return pd.read_csv(results / "tables" / "metrics.csv", keep_default_na=True).fillna(
        {"method": "", "variant": "", "other_method": ""}
    )


def precision_rows(frame: pd.DataFrame, tau: float, q: float) -> pd.DataFrame:
    """One row per (video, clip, variant, n) with the three precisions at ``tau`` (and ``q``)."""
    rows = frame[(frame["method"] == "dtd") & frame["metric"].isin(METRICS) & np.isclose(frame["tau"], tau)]
    rows = rows[rows["q"].isna() | np.isclose(rows["q"], q)].assign(n=lambda r: r["n"].fillna(-1.0))
    return rows.pivot_table(index=["video", "clip", "variant", "n"], columns="metric", values="value").reset_index()


def bias_comparison(ignore: pd.DataFrame, include: pd.DataFrame, tau: float, q: float) -> list[dict]:
    merged = precision_rows(ignore, tau, q).merge(
        precision_rows(include, tau, q), on=["video", "clip", "variant", "n"], suffixes=("_ignore", "_include")
    )
    rows = []
    for (variant, n), group in merged.groupby(["variant", "n"], sort=True):
        row = {"variant": variant, "n": "" if n < 0 else f"{n:g}", "clips": len(group)}
        for metric in METRICS:
            videos = group["video"].to_numpy()
            row[f"{metric}_ignore"] = bootstrap_mean(group[f"{metric}_ignore"], videos)
            row[f"{metric}_include"] = bootstrap_mean(group[f"{metric}_include"], videos)
            row[f"{metric}_include_minus_ignore"] = paired_difference(
                group[f"{metric}_include"], group[f"{metric}_ignore"], videos
            )
        rows.append(row)
    return rows


def split_text(table: pd.DataFrame) -> list[str]:
    lines = [
        "| prediction | variant | n | P (R>0) | P (weighted) | P (top 5%) | chance | clips |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for _, row in table.iterrows():
        n = "" if pd.isna(row["n"]) else f"{row['n']:g}"
        cells = [f"{row[f'{m}_mean']:.3f}" if not pd.isna(row[f"{m}_mean"]) else "–" for m in (*METRICS, "chance")]
        lines.append(
            f"| {row['prediction']} | {row['variant']} | {n} | " + " | ".join(cells) + f" | {int(row['clips'])} |"
        )
    return lines


def interleaved(videos: list[str]) -> list[str]:
    """Video ids ordered class by class in turn (``Class__video``), so any prefix covers all classes."""
    by_class: dict[str, list[str]] = {}
    for video in sorted(videos):
        by_class.setdefault(video.split("__")[0], []).append(video)
    order = []
    while any(by_class.values()):
        for name in sorted(by_class):
            if by_class[name]:
                order.append(by_class[name].pop(0))
    return order


def compute(args) -> None:
    import torch
    import yaml

    from videoxai.evaluation.correctness import mark_correct
    from videoxai.evaluation.metrics import compute_clip_metrics
    from videoxai.explain.batched import explain_clips
    from videoxai.models import load_configured
    from videoxai.motion.selective import selective_from_settings

    study = yaml.safe_load((Path(__file__).parents[1] / "config" / "ucf101_sample.yaml").read_text())
    settings, taus, top_q = study["selective"], study["metrics"]["tau"], study["metrics"]["top_q"]
    torch.set_num_threads(args.threads)
    model, spec = load_configured(
        {"name": "i3d_kinetics400", "weights": str(args.weights), "options": {}, "spec": None}, device="cpu"
    )
    label_map = read_label_map("ucf101_kinetics400")
    args.out.mkdir(parents=True, exist_ok=True)
    videos = [path.stem for path in (args.results / "clips").glob("*.h5")]
    # maps earlier runs left are cheap: those videos first, then the rest class by class
    reused = [
        video
        for video in videos
        if all(folder and (folder / f"{video}.h5").exists() for folder in (args.reuse_ignore, args.reuse_include))
    ]
    for video in interleaved(reused) + interleaved(sorted(set(videos) - set(reused))):
        target_csv = args.out / f"{video}.csv"
        if target_csv.exists():
            continue
        clips_shard = read_shard(args.results / "clips" / f"{video}.h5")
        clips, label = clips_shard.arrays["clips"], clips_shard.attributes.get("label") or ""
        flow = read_shard(args.results / "flow" / f"{video}.h5").arrays["flow"].astype(np.float32)
        truth = class_index(label, spec.class_names, label_map)

        def explained(kind: str, reuse: Path | None, **keywords) -> dict:
            shard = reuse / f"{video}.h5" if reuse else None
            if shard is not None and shard.exists():
                print(f"{video}: {kind} from {shard}", flush=True)
                return read_shard(shard).arrays
            began = time.perf_counter()
            arrays = explain_clips(model, spec, clips, ["dtd"], batch_size=1, **keywords)
            print(f"{video}: {kind} in {time.perf_counter() - began:.0f} s", flush=True)
            return arrays

        runs = {"ignore": explained("ignore", args.reuse_ignore)}
        top1 = runs["ignore"]["dtd/predicted"]
        runs["include"] = explained("include", args.reuse_include, options={"dtd": {"bias": "include"}})
        if truth >= 0 and (top1 != truth).any():
            runs["label"] = explained("label", args.reuse_label, target=truth)
        else:
            runs["label"] = runs["ignore"]
        frames = []
        labels = np.full(len(clips), truth, dtype=np.int64)
        for kind, arrays in runs.items():
            relevance = arrays["dtd/relevance"]
            selected = selective_from_settings(torch.from_numpy(relevance), settings)
            maps = selected.maps.numpy()
            frame = compute_clip_metrics(
                video=video,
                relevance={"dtd": relevance},
                selective={("dtd", float(n)): maps[index] for index, n in enumerate(settings["n"])},
                flow=flow,
                taus=taus,
                top_q=top_q,
                labels=labels,
                predicted=arrays["dtd/predicted"],
            )
            frame = mark_correct(frame, labels, arrays["dtd/predicted"], {"dtd": arrays["dtd/target"]})
            frames.append(frame.assign(run=kind, target=int(arrays["dtd/target"][0]), top1=int(top1[0])))
        table = pd.concat(frames, ignore_index=True)
        table.to_csv(target_csv.with_suffix(".tmp"), index=False)
        target_csv.with_suffix(".tmp").rename(target_csv)


def report(args) -> None:
    frames = [pd.read_csv(path) for path in sorted(args.out.glob("*.csv"))]
    every = pd.concat(frames, ignore_index=True)
    for column in ("method", "variant", "other_method"):
        every[column] = every[column].astype(object).fillna("").astype(str)
    ignore, include, label = (
        every[every["run"] == kind].drop(columns="run") for kind in ("ignore", "include", "label")
    )
    q = headline_q(ignore)
    tau = args.tau
    comparison = bias_comparison(ignore, include, tau, q)
    correct = ignore[(ignore["metric"] == "correct") & ignore["value"].notna()]
    accuracy = bootstrap_mean(correct["value"], correct["video"].to_numpy())
    kinetics = [
        line.strip()
        for line in (Path(__file__).parents[1] / "src/videoxai/models/data/kinetics400_labels.txt")
        .read_text()
        .splitlines()
        if line.strip()
    ]
    label_map = read_label_map("ucf101_kinetics400")
    lines = [
        "# DTD bias conventions and the explained class: I3D on the shared UCF-101 clips",
        "",
        f"One 16-frame clip per video (the first, as `clips.max_per_video: 1` picks), DTD only, "
        f"{every['video'].nunique()} videos, τ = {tau:g} px/frame, selective n and τ of `config/ucf101_sample.yaml`. "
        "Means over clips with 95 % video-level bootstrap intervals (`videoxai.evaluation.stats`); "
        "include − ignore is paired per clip. Written by `benchmarks/dtd_bias_and_target.py`.",
        "",
        "## DTD: `bias: ignore` (the paper's reference implementation) vs `include` (zennit's default)",
        "",
        "| variant | n | metric | ignore | include | include − ignore | clips |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    csv_rows = []
    for row in comparison:
        for metric in METRICS:
            first, second, diff = (row[f"{metric}_{s}"] for s in ("ignore", "include", "include_minus_ignore"))
            lines.append(
                f"| {row['variant']} | {row['n']} | {LABELS[metric]} | {interval_text(first)} | "
                f"{interval_text(second)} | {interval_text(diff)} | {row['clips']} |"
            )
            csv_rows.append(
                {
                    "part": "dtd_bias",
                    "variant": row["variant"],
                    "n": row["n"],
                    "metric": metric,
                    "ignore": first.mean,
                    "include": second.mean,
                    "difference": diff.mean,
                    "difference_low": diff.low,
                    "difference_high": diff.high,
                    "clips": row["clips"],
                }
            )
    per_video = ignore.drop_duplicates("video")[["video", "target", "top1"]]
    lines += [
        "",
        "## Clip accuracy of the top-1 prediction (labels through `videos.label_map: ucf101_kinetics400`)",
        "",
        f"- {interval_text(accuracy, scale=100, digits=1)} % of {accuracy.clips} clips "
        f"({accuracy.videos} videos with a mapped label; "
        f"{per_video['video'].nunique() - accuracy.videos} unmapped)",
        "",
        "| video | Kinetics class of its label | top-1 | correct |",
        "|---|---|---|---|",
    ]
    for _, row in per_video.iterrows():
        truth = class_index(row["video"].split("__")[0], kinetics, label_map)
        verdict = "–" if truth < 0 else ("yes" if truth == row["top1"] else "no")
        lines.append(
            f"| {row['video']} | {kinetics[truth] if truth >= 0 else '(unmapped)'} | {kinetics[row['top1']]} | {verdict} |"
        )
    csv_rows.append({"part": "accuracy", "metric": "accuracy", "ignore": accuracy.mean, "clips": accuracy.clips})
    lines += ["", "## Table 1 (DTD) split by correct prediction, `explain.target: top1`", ""]
    lines += split_text(table1_by_correct(ignore.drop(columns=["target", "top1"]), tau=tau, q=q))
    lines += [
        "",
        "## Table 1 (DTD) split by correct prediction, `explain.target: label`",
        "",
        "Unmapped videos explain their top-1 prediction, as with `top1`; correctly predicted clips the same class.",
        "",
    ]
    lines += split_text(table1_by_correct(label.drop(columns=["target", "top1"]), tau=tau, q=q))
    changed = precision_rows(label, tau, q).merge(
        precision_rows(ignore, tau, q), on=["video", "clip", "variant", "n"], suffixes=("_label", "_top1")
    )
    changed = changed[changed["video"].isin(set(label.loc[label["target"] != label["top1"], "video"]))]
    if len(changed):
        lines += ["", "Misclassified clips only: P (R>0) of the label's map − the top-1 map, paired per clip", ""]
        lines += [
            "| variant | n | label target | top-1 target | label − top-1 | clips |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for (variant, n), group in changed.groupby(["variant", "n"], sort=True):
            videos = group["video"].to_numpy()
            lines.append(
                f"| {variant} | {'' if n < 0 else f'{n:g}'} | "
                f"{interval_text(bootstrap_mean(group['precision_label'], videos))} | "
                f"{interval_text(bootstrap_mean(group['precision_top1'], videos))} | "
                f"{interval_text(paired_difference(group['precision_label'], group['precision_top1'], videos))} | "
                f"{len(group)} |"
            )
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / "ucf101-sample-dtd-bias-explained-class"
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_rows_csv(stem.with_suffix(".csv"), csv_rows, args.device)
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="a workflow results folder with clips/ and flow/ shards")
    parser.add_argument("--out", type=Path, required=True, help="folder of the per-video CSVs")
    parser.add_argument("--weights", type=Path, default=Path("resources/models/i3d_kinetics400.safetensors"))
    parser.add_argument("--reuse-ignore", type=Path)
    parser.add_argument("--reuse-include", type=Path)
    parser.add_argument("--reuse-label", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tau", type=float, default=2.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--report", action="store_true", help="write the tables from the CSVs in --out")
    args = parser.parse_args()
    report(args) if args.report else compute(args)


if __name__ == "__main__":
    main()
