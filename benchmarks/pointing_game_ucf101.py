"""The pointing game on real human boxes (UCF101-24) for a finished study's maps (not a test).

Reads the clips, explain and selective shards of every video of a results folder that has boxes
in the CSV (``../shared/data/ucf101_sample_boxes.csv``: CliffDiving and Skijet), maps the boxes
into clip pixels with the decode's resize and crop (``videoxai.evaluation.faithfulness.clip_boxes``) and
plays the pointing game (``pointing_game``, 15 px) with every method's baseline and selective
map and the random and centre-of-frame references (what ``faithfulness.references: [random,
centre]`` scores in the workflow, without the deletion/insertion forwards that rule also runs).
Accuracy = hits / annotated frames pooled over clips, with a video-level bootstrap 95 % interval
(``videoxai.evaluation.stats.bootstrap_mean`` over the per-frame hits).

Writes ``benchmarks/results/<name>.md`` and ``.csv``.

    python benchmarks/pointing_game_ucf101.py results/ucf101_camera ../shared/data/ucf101_sample_boxes.csv
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_rows_csv  # noqa: E402

from videoxai.data.shards import read_shard, shard_key  # noqa: E402
from videoxai.evaluation.faithfulness import clip_boxes, pointing_game, read_annotations, reference_relevance  # noqa: E402
from videoxai.evaluation.metrics import ordered_methods  # noqa: E402
from videoxai.evaluation.stats import bootstrap_mean, interval_text  # noqa: E402
from videoxai.study.faithfulness import annotation_for  # noqa: E402


def frame_hits(relevance: np.ndarray, boxes: np.ndarray, tolerance: float) -> np.ndarray:
    """1.0 hit / 0.0 miss / NaN constant map, per annotated frame of ``(N, T, H, W)`` maps
    (frames without a box dropped). The pointing game skips a frame whose map is constant (an
    empty selective frame has nothing to point with); the NaN keeps that visible."""
    hits = []
    for clip, t in np.ndindex(relevance.shape[:2]):
        if not np.isfinite(boxes[clip, t]).all(axis=-1).any():
            continue
        hit, miss = pointing_game(
            relevance[clip : clip + 1, t : t + 1], boxes=boxes[clip : clip + 1, t : t + 1], tolerance=tolerance
        )
        hits.append(float(hit[0]) if hit[0] + miss[0] else math.nan)
    return np.asarray(hits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("boxes", type=Path)
    parser.add_argument("--tolerance", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random reference map")
    parser.add_argument("--name", default="pointing-game-ucf101")
    args = parser.parse_args()
    annotations = read_annotations(args.boxes)
    explain_paths = {path.stem: path for path in sorted((args.results / "explain").glob("*/*.h5"))}
    collected: dict[tuple[str, str, float], list[tuple[str, np.ndarray]]] = {}
    per_video = []
    for video, explain_path in explain_paths.items():
        clips = read_shard(args.results / "clips" / f"{video}.h5", names=["frame_indices"])
        annotation = annotation_for(annotations, video, clips.attributes.get("video_path", ""))
        if annotation is None or clips.attributes.get("status") == "failed":
            continue
        geometry = SimpleNamespace(**json.loads(clips.attributes["config"])["geometry"])
        source_hw = (clips.attributes["source_height"], clips.attributes["source_width"])
        boxes = clip_boxes(annotation, clips.arrays["frame_indices"], source_hw, geometry)
        explained = read_shard(explain_path)
        selected = read_shard(args.results / "selective" / f"{video}.h5")
        methods = [name.split("/")[0] for name in explained.arrays if name.endswith("/relevance")]
        maps = {}
        for method in methods:
            maps[(method, "baseline", math.nan)] = explained.arrays[shard_key("explain", "relevance", method=method)]
            for name in selected.arrays:
                if name.startswith(f"{method}/n=") and name.endswith("/map"):
                    maps[(method, "selective", float(name.split("/")[1][2:]))] = selected.arrays[name]
        shape = next(iter(maps.values())).shape
        for reference in ("centre", "random"):
            maps[(reference, "baseline", math.nan)] = reference_relevance(reference, shape, seed=args.seed).numpy()
        annotated = int(np.isfinite(boxes).all(axis=-1).any(axis=-1).sum())
        per_video.append((video, annotated, clips.arrays["frame_indices"]))
        for key, relevance in maps.items():
            collected.setdefault(key, []).append((video, frame_hits(relevance, boxes, args.tolerance)))
    order = {method: index for index, method in enumerate(ordered_methods([key[0] for key in collected]))}
    rows = []
    for method, variant, n in sorted(collected, key=lambda key: (order[key[0]], key[1], key[2])):
        parts = collected[(method, variant, n)]
        values = np.concatenate([hits for _, hits in parts])
        videos = np.concatenate([[video] * len(hits) for video, hits in parts])
        interval = bootstrap_mean(values, videos)
        strict = bootstrap_mean(np.nan_to_num(values, nan=0.0), videos)
        rows.append(
            {
                "method": method,
                "variant": variant,
                "n": n,
                "accuracy": interval.mean,
                "low": interval.low,
                "high": interval.high,
                "frames": int(np.isfinite(values).sum()),
                "annotated_frames": int(len(values)),
                "strict_accuracy": strict.mean,
                "videos": int(len(set(videos[np.isfinite(values)]))),
                "text": interval_text(interval),
                "strict_text": interval_text(strict),
            }
        )
    out = Path(__file__).resolve().parent / "results"
    write_rows_csv(
        out / f"{args.name}.csv", [{k: v for k, v in row.items() if not k.endswith("text")} for row in rows], "cpu"
    )
    lines = [
        f"# Pointing game on UCF101-24 person boxes ({len(per_video)} videos)",
        "",
        f"Written by `benchmarks/pointing_game_ucf101.py {args.results} {args.boxes}`. A frame is a hit when "
        f"the map's maximum lies within {args.tolerance:g} px of a person box (boxes mapped into the clip's "
        "pixels through the decode's resize and centre crop); accuracy = hits / annotated frames, pooled, "
        "with a video-level bootstrap 95 % interval. `centre`: a map peaking at the frame's centre; "
        f"`random`: uniform noise (seed {args.seed}). The pointing game skips frames where a map is constant "
        "(an empty selective frame); the strict column counts them as misses.",
        "",
        "| method | variant | n | accuracy [95 % CI] | frames pointed | strict accuracy (of all annotated) | videos |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        n_text = "" if math.isnan(row["n"]) else f"{row['n']:g}"
        lines.append(
            f"| {row['method']} | {row['variant']} | {n_text} | {row['text']} | {row['frames']} of "
            f"{row['annotated_frames']} | {row['strict_text']} | {row['videos']} |"
        )
    lines += ["", "Clips scored (source frames of each clip; annotated clip frames):", ""]
    for video, annotated, indices in per_video:
        lines.append(f"- {video}: frames {indices[0, 0]}–{indices[0, -1]}, {annotated} annotated")
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
