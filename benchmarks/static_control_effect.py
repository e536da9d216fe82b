"""Effect of the selective margin mode on the static control and on Table 1's precisions.

Reads a study's explain shards (made with ``static_control.enabled``) and flow shards, computes
the selective maps of both definitions and their motion metrics in one process, exactly as the
selective and metrics rules do (``selective_from_settings`` then ``compute_clip_metrics``), and the
static control of both (``artifact_rows``). Writes ``benchmarks/results/<name>-static.{csv,md}``
(the static-control table of both definitions) and ``<name>.{csv,md}``: per method and n, the
static control's kept relevance and voxels, and the three precisions of Table 1 at the study's headline τ for the
baseline maps, the paper's selective maps and the margin mode's, each mean with its 95 %
video-level bootstrap interval, and the paired difference margin − paper.

    python benchmarks/static_control_effect.py --results results --n 4 --tau 2 0.5 1 4 \\
        --name cpu-static-control-embedded
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from videoxai.data.shards import shard_key
from videoxai.evaluation.metrics import PRECISION_METRICS
from videoxai.evaluation.stats import Interval, bootstrap_mean, interval_text, paired_difference

RESULTS = Path(__file__).resolve().parent / "results"


def _precisions(metrics: pd.DataFrame, tau: float, q: float) -> pd.DataFrame:
    """One row per (video, clip, method, variant, n) with the three precisions as columns."""
    rows = metrics[metrics["metric"].isin(PRECISION_METRICS)]
    rows = rows[(np.isclose(rows["tau"], tau) | rows["tau"].isna()) & (np.isclose(rows["q"], q) | rows["q"].isna())]
    rows = rows.assign(n=rows["n"].fillna(-1.0))
    return rows.pivot_table(
        index=["video", "clip", "method", "variant", "n"], columns="metric", values="value", aggfunc="first"
    ).reset_index()


def effect_rows(paper: pd.DataFrame, margin: pd.DataFrame, static: pd.DataFrame, tau: float, q: float) -> list[dict]:
    before, after = _precisions(paper, tau, q), _precisions(margin, tau, q)
    rows = []
    for method in dict.fromkeys(before["method"]):
        baseline = before[(before["method"] == method) & (before["variant"] == "baseline")]
        for n in sorted(set(before.loc[(before["method"] == method) & (before["variant"] == "selective"), "n"])):
            keys = ["video", "clip"]
            selected = before[(before["method"] == method) & (before["variant"] == "selective") & (before["n"] == n)]
            remedied = after[(after["method"] == method) & (after["variant"] == "selective") & (after["n"] == n)]
            joined = selected.merge(remedied, on=keys, suffixes=("_paper", "_margin"))
            record = {"method": method, "n": float(n), "tau": tau}
            for definition in ("paper", "margin"):
                found = static[
                    (static["method"] == method) & np.isclose(static["n"], n) & (static["definition"] == definition)
                ]
                for metric in ("kept_relevance", "kept_voxels"):
                    if len(found):
                        record[f"static_{metric}_{definition}"] = Interval(
                            *(float(found.iloc[0][f"{metric}{suffix}"]) for suffix in ("", "_low", "_high")), 0, 0
                        )
            for metric in PRECISION_METRICS:
                record[f"{metric}_baseline"] = bootstrap_mean(baseline[metric], baseline["video"])
                record[f"{metric}_paper"] = bootstrap_mean(joined[f"{metric}_paper"], joined["video"])
                record[f"{metric}_margin"] = bootstrap_mean(joined[f"{metric}_margin"], joined["video"])
                both = joined[[f"{metric}_paper", f"{metric}_margin"]].notna().all(axis=1)
                record[f"{metric}_margin_minus_paper"] = paired_difference(
                    joined.loc[both, f"{metric}_margin"], joined.loc[both, f"{metric}_paper"], joined.loc[both, "video"]
                )
            rows.append(record)
    return rows


def write(rows: list[dict], name: str, title: str) -> list[Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    flat = []
    for row in rows:
        item = {}
        for key, value in row.items():
            if isinstance(value, Interval):
                item[key], item[f"{key}_low"], item[f"{key}_high"] = value.mean, value.low, value.high
            else:
                item[key] = value
        flat.append(item)
    csv_path = RESULTS / f"{name}.csv"
    pd.DataFrame(flat).to_csv(csv_path, index=False, float_format="%.6g")

    def cell(row, key, scale=100.0, digits=1):
        value = row.get(key)
        return interval_text(value, scale=scale, digits=digits) if isinstance(value, Interval) else "–"

    lines = [
        f"# {title}",
        "",
        "Static control (frozen copies): kept relevance / kept voxels in %, paper → margin. Table 1 "
        f"precisions in % at τ = {rows[0]['tau'] if rows else math.nan:g}: baseline, selective (paper), selective "
        "(margin), and the paired difference margin − paper. 95 % video-level bootstrap intervals.",
        "",
        "| Method | n | Static kept relevance: paper | margin | Static kept voxels: paper | margin |",
        "|:---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['method']} | {row['n']:g} | {cell(row, 'static_kept_relevance_paper')} | "
            f"{cell(row, 'static_kept_relevance_margin')} | {cell(row, 'static_kept_voxels_paper', digits=2)} | "
            f"{cell(row, 'static_kept_voxels_margin', digits=2)} |"
        )
    for metric in PRECISION_METRICS:
        lines += [
            "",
            f"**{metric}**",
            "",
            "| Method | n | Baseline | Selective (paper) | Selective (margin) | Margin − paper |",
            "|:---|---:|---:|---:|---:|---:|",
        ]
        for row in rows:
            lines.append(
                f"| {row['method']} | {row['n']:g} | {cell(row, f'{metric}_baseline')} | {cell(row, f'{metric}_paper')} | "
                f"{cell(row, f'{metric}_margin')} | {cell(row, f'{metric}_margin_minus_paper')} |"
            )
    md_path = RESULTS / f"{name}.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [csv_path, md_path]


def recompute(results: Path, n_values, taus, top_q, frames: int, pixels: int | None, edge: int = 1):
    """Motion-metric rows of a study's explained clips with the paper's and the margin mode's
    selective maps, and the static control's rows of both, from the explain and flow shards."""
    import torch

    from videoxai.data.shards import read_shard
    from videoxai.evaluation.metrics import compute_clip_metrics
    from videoxai.evaluation.static_control import artifact_rows
    from videoxai.motion.selective import default_border, selective_from_settings

    definitions = {
        "paper": {"n": n_values},
        "margin": {"n": n_values, "mode": "margin", "margin": {"frames": frames, "pixels": pixels}},
    }
    metrics = {name: [] for name in definitions}
    static = []
    for path in sorted((results / "explain").glob("*/*.h5")):
        explained = read_shard(path)
        if explained.failed:
            continue
        video = explained.attributes["video_id"]
        names = [name for name in explained.arrays if name.endswith("/relevance") and name.count("/") == 1]
        methods = [name.split("/")[0] for name in names]
        relevance = {method: explained.arrays[shard_key("explain", "relevance", method=method)] for method in methods}
        flow = read_shard(results / "flow" / f"{video}.h5").arrays["flow"].astype(np.float32)
        for name, settings in definitions.items():
            selective = {}
            for method in methods:
                result = selective_from_settings(torch.from_numpy(relevance[method]), settings)
                for index, n in enumerate(n_values):
                    selective[(method, n)] = result.maps[index].numpy()
                frozen = explained.arrays.get(shard_key("explain", "relevance", method=method, group="static_control"))
                if frozen is not None:
                    masks = selective_from_settings(torch.from_numpy(frozen), settings).masks.numpy()
                    border = default_border(min(frozen.shape[2:]))
                    static.append(
                        artifact_rows(
                            video,
                            method,
                            frozen,
                            {n: masks[index] for index, n in enumerate(n_values)},
                            definition=name,
                            edge=edge,
                            border=border,
                        )
                    )
            metrics[name].append(
                compute_clip_metrics(
                    video=video, relevance=relevance, selective=selective, flow=flow, taus=taus, top_q=top_q
                )
            )
        print(f"{video}: done", flush=True)
    paper, margin = (pd.concat(metrics[name], ignore_index=True) for name in ("paper", "margin"))
    return paper, margin, (pd.concat(static, ignore_index=True) if static else pd.DataFrame())


def main() -> None:
    from videoxai.evaluation.static_control import static_control_table
    from videoxai.report.render import markdown_table as _markdown
    from videoxai.report.static_control import HEADERS, display_rows

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--results", required=True, type=Path, help="results folder of a study (explain and flow shards)"
    )
    parser.add_argument("--n", type=float, nargs="+", default=[4.0], help="selective.n")
    parser.add_argument("--tau", type=float, nargs="+", default=[2.0], help="metrics.tau (the first is the headline)")
    parser.add_argument("--top-q", type=float, nargs="+", default=[0.05], help="metrics.top_q")
    parser.add_argument("--frames", type=int, default=2, help="selective.margin.frames")
    parser.add_argument(
        "--pixels", type=int, default=None, help="selective.margin.pixels (default 16/224 of the frame)"
    )
    parser.add_argument("--name", required=True, help="file name under benchmarks/results/")
    parser.add_argument("--title", default="Static control and Table 1: paper vs margin")
    arguments = parser.parse_args()
    paper, margin, static_rows = recompute(
        arguments.results, arguments.n, arguments.tau, arguments.top_q, arguments.frames, arguments.pixels
    )
    static = static_control_table(static_rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    static.to_csv(RESULTS / f"{arguments.name}-static.csv", index=False, float_format="%.6g")
    (RESULTS / f"{arguments.name}-static.md").write_text(
        _markdown(f"{arguments.title}: static control", list(HEADERS), display_rows(static)), encoding="utf-8"
    )
    rows = effect_rows(paper, margin, static, tau=arguments.tau[0], q=arguments.top_q[0])
    for path in write(rows, arguments.name, arguments.title):
        print(path)


if __name__ == "__main__":
    main()
