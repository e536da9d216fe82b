"""The paper's four methods from one forward pass: DTD, Grad-CAM, Guided BP and Guided Grad-CAM.

Each of them is one forward pass of the same model on the same clips followed by its own backward
pass, so when a study asks for several of them, one forward serves all: it is recorded once with
the rules of :mod:`videoxai.explain.lrp` on every layer, each of which can compute in backward
either its LRP rule or its gradient (plain, or guided at ReLUs), and then the backward passes run
one after the other on that graph. The maps are those of the methods' own ``attribute`` (the same
operations on the same activations); the tests compare them.

A method joins only where that holds exactly:

* ``dtd`` with the fast implementation, on a model with nothing to canonize (no BatchNorm, no
  torchvision residual block): merging BatchNorm changes the forward's rounding, which the other
  methods must not see;
* ``gradcam``, ``guided_backprop``, ``guided_gradcam`` without ``autocast``.

The others (and all of them when fewer than two join) are left to the caller.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import torch
from torch import nn
from zennit.types import BatchNorm

from videoxai.explain.base import Explainer, Explanation, check_inputs, one_hot, resolve_target, synchronize
from videoxai.explain.canonizers import video_resnet_block_types
from videoxai.explain.dtd import DTD
from videoxai.explain.gradcam import GradCAM, grad_cam_map
from videoxai.explain.guided_backprop import GuidedBackprop
from videoxai.explain.guided_gradcam import GuidedGradCAM
from videoxai.explain.lrp import PassState, dtd_rules, guided_relu_rules, rules_attached


def _needs_canonizing(model: nn.Module) -> bool:
    blocks = video_resnet_block_types()
    return any(isinstance(module, BatchNorm) or (blocks and isinstance(module, blocks)) for module in model.modules())


def _joins(explainer: Explainer, model: nn.Module) -> bool:
    if explainer.model is not model:
        return False
    if isinstance(explainer, DTD):
        return explainer.implementation == "fast" and not _needs_canonizing(model)
    if isinstance(explainer, (GradCAM, GuidedBackprop)):
        return explainer.autocast is None
    if isinstance(explainer, GuidedGradCAM):
        return explainer.gradcam.autocast is None and explainer.guided_backprop.autocast is None
    return False


def joining(explainers: Mapping[str, Explainer]) -> list[str]:
    """The methods of ``explainers`` that :func:`explain_together` computes from one forward pass
    (none when fewer than two can)."""
    if not explainers:
        return []
    model = next(iter(explainers.values())).model
    names = [name for name, explainer in explainers.items() if _joins(explainer, model)]
    return names if len(names) >= 2 else []


def explain_together(
    explainers: Mapping[str, Explainer], inputs: torch.Tensor, target: int | torch.Tensor | None = None
) -> dict[str, Explanation]:
    """:class:`Explanation` per method of :func:`joining` from one forward pass on ``inputs``
    float32 ``(N, C, T, H, W)`` for ``target`` (None: each clip's top-1, from that pass).

    ``Explanation.seconds`` is what each method costs on its own, so that per-method times stay
    comparable: the shared forward pass plus the method's backward pass (Guided Grad-CAM: those of
    Grad-CAM and Guided BP, each with the forward). Their sum exceeds the wall time.
    Returns ``{}`` when the forward pass meets a module the rules cannot take over (the caller
    then runs each method on its own).
    """
    names = joining(explainers)
    if not names:
        return {}
    members = {name: explainers[name] for name in names}
    model = members[names[0]].model
    inputs = check_inputs(inputs)
    device = inputs.device
    dtd = next((explainer for explainer in members.values() if isinstance(explainer, DTD)), None)
    cam_layers: dict[str, nn.Module] = {}
    for explainer in members.values():
        cam = explainer if isinstance(explainer, GradCAM) else getattr(explainer, "gradcam", None)
        if cam is not None:
            cam_layers[cam.layer_name] = cam.layer

    synchronize(device)
    began = time.perf_counter()
    state = PassState(gradients=True)
    if dtd is not None:
        low, high = dtd.cached_bounds(inputs)
        rules = dtd_rules(model, dtd.cache, low, high, dtd.stabilizer, dtd.bias == "include", state)
    else:
        rules = guided_relu_rules(model, state)
    captured: dict[str, list[torch.Tensor]] = {name: [] for name in cam_layers}
    handles = [
        layer.register_forward_hook(lambda module, args, output, name=name: captured[name].append(output))
        for name, layer in cam_layers.items()
    ]
    leaf = inputs.detach().requires_grad_(True)
    try:
        with torch.autocast(device_type=device.type, enabled=False), rules_attached(rules):
            logits = model(leaf)
    finally:
        for handle in handles:
            handle.remove()
    if state.unsupported or any(len(outputs) != 1 for outputs in captured.values()):
        return {}
    resolved = resolve_target(target, logits)
    synchronize(device)
    forward_seconds = time.perf_counter() - began
    backward_seconds: dict[str, float] = {}
    maps: dict[str, torch.Tensor] = {}
    wants_guided = any(isinstance(member, (GuidedBackprop, GuidedGradCAM)) for member in members.values())

    def timed(label: str, mode: str, function):
        synchronize(device)
        start = time.perf_counter()
        state.mode = mode
        maps[label] = function()
        synchronize(device)
        backward_seconds[label] = time.perf_counter() - start

    def cams():
        selected = logits.gather(1, resolved[:, None]).sum()
        activations = [captured[name][0] for name in cam_layers]
        gradients = torch.autograd.grad(selected, activations, retain_graph=True)
        return {
            name: grad_cam_map(activation.detach(), gradient, inputs.shape[2:])
            for name, activation, gradient in zip(cam_layers, activations, gradients)
        }

    if cam_layers:
        timed("cam", "gradient", cams)
    if wants_guided:
        timed(
            "guided",
            "guided",
            lambda: torch.autograd.grad(logits, leaf, one_hot(resolved, logits), retain_graph=dtd is not None)[0],
        )
    if dtd is not None:
        start = one_hot(resolved, logits) * logits.detach()
        timed("dtd", "lrp", lambda: torch.autograd.grad(logits, leaf, grad_outputs=start)[0])

    results: dict[str, Explanation] = {}
    logits = logits.detach()
    for name, explainer in members.items():
        if isinstance(explainer, DTD):
            relevance, seconds = maps["dtd"].sum(dim=1), backward_seconds["dtd"]
        elif isinstance(explainer, GradCAM):
            relevance, seconds = maps["cam"][explainer.layer_name], backward_seconds["cam"]
        elif isinstance(explainer, GuidedBackprop):
            relevance, seconds = maps["guided"].sum(dim=1), backward_seconds["guided"]
        else:
            synchronize(device)
            start = time.perf_counter()
            relevance = maps["guided"].sum(dim=1) * maps["cam"][explainer.gradcam.layer_name]
            synchronize(device)
            # its two sources' passes, each with the forward, as explain.batched.attribute_batch counts a shared Guided Grad-CAM
            seconds = forward_seconds + backward_seconds["cam"] + backward_seconds["guided"]
            seconds += time.perf_counter() - start
        results[name] = Explanation(
            relevance.detach().to(torch.float32), logits, resolved, explainer.name, forward_seconds + seconds
        )
    return results
