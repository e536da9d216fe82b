"""Rule faithfulness: deletion/insertion, pointing game and smoothness rows of one video.

Every configured method's map is scored as a baseline and, per n, as a selective map, plus a
random map (method "random") as the reference. Rows use the tidy metrics columns; the
deletion/insertion curves are rows too (metric deletion_curve / insertion_curve, q = the
fraction removed or revealed at that step), so the curves figure reads them from metrics.csv.
"""

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _stage import logged, run_stage, torch_device, user_spec

from videoxai.faithfulness import (
    clip_boxes,
    clip_masks,
    deletion_insertion,
    faithfulness_rows,
    pointing_game,
    random_relevance,
    read_annotations,
    spatiotemporal_smoothness,
)
from videoxai.metrics import REFERENCE_METHOD, TIDY_COLUMNS
from videoxai.models import load
from videoxai.shards import n_group, read_shard, write_table_shard

params = snakemake.params
model_settings = params.model
methods = list(params.methods)
n_values = [float(n) for n in params.n]
variants = list(params.variants)
steps = int(params.steps)
grid = tuple(params.grid) if params.grid else None
batch_size = int(snakemake.config["faithfulness"]["batch_size"])
device = torch_device(snakemake.config["device"])
video_id = snakemake.wildcards.video
config = {key: getattr(params, key) for key in ("model", "methods", "n", "variants", "steps", "baseline", "grid",
                                       "random_seed", "tolerance", "annotations")}
upstream = [snakemake.input.clips, snakemake.input.explain, snakemake.input.selective]


def curve_rows(method, variant, n, curves) -> pd.DataFrame:
    """One row per clip and step of both curves; q = fraction of the units removed/revealed."""
    frames = []
    for mode in ("deletion", "insertion"):
        values = np.asarray(curves[mode], np.float64)  # (N, steps + 1)
        clips, points = values.shape
        frames.append(pd.DataFrame({
            "video": video_id, "clip": np.repeat(np.arange(clips), points), "method": method, "variant": variant,
            "n": np.full(clips * points, float(n)), "tau": np.full(clips * points, np.nan), "q": np.tile(np.arange(points) / (points - 1), clips), "other_method": "",
            "metric": f"{mode}_curve", "value": values.reshape(-1),
        }, columns=list(TIDY_COLUMNS)))
    return pd.concat(frames, ignore_index=True)


def annotation_of(annotations, attributes):
    """This video's entry: by video id, else by the stem of its file name (None when absent)."""
    if annotations is None:
        return None
    stem = Path(str(attributes.get("video_path", ""))).stem
    return annotations.get(video_id, annotations.get(stem))


def compute():
    torch.set_num_threads(max(1, snakemake.threads))
    clips_shard = read_shard(snakemake.input.clips, names=["clips", "frame_indices"])
    clips = clips_shard.arrays["clips"]
    explained = read_shard(snakemake.input.explain, names=[f"{m}/{name}" for m in methods for name in ("relevance", "target")])
    selected = read_shard(snakemake.input.selective, names=[f"{m}/{n_group(n)}/map" for m in methods for n in n_values])
    model, spec = load(model_settings["name"], weights=model_settings["weights"], device=device,
                       spec=user_spec(model_settings), **model_settings["options"])
    model.eval()
    inputs = spec.preprocess(clips, device=device)
    annotation = annotation_of(read_annotations(params.annotations) if params.annotations else None, clips_shard.attributes)
    pointing_targets = None
    if annotation is not None and "boxes" in annotation:
        source_hw = (clips_shard.attributes["source_height"], clips_shard.attributes["source_width"])
        pointing_targets = {"boxes": clip_boxes(annotation, clips_shard.arrays["frame_indices"], source_hw, spec)}
    elif annotation is not None:
        pointing_targets = {"masks": clip_masks(annotation, clips_shard.arrays["frame_indices"], spec)}

    maps = []  # (method, variant, n, relevance (N, T, H, W), target (N,))
    for method in methods:
        relevance, target = explained.arrays[f"{method}/relevance"], explained.arrays[f"{method}/target"]
        if "baseline" in variants:
            maps.append((method, "baseline", np.nan, relevance, target))
        if "selective" in variants:
            maps += [(method, "selective", n, selected.arrays[f"{method}/{n_group(n)}/map"], target) for n in n_values]
    first_target = explained.arrays[f"{methods[0]}/target"]
    reference = random_relevance(explained.arrays[f"{methods[0]}/relevance"].shape, seed=params.random_seed).numpy()
    maps.append((REFERENCE_METHOD, "baseline", np.nan, reference, first_target))

    frames = []
    for method, variant, n, relevance, target in maps:
        began = time.perf_counter()
        curves = deletion_insertion(model, inputs, torch.from_numpy(np.ascontiguousarray(relevance)),
                                    torch.from_numpy(np.asarray(target)), steps=steps, baseline=params.baseline,
                                    grid=grid, batch_size=batch_size)
        elapsed = time.perf_counter() - began
        print(f"{method} {variant} n={n}: deletion/insertion of {len(clips)} clip(s) in {elapsed:.1f} s",
              file=sys.stderr, flush=True)
        pointing = pointing_game(relevance, tolerance=float(params.tolerance), **pointing_targets) if pointing_targets else None
        frames.append(faithfulness_rows(video_id, method, variant, n, deletion_insertion_result=curves,
                                        pointing=pointing, smoothness=spatiotemporal_smoothness(relevance)))
        frames.append(curve_rows(method, variant, n, curves))
    table = pd.concat(frames, ignore_index=True)
    return table.astype({"n": np.float64, "tau": np.float64, "q": np.float64, "value": np.float64}), {}


def write_table(path, stage, table, **keywords):
    return write_table_shard(path, table, stage="faithfulness", **keywords)


with logged(snakemake):
    run_stage(snakemake, "faithfulness", compute, writer=write_table, upstream=upstream, config=config)
