"""Rule example_videos: H.264 overlay videos of the clips whose relevance is most on motion, and a
self-contained HTML player for each, so the report shows them playing."""

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd
from _stage import logged, shard_of

from videoxai.core.files import atomic_write
from videoxai.core.methods import method_label
from videoxai.report.overlay import ExplainedClips, render_explanation, write_video
from videoxai.report.figures import top_clips
from videoxai.data.shards import n_group, read_shard

n = float(snakemake.params.n)  # the configured n nearest the paper's


def player(mp4: Path, title: str) -> str:
    # The mp4 travels inside the page as a data URI: the report shows HTML pages in a frame of
    # their own, where a relative link to a separate file would not resolve.
    data = base64.b64encode(mp4.read_bytes()).decode("ascii")
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:1em}video{max-width:100%}</style></head><body>"
        f"<p>{html.escape(title)}</p>"
        f'<video id="overlay" controls loop muted playsinline src="data:video/mp4;base64,{data}"></video>'
        "</body></html>\n"
    )


def placeholder_video(mp4: Path, message: str) -> None:
    from videoxai.report.overlay import text_band

    frame = text_band([message], 480, size=14)
    write_video(np.repeat(frame[None], 8, axis=0), mp4, fps=8)


with logged(snakemake) as log:
    metrics = pd.read_csv(snakemake.input.metrics)
    count = len(snakemake.output.mp4)
    best = (
        top_clips(metrics, count=count, tau=snakemake.params.headline_tau)
        if len(metrics)
        else pd.DataFrame(columns=["video", "clip"])
    )
    for rank, (mp4, page) in enumerate(zip(snakemake.output.mp4, snakemake.output.html)):
        mp4, page = Path(mp4), Path(page)
        if rank >= len(best):
            placeholder_video(mp4, "no clip for this example (too few videos succeeded)")
            atomic_write(page, lambda p, m=mp4: p.write_text(player(m, "no clip for this example"), encoding="utf-8"))
            continue
        video, clip = best.loc[rank, "video"], int(best.loc[rank, "clip"])
        clips = read_shard(shard_of(snakemake, "clips", video))
        explained = read_shard(shard_of(snakemake, "explain", video))
        selected = read_shard(shard_of(snakemake, "selective", video))
        methods = [
            name.split("/")[0]
            for name in explained.arrays
            if name.endswith("/relevance") and f"{name.split('/')[0]}/{n_group(n)}/map" in selected.arrays
        ]
        # the method whose baseline puts the most relevance on motion in this clip
        rows = metrics[
            (metrics["video"] == video)
            & (metrics["clip"] == clip)
            & (metrics["variant"] == "baseline")
            & (metrics["metric"] == "weighted_precision")
            & np.isclose(metrics["tau"], snakemake.params.headline_tau)
        ]
        scores = rows.groupby("method")["value"].mean().reindex(methods)
        method = scores.idxmax() if scores.notna().any() else methods[0]
        logits = explained.arrays[f"{method}/logits"][clip]
        target = int(explained.arrays[f"{method}/target"][clip])
        probability = float(np.exp(logits[target] - logits.max()) / np.exp(logits - logits.max()).sum())
        names = list(explained.attributes.get("class_names") or [])
        mask = (
            selected.arrays[f"{method}/{n_group(n)}/mask"][clip]
            if f"{method}/{n_group(n)}/mask" in selected.arrays
            else None
        )
        selective_map = selected.arrays[f"{method}/{n_group(n)}/map"][clip]
        fps = float(clips.attributes.get("fps") or 25.0)
        frames = ExplainedClips(
            clips=clips.arrays["clips"][clip][None],
            baseline=explained.arrays[f"{method}/relevance"][clip][None],
            selective=selective_map[None],
            method=method_label(method),
            classes=[names[target] if target < len(names) else str(target)],
            probabilities=[probability],
            n=n,
            kept=[float(np.mean(mask)) if mask is not None else float(np.mean(selective_map != 0))],
            times=clips.arrays["frame_indices"][clip][None] / fps,
        )
        # panels at least 224 px wide, so the text on the frames stays readable for small clips
        factor = max(2, -(-224 // frames.clips.shape[3]))
        write_video(
            render_explanation(frames, factor=factor), mp4, fps=min(fps, 8.0)
        )  # slowed down: a 16-frame clip would pass in under a second
        title = f"{video}, clip {clip}: {method_label(method)} (selective n = {n:g})"
        atomic_write(page, lambda p, m=mp4, t=title: p.write_text(player(m, t), encoding="utf-8"))
        log.info("example video %d: %s clip %d, %s -> %s", rank + 1, video, clip, method, mp4)
