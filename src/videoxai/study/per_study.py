"""The study-level steps of the workflow: from every video's shards to the tables, figures and report.

Each function reads the shards it is given, calls the evaluation and report modules, and writes
the step's declared outputs (a declared output whose content is missing, such as an example when
too few videos succeeded, is written anyway and says why).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import torch

from videoxai.core.files import atomic_write
from videoxai.core.headline import headline_n
from videoxai.data.shards import method_keys, read_attributes, read_shard, read_table_shard, shard_key
from videoxai.evaluation.metrics import empty_metrics
from videoxai.evaluation.static_control import area_shares, artifact_rows, static_control_table
from videoxai.evaluation.stats import MIN_VIDEOS
from videoxai.explain.cfp import plot_pyramid, pyramid_from_arrays
from videoxai.ground_truth.report import CALIBRATION_TABLE, ground_truth_display
from videoxai.motion.selective import DEFAULT_MARGIN, default_border, selective_from_settings
from videoxai.report import examples
from videoxai.report.correctness import TABLE1_BY_CORRECT, write_table1_by_correct
from videoxai.report.figures import figure3_grid, top_clips, write_figures
from videoxai.report.front_page import StudyRun, front_page, ground_truth_lines
from videoxai.report.static_control import caption as static_control_caption
from videoxai.report.static_control import write_frame_figure, write_static_control
from videoxai.report.tables import build_tables, headline_q, normalise_metrics, write_tables
from videoxai.study.pipeline import LOG


def shard_by_video(paths: Sequence[str]) -> dict[str, str]:
    """Video id -> its shard among ``paths`` (a shard is named ``<video>.h5``)."""
    return {Path(path).stem: path for path in paths}


def aggregate(
    metric_shards: Sequence[str],
    faithfulness_shards: Sequence[str],
    tables_dir: str | Path,
    html_dir: str | Path,
    *,
    headline_tau: float,
    bootstrap: Mapping,
    absent_reasons: Mapping[str, str],
    split_by_correct: bool,
) -> list[Path]:
    """Every video's metric (and faithfulness) rows -> the tables (csv/md/tex/html), the tidy
    ``metrics.csv`` and ``status.json`` in ``tables_dir``; Table 1 split by correct prediction
    when asked."""
    frames = []
    for path in [*metric_shards, *faithfulness_shards]:
        table, shard = read_table_shard(path)
        if not shard.failed and len(table):
            frames.append(table)
    metrics = pd.concat(frames, ignore_index=True) if frames else empty_metrics()
    videos = metrics["video"].nunique() if len(metrics) else 0
    LOG.info("%d metric rows from %d of %d videos", len(metrics), videos, len(metric_shards))
    tables_dir = Path(tables_dir)
    written = write_tables(
        metrics, tables_dir, tau=headline_tau, bootstrap=bootstrap, html_dir=html_dir, reasons=dict(absent_reasons)
    )
    if split_by_correct:
        split = write_table1_by_correct(metrics, tables_dir, tau=headline_tau)
        LOG.info("wrote %s", ", ".join(map(str, split)) or f"no {TABLE1_BY_CORRECT} (no metric rows)")
        written += split
    else:
        for suffix in ("csv", "md", "tex"):
            (tables_dir / f"{TABLE1_BY_CORRECT}.{suffix}").unlink(missing_ok=True)
    Path(html_dir).mkdir(parents=True, exist_ok=True)  # declared even when no table has rows
    for name, reason in json.loads((tables_dir / "status.json").read_text())["absent"].items():
        LOG.info("table %s not written: %s", name, reason)
    return written


def figures(metrics_csv: str, figures_dir: str | Path, *, headline_tau: float, bootstrap: Mapping) -> list[Path]:
    """The summary figures (png + pdf) from the study's tidy ``metrics.csv``."""
    return write_figures(pd.read_csv(metrics_csv), Path(figures_dir), tau=headline_tau, bootstrap=bootstrap)


def best_clips(metrics: pd.DataFrame, count: int, headline_tau: float) -> pd.DataFrame:
    """The ``count`` clips whose baseline relevance lies most on motion (columns video, clip)."""
    if not len(metrics):
        return pd.DataFrame(columns=["video", "clip"])
    return top_clips(metrics, count=count, tau=headline_tau)


def explained_methods(explained) -> list[str]:
    """The methods an explain shard holds relevance of (the frozen copies' left out)."""
    return [name.split("/")[0] for name in explained.arrays if name.endswith("/relevance") and name.count("/") == 1]


def example_figures(
    metrics_csv: str,
    clips_shards: Sequence[str],
    explain_shards: Sequence[str],
    selective_shards: Sequence[str],
    outputs: Sequence[str],
    *,
    n: float,
    headline_tau: float,
) -> None:
    """Figure-3-style grids for the clips whose relevance is most on motion, selective maps at ``n``."""
    clips_of, explain_of, selective_of = (
        shard_by_video(paths) for paths in (clips_shards, explain_shards, selective_shards)
    )
    best = best_clips(pd.read_csv(metrics_csv), len(outputs), headline_tau)
    for rank, output in enumerate(outputs):
        if rank >= len(best):
            examples.placeholder_figure(output, "no clip for this example (too few videos succeeded)")
            continue
        video, clip = best.loc[rank, "video"], int(best.loc[rank, "clip"])
        clips = read_shard(clips_of[video]).arrays["clips"]
        explained = read_shard(explain_of[video])
        selected = read_shard(selective_of[video])
        methods = explained_methods(explained)
        figure3_grid(
            clips[clip],
            {method: explained.arrays[shard_key("explain", "relevance", method=method)][clip] for method in methods},
            {method: selected.arrays[shard_key("selective", "map", method=method, n=n)][clip] for method in methods},
            output,
            title=f"{video}, clip {clip} (selective n = {n:g})",
        )
        LOG.info("example %d: %s clip %d -> %s", rank + 1, video, clip, output)


def example_videos(
    metrics_csv: str,
    clips_shards: Sequence[str],
    explain_shards: Sequence[str],
    selective_shards: Sequence[str],
    mp4_outputs: Sequence[str],
    page_outputs: Sequence[str],
    *,
    n: float,
    headline_tau: float,
) -> None:
    """H.264 overlay videos of the clips whose relevance is most on motion, and a self-contained
    HTML player for each, so the report shows them playing."""
    clips_of, explain_of, selective_of = (
        shard_by_video(paths) for paths in (clips_shards, explain_shards, selective_shards)
    )
    metrics = pd.read_csv(metrics_csv)
    best = best_clips(metrics, len(mp4_outputs), headline_tau)
    for rank, (mp4, page) in enumerate(zip(mp4_outputs, page_outputs)):
        if rank >= len(best):
            examples.placeholder_video(mp4, "no clip for this example (too few videos succeeded)")
            examples.write_player(mp4, page, "no clip for this example")
            continue
        video, clip = best.loc[rank, "video"], int(best.loc[rank, "clip"])
        clips = read_shard(clips_of[video])
        explained = read_shard(explain_of[video])
        selected = read_shard(selective_of[video])
        methods = [
            method
            for method in explained_methods(explained)
            if shard_key("selective", "map", method=method, n=n) in selected.arrays
        ]
        method = examples.most_on_motion(metrics, video, clip, methods, headline_tau)
        mask_key = shard_key("selective", "mask", method=method, n=n)
        examples.write_example_video(
            mp4,
            clip=clips.arrays["clips"][clip],
            frame_indices=clips.arrays["frame_indices"][clip],
            fps=float(clips.attributes.get("fps") or 25.0),
            method=method,
            baseline=explained.arrays[shard_key("explain", "relevance", method=method)][clip],
            selective=selected.arrays[shard_key("selective", "map", method=method, n=n)][clip],
            mask=selected.arrays[mask_key][clip] if mask_key in selected.arrays else None,
            logits=explained.arrays[shard_key("explain", "logits", method=method)][clip],
            target=int(explained.arrays[shard_key("explain", "target", method=method)][clip]),
            class_names=list(explained.attributes.get("class_names") or []),
            n=n,
        )
        examples.write_player(mp4, page, examples.example_title(video, clip, method, n))
        LOG.info("example video %d: %s clip %d, %s -> %s", rank + 1, video, clip, method, mp4)


def cfp_pyramid(clips_shards: Sequence[str], explain_shards: Sequence[str], output: str | Path) -> None:
    """The class feature pyramid of the first clip of the first video whose explain shard holds one."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    for clips_path, explain_path in zip(clips_shards, explain_shards):
        explained = read_shard(explain_path)
        if explained.failed or shard_key("explain", "layers", group="cfp") not in explained.arrays:
            continue
        pyramid = pyramid_from_arrays(
            explained.arrays,
            explained.arrays[shard_key("explain", "relevance", method="cfp")],
            explained.arrays[shard_key("explain", "target", method="cfp")],
        )
        frames = read_shard(clips_path, names=["clips"]).arrays["clips"][0]
        figure = plot_pyramid(pyramid, clip=0, frames=frames)
        figure.suptitle(f"Class feature pyramid of {explained.attributes['video_id']}, clip 0", fontsize=10)
        figure.savefig(output, dpi=100)
        LOG.info("pyramid of %s clip 0 -> %s", explain_path, output)
        return
    figure = Figure(figsize=(6, 2))  # every video failed: still write the declared file, saying so
    figure.text(0.5, 0.5, "no video has a class feature pyramid (all failed)", ha="center", va="center")
    figure.savefig(output)
    LOG.info("no pyramid to draw")


def collect_failures(shards: Sequence[str], output: str | Path) -> int:
    """Every video whose shards record a failure -> ``failed_videos.csv`` (video_id, path, stage,
    reason), one row per video (its first failure); returns how many."""
    rows = {}
    for path in shards:
        attributes = read_attributes(path)
        if attributes.get("status") != "failed" or attributes["video_id"] in rows:
            continue
        rows[attributes["video_id"]] = {
            "video_id": attributes["video_id"],
            "path": attributes.get("video_path", ""),
            "stage": attributes.get("failed_stage", attributes.get("stage", "")),
            "reason": attributes.get("failure_reason", ""),
        }

    def write(path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["video_id", "path", "stage", "reason"])
            writer.writeheader()
            writer.writerows(sorted(rows.values(), key=lambda row: row["video_id"]))

    atomic_write(output, write)
    LOG.info("%d failed videos", len(rows))
    return len(rows)


def report_summary(
    metrics_csv: str,
    status_json: str,
    failed_csv: str,
    output: str | Path,
    *,
    run: Mapping,
    headline_tau: float,
    bootstrap: Mapping,
    min_videos: int = MIN_VIDEOS,
    ground_truth_table: str | None = None,
    ground_truth_meta: Sequence[str] = (),
) -> None:
    """The report's front page: what was run, the headline result, the tables, why any is absent,
    and the ground-truth benchmark first when it ran.

    ``run`` holds the study's description: videos (listed), source, model, methods, n, tau,
    clip_length. ``min_videos`` (``report.min_videos``): below it the front page does not say
    whether the data support a change.
    """
    metrics = normalise_metrics(pd.read_csv(metrics_csv))
    absent = json.loads(Path(status_json).read_text())["absent"]
    failed = len(pd.read_csv(failed_csv))
    q = headline_q(metrics)
    tables = build_tables(metrics, tau=headline_tau, q=q, bootstrap=bootstrap)
    study = StudyRun(
        videos_listed=run["videos"],
        videos_studied=run["videos"] - failed,
        failed=failed,
        source=run["source"],
        model=run["model"],
        methods=run["methods"],
        n=run["n"],
        tau=run["tau"],
        headline_tau=headline_tau,
        clips=len(metrics[["video", "clip"]].drop_duplicates()),
        clip_length=run["clip_length"],
    )
    ground_truth = []
    if ground_truth_table:
        summary, caption, headers, rows = ground_truth_display(ground_truth_table, ground_truth_meta)
        calibration_csv = Path(ground_truth_table).with_name(f"{CALIBRATION_TABLE}.csv")
        calibration = pd.read_csv(calibration_csv) if calibration_csv.exists() else None
        ground_truth = ground_truth_lines(summary, caption, headers, rows, calibration)
    text = front_page(tables, absent, study, tau=headline_tau, q=q, ground_truth=ground_truth, min_videos=min_videos)
    atomic_write(output, lambda path: path.write_text(text, encoding="utf-8"))
    LOG.info("front page -> %s", output)


def static_control(
    explain_shards: Sequence[str],
    selective_shards: Sequence[str],
    tables_dir: str | Path,
    figure_path: str | Path,
    *,
    methods: Sequence[str],
    settings: Mapping,
    control: Mapping,
    n: float | None = None,
    bootstrap: Mapping | None = None,
) -> list[Path]:
    """The static-control table and its per-frame figure from every video's frozen-copy relevance
    (explain shards) and masks (selective shards); intervals with the ``metrics.bootstrap``
    settings ``bootstrap``.

    Rows come for the paper's selective relevance and for the margin mode, so every study shows
    what the remedy removes; the masks of the study's own mode are the ones its selective shards
    hold, the other mode's are computed here from the same relevance. The figure shows the
    masks at ``n`` (default: the headline n of ``settings["n"]``).
    """
    methods = list(methods)
    n_values = [float(n) for n in settings["n"]]
    mode = settings.get("mode", "paper")
    margin = {**DEFAULT_MARGIN, **(settings.get("margin") or {})}
    edge = int(control["edge_frames"])
    n_shown = headline_n(n_values) if n is None else float(n)
    frames, shape, border = [], None, None
    profiles = {(definition, method): [] for definition in ("paper", "margin") for method in methods}
    for explain_path, selective_path in zip(explain_shards, selective_shards):
        explained = read_shard(explain_path, names=method_keys("explain", methods, "relevance", group="static_control"))
        selected = read_shard(
            selective_path, names=method_keys("selective", methods, "mask", n_values, group="static_control")
        )
        if explained.failed or selected.failed:
            LOG.info("%s: failed upstream, not in the static control", explain_path)
            continue
        video = explained.attributes["video_id"]
        for method in methods:
            relevance = explained.arrays[shard_key("explain", "relevance", method=method, group="static_control")]
            shape = relevance.shape[1:]
            border = int(control["border"] or default_border(min(shape[1:])))
            if margin["pixels"] is None:
                margin["pixels"] = default_border(min(shape[1:]))
            for definition in ("paper", "margin"):
                if definition == mode:
                    masks = {
                        n: selected.arrays[shard_key("selective", "mask", method=method, n=n, group="static_control")]
                        for n in n_values
                    }
                else:
                    result = selective_from_settings(torch.from_numpy(relevance), {**settings, "mode": definition})
                    masks = {n: result.masks[index].numpy() for index, n in enumerate(n_values)}
                frames.append(
                    artifact_rows(video, method, relevance, masks, definition=definition, edge=edge, border=border)
                )
                profiles[(definition, method)].append(masks[n_shown])
    if not frames:
        raise RuntimeError("static control: no video has frozen-copy relevance (all failed upstream)")
    table = static_control_table(pd.concat(frames, ignore_index=True), order=methods, bootstrap=bootstrap)
    text = static_control_caption(area_shares(shape, edge, border), edge, border, margin, bootstrap)
    text += f" The study's selective maps use '{mode}'."
    written = write_static_control(table, tables_dir, text)
    written.append(write_frame_figure(profiles, methods, n_shown, figure_path))
    return written


__all__ = [
    "aggregate",
    "cfp_pyramid",
    "collect_failures",
    "example_figures",
    "example_videos",
    "figures",
    "report_summary",
    "static_control",
]
