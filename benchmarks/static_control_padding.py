"""Where I3D's static-control artifacts come from: frozen clips through I3D with its zero padding
and with the padding of its convolutions swapped for replicate padding (in time, then in time
and space), nothing else changed. A diagnostic only: the swapped network is not the trained model.

Writes ``benchmarks/results/cpu-static-control-padding.{csv,md}``: per padding and method (n = 4),
the share of positive relevance and of voxels selective relevance keeps on the frozen copies,
the share of kept voxels in the first/last 2 frames and in the 16-pixel border band, and how far
the mean |R| per frame varies over the clip (max / min).

    python benchmarks/static_control_padding.py ../shared/data/ucf101_sample/Skijet/v_Skijet_g01_c03.mp4 \\
        ../shared/data/ucf101_sample/Knitting/v_Knitting_g10_c02.mp4
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from _results import write_rows_csv

from videoxai.data.copies import frozen_copy
from videoxai.data.shards import shard_key
from videoxai.data.video import decode_clips
from videoxai.evaluation.static_control import area_shares, artifact_rows
from videoxai.explain.batched import explain_clips
from videoxai.models import i3d, load_configured
from videoxai.motion.selective import selective_from_settings

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("dtd", "gradcam", "guided_backprop")
PADDINGS = (("zeros", "zeros"), ("replicate", "zeros"), ("replicate", "replicate"))


def padding_forward(original, time_mode: str, space_mode: str):
    """A TFSamePad3d.forward that pads convolutions (pad value 0) with the given modes; max-pool
    padding (-inf) is left as it is."""

    def forward(self, inputs):
        pads = self.padding_for(tuple(inputs.shape[-3:]))
        if not any(pads) or self.value != 0.0:
            return original(self, inputs)
        if space_mode == "replicate":
            padded = F.pad(inputs, pads[:4] + (0, 0), mode="replicate")
        else:
            padded = F.pad(inputs, pads[:4] + (0, 0), mode="constant", value=0.0)
        if time_mode == "replicate":
            before, after = padded[:, :, :1], padded[:, :, -1:]
            return torch.cat([before] * pads[4] + [padded] + [after] * pads[5], dim=2)
        return F.pad(padded, (0, 0, 0, 0) + tuple(pads[4:]), mode="constant", value=0.0)

    return forward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", nargs="+", type=Path)
    arguments = parser.parse_args()
    torch.set_num_threads(2)
    model, spec = load_configured({"name": "i3d_kinetics400", "weights": None, "options": {}, "spec": {}})
    clips = np.concatenate([decode_clips(path, spec, clip_length=16, max_clips=1).clips for path in arguments.videos])
    frozen = frozen_copy(clips)
    original = i3d.TFSamePad3d.forward
    rows = []
    try:
        for time_mode, space_mode in PADDINGS:
            i3d.TFSamePad3d.forward = padding_forward(original, time_mode, space_mode)
            arrays = explain_clips(model, spec, frozen, list(METHODS), batch_size=2)
            for method in METHODS:
                relevance = arrays[shard_key("explain", "relevance", method=method)]
                mask = selective_from_settings(torch.from_numpy(relevance), {"n": [4.0]}).masks[0].numpy()
                value = (
                    artifact_rows("v", method, relevance, {4.0: mask}, definition="paper", edge=2, border=16)
                    .groupby("metric")["value"]
                    .mean()
                )
                per_frame = np.abs(relevance).mean(axis=(0, 2, 3))
                rows.append(
                    {
                        "padding_time": time_mode,
                        "padding_space": space_mode,
                        "method": method,
                        "kept_relevance": float(value["kept_relevance"]),
                        "kept_voxels": float(value["kept_voxels"]),
                        "first_last_2_frames": float(value["edge_frames"]),
                        "border_16px": float(value["border"]),
                        "frame_max_over_min": float(per_frame.max() / per_frame.min()),
                    }
                )
                print(rows[-1], flush=True)
    finally:
        i3d.TFSamePad3d.forward = original
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_rows_csv(RESULTS / "cpu-static-control-padding.csv", rows, device="cpu")
    areas = area_shares((16, spec.size, spec.size), 2, 16)
    table = pd.DataFrame(rows)
    lines = [
        f"# Static control: I3D's padding and the artifacts on frozen clips (cpu, {platform.machine()})",
        "",
        f"{len(clips)} frozen clip(s) of {', '.join(path.name for path in arguments.videos)}; n = 4. The first/last 2 "
        f"frames are {100 * areas['edge_frames_area']:.1f} % of the clip, the 16-px band "
        f"{100 * areas['border_area']:.1f} % of the frame.",
        "",
        "| Padding (time / space) | Method | Kept relevance (%) | Kept voxels (%) | In first/last 2 frames (%) | "
        "In 16-px border (%) | Mean \\|R\\| per frame, max / min |",
        "|:---|:---|---:|---:|---:|---:|---:|",
    ]
    for _, row in table.iterrows():
        lines.append(
            f"| {row['padding_time']} / {row['padding_space']} | {row['method']} | {100 * row['kept_relevance']:.1f} | "
            f"{100 * row['kept_voxels']:.2f} | {100 * row['first_last_2_frames']:.0f} | {100 * row['border_16px']:.0f} | "
            f"{row['frame_max_over_min']:.2f} |"
        )
    (RESULTS / "cpu-static-control-padding.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
