"""Rule explain: relevance (N, T, H, W), logits, target and seconds per clip for every method.

Flow methods (videoxai.explain.FLOW_METHODS) get the flow shard's flow of the same clips (the
rule declares that shard as input only when such a method is configured); cfp also writes its
pyramid (kept kernels and their summed activation per layer) under cfp/pyramid/.
"""

import sys
import time

import numpy as np
import torch
from _stage import logged, run_stage, to_numpy, torch_device, user_spec

from videoxai.explain import FLOW_METHODS, get_explainer
from videoxai.explain.cfp import pyramid_arrays
from videoxai.models import load
from videoxai.shards import read_shard

model_settings = snakemake.params.model
methods = list(snakemake.params.methods)
method_options = dict(snakemake.params.method_options)
batch_size = int(snakemake.config["explain"]["batch_size"])
device = torch_device(snakemake.config["device"])
# The flow shard is an input only when a flow method is configured.
flow_input = [snakemake.input.flow] if "flow" in snakemake.input.keys() else []
config = {"model": model_settings, "methods": methods, "method_options": method_options}


def compute():
    torch.set_num_threads(max(1, snakemake.threads))
    clips = read_shard(snakemake.input.clips, names=["clips"]).arrays["clips"]
    flow = read_shard(flow_input[0], names=["flow"]).arrays["flow"] if flow_input else None
    model, spec = load(model_settings["name"], weights=model_settings["weights"], device=device,
                       spec=user_spec(model_settings), **model_settings["options"])
    if tuple(clips.shape[2:4]) != (spec.size, spec.size):
        # A config error (the decode geometry does not match the model), not a video problem: stop loudly.
        raise RuntimeError(f"clips are {clips.shape[2:4]} but {spec.name} takes {spec.size}x{spec.size}; "
                           "fix model.spec in the config")
    arrays = {}
    for method in methods:
        explainer = get_explainer(method, model, spec=spec, **method_options.get(method, {}))
        relevance, logits, target, seconds, pyramids = [], [], [], [], []
        for start in range(0, len(clips), batch_size):
            batch = clips[start : start + batch_size]
            inputs = spec.preprocess(batch, device=device)
            began = time.perf_counter()
            extra = {}
            if method in FLOW_METHODS:
                extra["flow"] = torch.from_numpy(flow[start : start + batch_size].astype(np.float32))
            result = explainer.attribute(inputs, target=None, **extra)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - began
            relevance.append(to_numpy(result.relevance).astype(np.float32))
            logits.append(to_numpy(result.logits).astype(np.float32))
            target.append(to_numpy(result.target).astype(np.int64))
            seconds.extend([elapsed / len(batch)] * len(batch))
            if method == "cfp":
                pyramids.append(pyramid_arrays(result, prefix="cfp/pyramid", maps=True))
            print(f"{method}: clips {start}-{start + len(batch) - 1} in {elapsed:.2f} s on {device}", file=sys.stderr, flush=True)
        logits = np.concatenate(logits)
        arrays[f"{method}/relevance"] = np.concatenate(relevance)
        arrays[f"{method}/logits"] = logits
        arrays[f"{method}/target"] = np.concatenate(target)
        arrays[f"{method}/predicted"] = logits.argmax(axis=1).astype(np.int64)
        arrays[f"{method}/seconds_per_clip"] = np.asarray(seconds, dtype=np.float64)
        if pyramids:
            arrays["cfp/pyramid/layers"] = pyramids[0]["cfp/pyramid/layers"]
            for name in pyramids[0]:
                if name != "cfp/pyramid/layers":
                    arrays[name] = np.concatenate([pyramid[name] for pyramid in pyramids])
    attributes = {"model_name": spec.name, "model_weights_sha256": spec.weights_sha256 or "",
                  "class_names": list(spec.class_names), "device": device}
    return arrays, attributes


with logged(snakemake):
    run_stage(snakemake, "explain", compute, upstream=[snakemake.input.clips, *flow_input], config=config)
