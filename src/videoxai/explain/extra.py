"""Registry of the explanation methods beyond the paper's four (issue 4), merged into
``videoxai.explain.get_explainer``. Each takes the same ``attribute(inputs, target)``; the flow
methods also take ``flow=`` (see ``docs/methods_extra.md``)."""

from __future__ import annotations

from videoxai.explain.cfp import ClassFeaturePyramid
from videoxai.explain.extremal import ExtremalPerturbation, FrequencyExtremalPerturbation
from videoxai.explain.occlusion import FlowOcclusion, FlowOcclusionApprox, Occlusion
from videoxai.explain.saliency_tubes import SaliencyTubes

EXTRA_METHODS = {
    "saliency_tubes": SaliencyTubes,
    "occlusion": Occlusion,
    "flow_occlusion": FlowOcclusion,
    "flow_occlusion_approx": FlowOcclusionApprox,
    "fep": FrequencyExtremalPerturbation,
    "extremal_perturbation": ExtremalPerturbation,
    "cfp": ClassFeaturePyramid,
}

# methods whose attribute() takes the clip's optical flow (N, T, H, W, 2)
FLOW_METHODS = ("flow_occlusion", "flow_occlusion_approx")
