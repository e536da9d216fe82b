"""Rule explain: relevance (N, T, H, W), logits, target and seconds per clip for every method.

The work is videoxai.stages.explain_clips. Flow methods get the flow shard's flow of the same
clips (the rule declares that shard as input only when such a method is configured).
"""

import torch
from _stage import logged, run_stage, torch_device

from videoxai.models import load_configured
from videoxai.shards import read_shard
from videoxai.stages import explain_clips, log_to_stderr

model_settings = snakemake.params.model
methods = list(snakemake.params.methods)
method_options = dict(snakemake.params.method_options)
device = torch_device(snakemake.config["device"])
# The flow shard is an input only when a flow method is configured.
flow_input = [snakemake.input.flow] if "flow" in snakemake.input.keys() else []
config = {"model": model_settings, "methods": methods, "method_options": method_options}


def compute():
    torch.set_num_threads(max(1, snakemake.threads))
    clips = read_shard(snakemake.input.clips, names=["clips"]).arrays["clips"]
    flow = read_shard(flow_input[0], names=["flow"]).arrays["flow"] if flow_input else None
    model, spec = load_configured(model_settings, device=device)
    arrays = explain_clips(model, spec, clips, methods, method_options, batch_size=snakemake.config["explain"]["batch_size"],
                           device=device, flow=flow, progress=log_to_stderr)
    attributes = {"model_name": spec.name, "model_weights_sha256": spec.weights_sha256 or "",
                  "class_names": list(spec.class_names), "device": device}
    return arrays, attributes


with logged(snakemake):
    run_stage(snakemake, "explain", compute, upstream=[snakemake.input.clips, *flow_input], config=config)
