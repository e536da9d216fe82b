"""What camera-motion compensation and a border margin change in Table 1 (not a test).

Reads a finished study's shards (flow with ``flow.camera.compensate: true``, explain, selective):
for every video, the motion metrics (``videoxai.evaluation.metrics.compute_clip_metrics``) four times, with
the raw or the camera-compensated flow and with or without a border margin, and writes Table 1's
precisions for each setting side by side (means over clips with video-level bootstrap 95 %
intervals, ``videoxai.evaluation.stats``), the paired difference compensated − raw per map, and what the
camera fit found (inlier share, camera displacement, moving share of the frame).

Writes ``benchmarks/results/<name>.md`` and ``.csv``.

    python benchmarks/camera_motion.py results/ucf101_camera --margin 16 --name camera-motion-ucf101
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_rows_csv  # noqa: E402

from videoxai.data.shards import read_shard, shard_key  # noqa: E402
from videoxai.evaluation.metrics import compute_clip_metrics, ordered_methods  # noqa: E402
from videoxai.evaluation.stats import bootstrap_mean, interval_text, paired_difference  # noqa: E402
from videoxai.motion.flow import camera_displacement  # noqa: E402


def video_metrics(results: Path, video: str, explain_path: Path, margin: int, taus, q) -> tuple[pd.DataFrame, dict]:
    flow_shard = read_shard(results / "flow" / f"{video}.h5")
    if "object_flow" not in flow_shard.arrays:
        raise SystemExit(
            f"{results}/flow/{video}.h5 has no object_flow: run the study with flow.camera.compensate: true"
        )
    explained = read_shard(explain_path)
    selected = read_shard(results / "selective" / f"{video}.h5")
    methods = [name.split("/")[0] for name in explained.arrays if name.endswith("/relevance")]
    n_values = sorted({float(name.split("/")[1][2:]) for name in selected.arrays if name.endswith("/map")})
    relevance = {method: explained.arrays[shard_key("explain", "relevance", method=method)] for method in methods}
    selective = {
        (m, n): selected.arrays[shard_key("selective", "map", method=m, n=n)] for m in methods for n in n_values
    }
    frames = []
    for motion, key in (("raw", "flow"), ("compensated", "object_flow")):
        flow = flow_shard.arrays[key].astype(np.float32)
        for border in (0, margin):
            frame = compute_clip_metrics(
                video=video,
                relevance=relevance,
                selective=selective,
                flow=flow,
                taus=taus,
                top_q=[q],
                motion=motion,
                border_margin=border,
            )
            frames.append(frame.assign(motion=motion, margin=border))
    transforms = flow_shard.arrays["camera_transform"]
    height, width = flow_shard.arrays["flow"].shape[2:4]
    # the camera's mean displacement over the frame, per frame pair (the last frame repeats one)
    shifts = [
        float(np.hypot(*camera_displacement(transform, height, width).reshape(-1, 2).mean(axis=0)))
        for transform in transforms[:, :-1].reshape(-1, 3, 3)
    ]
    camera = {
        "video": video,
        "inlier_share": float(flow_shard.arrays["camera_inliers"][:, :-1].mean()),
        "camera_px_per_frame": float(np.mean(shifts)),
    }
    return pd.concat(frames, ignore_index=True), camera


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the study's results folder")
    parser.add_argument("--margin", type=int, default=16, help="border margin in pixels (default 16)")
    parser.add_argument("--tau", type=float, default=2.0, help="the τ of the table (default 2, I3D's headline)")
    parser.add_argument("--q", type=float, default=0.05)
    parser.add_argument("--name", default="camera-motion-ucf101")
    args = parser.parse_args()
    results = args.results
    explain_paths = {path.stem: path for path in sorted((results / "explain").glob("*/*.h5"))}
    videos = [path.stem for path in sorted((results / "flow").glob("*.h5")) if path.stem in explain_paths]
    frames, cameras = [], []
    for video in videos:
        attributes = read_shard(explain_paths[video], names=[]).attributes
        if attributes.get("status") == "failed":
            continue
        frame, camera = video_metrics(results, video, explain_paths[video], args.margin, [args.tau], args.q)
        frames.append(frame)
        cameras.append(camera)
    metrics = pd.concat(frames, ignore_index=True)
    settings = [("raw", 0), ("raw", args.margin), ("compensated", 0), ("compensated", args.margin)]
    rows = []
    maps = metrics[metrics["metric"] == "precision"][["method", "variant", "n"]].drop_duplicates()
    order = {method: index for index, method in enumerate(ordered_methods(maps["method"]))}
    maps = maps.assign(_o=maps["method"].map(order)).sort_values(["_o", "variant", "n"]).drop(columns="_o")
    keys = ["video", "clip"]

    def values(motion, margin, metric, method="", variant="", n=math.nan):
        chosen = metrics[
            (metrics["motion"] == motion)
            & (metrics["margin"] == margin)
            & (metrics["metric"] == metric)
            & (metrics["method"] == method)
            & (metrics["variant"] == variant)
            & (metrics["n"].isna() if math.isnan(n) else metrics["n"] == n)
            & (np.isclose(metrics["tau"], args.tau))
            & (metrics["q"].isna() if metric != "topq_precision" else np.isclose(metrics["q"], args.q))
        ]
        return chosen.set_index(keys)["value"].sort_index()

    entries = [("", "", math.nan, "chance")] + [
        (method, variant, n, metric)
        for metric in ("precision", "weighted_precision", "topq_precision")
        for method, variant, n in maps.itertuples(index=False)
    ]
    for method, variant, n, metric in entries:
        label = "chance" if not method else f"{method} {variant}" + ("" if math.isnan(n) else f" n={n:g}")
        row = {"metric": metric, "map": label}
        series = {}
        for motion, margin in settings:
            series[(motion, margin)] = values(motion, margin, metric, method, variant, n)
            current = series[(motion, margin)]
            interval = bootstrap_mean(current.to_numpy(), current.index.get_level_values("video"))
            row[f"{motion}_m{margin}"] = interval.mean
            row[f"{motion}_m{margin}_text"] = interval_text(interval)
        raw, compensated = series[("raw", 0)].align(series[("compensated", 0)])
        difference = paired_difference(compensated.to_numpy(), raw.to_numpy(), raw.index.get_level_values("video"))
        row["compensated_minus_raw"] = difference.mean
        row["compensated_minus_raw_text"] = interval_text(difference)
        row["clips"] = int(series[("raw", 0)].notna().sum())
        rows.append(row)
    out = Path(__file__).resolve().parent / "results"
    write_rows_csv(
        out / f"{args.name}.csv", [{k: v for k, v in r.items() if not k.endswith("_text")} for r in rows], "cpu"
    )
    camera = pd.DataFrame(cameras)
    lines = [
        f"# Camera motion and the border margin on {len(videos)} videos ({int(rows[0]['clips'])} clips)",
        "",
        f"Written by `benchmarks/camera_motion.py {results} --margin {args.margin} --tau {args.tau:g}`.",
        f"Motion precision at τ = {args.tau:g} px/frame: P (R>0) (`precision`), relevance-weighted and "
        f"top {args.q:.0%} (docs/metrics.md), and chance (the share of voxels that move), mean over clips "
        "with a video-level bootstrap 95 % interval; `raw`: Farnebäck flow, `compensated`: the object "
        "motion left after the fitted camera motion (affine, RANSAC); `m`: pixels left out at each edge. "
        "Last column: paired difference compensated − raw (no margin).",
        "",
        f"| metric | map | raw | raw, m = {args.margin} | compensated | compensated, m = {args.margin} "
        "| compensated − raw | clips |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [row[f"{motion}_m{margin}_text"] for motion, margin in settings]
        lines.append(
            f"| {row['metric']} | {row['map']} | "
            + " | ".join(cells)
            + f" | {row['compensated_minus_raw_text']} | {row['clips']} |"
        )
    lines += [
        "",
        "Camera fit per video (mean over frame pairs): RANSAC inlier share and the camera's mean "
        "displacement in px/frame.",
        "",
        "| video | inlier share | camera px/frame |",
        "|---|---|---|",
    ]
    for camera_row in camera.itertuples(index=False):
        lines.append(f"| {camera_row.video} | {camera_row.inlier_share:.2f} | {camera_row.camera_px_per_frame:.2f} |")
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps({"videos": len(videos)}))


if __name__ == "__main__":
    main()
