"""A tiny 3D CNN for tests of the workflow's plumbing only (not a model anyone should study).

Used as ``model: {name: "workflow_models:tiny_net", spec: {...}}`` with ``tests/`` on PYTHONPATH.
"""

import torch
from torch import nn


def tiny_net(num_classes: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv3d(3, 4, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool3d(kernel_size=2),
        nn.Conv3d(4, 6, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Linear(6, num_classes),
    )


def tiny_fc_net(num_classes: int = 3) -> nn.Module:
    """Like C3D: the classifier follows a fully connected layer over all positions, not global
    pooling, so Saliency Tubes must refuse it. Takes 8 x 32 x 32 clips."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv3d(3, 4, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool3d((2, 4, 4)),
        nn.Flatten(),
        nn.Linear(4 * 2 * 4 * 4, 8),
        nn.ReLU(),
        nn.Linear(8, num_classes),
    )
