"""DTD's bias conventions and the explained class on real video, from three workflow runs.

Runs (one clip per video, DTD only, ``config/ucf101_sample.yaml`` plus an overlay each):

* ``--ignore``: ``explain.target: top1``, ``dtd: {bias: ignore}`` (the default);
* ``--include``: the same with ``explain.options.dtd.bias: include``;
* ``--label``: ``explain.target: label`` (optional). It may list only the videos whose label is
  mapped: a video without a mapped label falls back to top-1, so its rows are taken from
  ``--ignore``, which explained exactly that.

Writes ``benchmarks/results/ucf101-sample-dtd-bias-explained-class.{md,csv}``: motion precision
P(R>0), weighted and top-5 % at the headline τ for both conventions with the paired difference
(video-level bootstrap, ``videoxai.stats``), the clip accuracy of the top-1 prediction against
the mapped labels, and Table 1 split by correct prediction for the top-1 and the label target.

    python benchmarks/dtd_bias_and_target.py --ignore /tmp/a --include /tmp/b --label /tmp/c
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_rows_csv  # noqa: E402

from videoxai.correctness import prediction_groups, table1_by_correct  # noqa: E402
from videoxai.label_map import class_index, read_label_map  # noqa: E402
from videoxai.shards import read_shard  # noqa: E402
from videoxai.stats import bootstrap_mean, interval_text, paired_difference  # noqa: E402
from videoxai.tables import headline_q  # noqa: E402

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


def explained_classes(results: Path, label_map: dict) -> pd.DataFrame:
    """Per video: label, mapped class, top-1 class, explained class (first clip)."""
    rows = []
    for path in sorted((results / "explain").glob("*/*.h5")):
        shard = read_shard(path)
        if shard.failed:
            continue
        names = json.loads(shard.attributes.get("class_names") or "[]")
        label = shard.attributes.get("label") or ""
        truth = class_index(label, names, label_map)
        top1, target = int(shard.arrays["dtd/predicted"][0]), int(shard.arrays["dtd/target"][0])
        rows.append(
            {
                "video": shard.video_id,
                "label": label,
                "class": names[truth] if truth >= 0 else "(unmapped)",
                "top1": names[top1],
                "explained": names[target],
                "correct": "–" if truth < 0 else ("yes" if top1 == truth else "no"),
            }
        )
    return pd.DataFrame(rows)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ignore", type=Path, required=True)
    parser.add_argument("--include", type=Path, required=True)
    parser.add_argument("--label", type=Path)
    parser.add_argument("--tau", type=float, default=2.0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    ignore, include = metrics_of(args.ignore), metrics_of(args.include)
    q = headline_q(ignore)
    comparison = bias_comparison(ignore, include, args.tau, q)
    label_map = read_label_map("ucf101_kinetics400")
    classes = explained_classes(args.ignore, label_map)

    correct = ignore[(ignore["metric"] == "correct") & ignore["value"].notna()]
    accuracy = bootstrap_mean(correct["value"], correct["video"].to_numpy())
    lines = [
        "# DTD bias conventions and the explained class: I3D on the 25 shared UCF-101 clips",
        "",
        f"One 16-frame clip per video (`clips.max_per_video: 1`), DTD only, τ = {args.tau:g} px/frame, "
        "`config/ucf101_sample.yaml` otherwise. Means over clips with 95 % video-level bootstrap "
        "intervals (`videoxai.stats`); include − ignore is paired per clip. "
        "Written by `benchmarks/dtd_bias_and_target.py`.",
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
    mapped = classes[classes["correct"] != "–"]
    lines += [
        "",
        "## Clip accuracy of the top-1 prediction (labels through `videos.label_map: ucf101_kinetics400`)",
        "",
        f"- {interval_text(accuracy, scale=100, digits=1)} % of {accuracy.clips} clips "
        f"({accuracy.videos} videos with a mapped label; {len(classes) - len(mapped)} unmapped)",
        "",
        "| video | label | Kinetics class | top-1 | correct |",
        "|---|---|---|---|---|",
        *(f"| {r.video} | {r.label} | {r['class']} | {r.top1} | {r.correct} |" for _, r in classes.iterrows()),
    ]
    csv_rows.append({"part": "accuracy", "metric": "accuracy", "ignore": accuracy.mean, "clips": accuracy.clips})

    tau = args.tau
    lines += ["", "## Table 1 (DTD) split by correct prediction, `explain.target: top1`", ""]
    lines += split_text(table1_by_correct(ignore, tau=tau, q=q))
    if args.label:
        label = metrics_of(args.label)
        # videos the label run left out explain top-1 under target: label too
        taken = ignore[~ignore["video"].isin(set(label["video"]))]
        combined = pd.concat([label, taken], ignore_index=True)
        groups = prediction_groups(combined)
        lines += [
            "",
            "## Table 1 (DTD) split by correct prediction, `explain.target: label`",
            "",
            f"Clips whose label is unmapped ({combined.loc[groups == 'unknown', 'video'].nunique()} videos) "
            "explain their top-1 prediction, as with `top1`.",
            "",
        ]
        lines += split_text(table1_by_correct(combined, tau=tau, q=q))
        changed = precision_rows(label, tau, q).merge(
            precision_rows(ignore, tau, q), on=["video", "clip", "variant", "n"], suffixes=("_label", "_top1")
        )
        wrong = set(classes.loc[classes["correct"] == "no", "video"])
        changed = changed[changed["video"].isin(wrong)]
        if len(changed):
            lines += ["", "Misclassified clips only: label target − top-1 target, paired per clip", ""]
            lines += [
                "| variant | n | P (R>0) label | P (R>0) top-1 | label − top-1 | clips |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for (variant, n), group in changed.groupby(["variant", "n"], sort=True):
                videos = group["video"].to_numpy()
                lines.append(
                    f"| {variant} | {'' if n < 0 else f'{n:g}'} | "
                    f"{interval_text(bootstrap_mean(group['precision_label'], videos))} | "
                    f"{interval_text(bootstrap_mean(group['precision_top1'], videos))} | "
                    f"{interval_text(paired_difference(group['precision_label'], group['precision_top1'], videos))} | {len(group)} |"
                )
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / "ucf101-sample-dtd-bias-explained-class"
    (stem.with_suffix(".md")).write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_rows_csv(stem.with_suffix(".csv"), csv_rows, args.device)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
