"""Canonizers: rewrite a model for the duration of an LRP pass so that every step has a rule.

Two rewrites are needed for the networks people train (torchvision's video ResNets, S3D, I3D
with real BatchNorm):

* **BatchNorm merged** into the convolution or linear layer right before it (zennit's
  ``SequentialMergeBatchNorm``, plus its ``eps`` set to 0, see :class:`ExactMergeBatchNorm`):
  the layer gets ``w · s`` and bias ``(b − mean) · s + beta`` with ``s = gamma / sqrt(var + eps)``,
  and the BatchNorm becomes the identity. In eval mode the model computes the same function (up
  to float rounding), and z+ / z^B then see the whole affine map.
* **Residual additions made explicit** (``out = branch + shortcut``) as a zennit ``Sum`` module
  over the two tensors stacked on a last axis, so that a rule can be attached to them: DTD gives
  it ``Norm`` (each summand gets the output's relevance in proportion to its value), which passes
  all of it on. With the plain gradient both summands would get the whole relevance, and the
  input relevance would no longer add up to the logit.

Everything is undone on exit of :func:`canonized` (or of a zennit composite's ``context``),
also when the pass raises: the original parameter tensors are put back, the BatchNorms get their
statistics back, and the blocks their class's ``forward``.

Only BatchNorms in eval mode, with running statistics and affine parameters, that directly
follow a convolution or linear layer (in module registration order) can be merged;
:func:`unmergeable_batchnorms` lists the others, for which DTD refuses.
Residual additions written as ``x + y`` inside the ``forward`` of a user's own block are invisible
to any canonizer; only the torchvision video blocks below are rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn
from zennit.canonizers import AttributeCanonizer, Canonizer, SequentialMergeBatchNorm
from zennit.core import collect_leaves
from zennit.layer import Sum
from zennit.types import BatchNorm


def _mergeable(batch_norm: nn.Module) -> bool:
    """A BatchNorm is a fixed affine map only in eval mode, with running statistics and affine
    parameters (zennit's merge fails on ``affine=False`` and would be wrong in train mode)."""
    return (
        not batch_norm.training
        and batch_norm.running_mean is not None
        and batch_norm.running_var is not None
        and batch_norm.weight is not None
        and batch_norm.bias is not None
    )


class ExactMergeBatchNorm(SequentialMergeBatchNorm):
    """zennit's ``SequentialMergeBatchNorm`` that also sets the BatchNorm's ``eps`` to 0 (and back).

    Needed because zennit 0.5.1 leaves ``eps`` in place, so the "identity" BatchNorm still divides
    by ``sqrt(1 + eps)``: with S3D's eps = 1e-3 over ~60 layers that changed the logits by several
    percent and lost 1.2 % of the relevance. ``apply`` also skips BatchNorms that cannot be merged
    instead of failing on them, so that DTD can name them.
    """

    def apply(self, root_module: nn.Module) -> list[ExactMergeBatchNorm]:
        """Merge each BatchNorm that directly follows a convolution or linear layer of its width,
        in module registration order, and that can be merged at all (see :func:`_mergeable`)."""
        instances = []
        previous = None
        for leaf in collect_leaves(root_module):
            if (
                isinstance(previous, self.linear_type)
                and isinstance(leaf, self.batch_norm_type)
                and _mergeable(leaf)
                and previous.weight.shape[0] == leaf.num_features
            ):
                instance = self.copy()
                instance.register((previous,), leaf)
                instances.append(instance)
            previous = leaf
        return instances

    def register(self, linears, batch_norm):
        self.saved_eps = batch_norm.eps
        super().register(linears, batch_norm)
        batch_norm.eps = 0.0

    def remove(self):
        super().remove()
        self.batch_norm.eps = self.saved_eps


def video_resnet_block_types() -> tuple[type, ...]:
    try:
        from torchvision.models.video.resnet import BasicBlock, Bottleneck
    except ImportError:  # torchvision is optional for models that are not torchvision's
        return ()
    return (BasicBlock, Bottleneck)


def _residual_forward(self, inputs: torch.Tensor) -> torch.Tensor:
    """torchvision video ``BasicBlock`` / ``Bottleneck`` forward with the addition as a ``Sum`` module.

    Same arithmetic as the block's own forward (``conv1 … convK``, optional ``downsample``,
    add, ReLU); only the in-place ``+=`` becomes ``canonizer_sum(stack([shortcut, branch], -1))``.
    """
    branch = self.conv2(self.conv1(inputs))
    if hasattr(self, "conv3"):  # Bottleneck
        branch = self.conv3(branch)
    shortcut = inputs if self.downsample is None else self.downsample(inputs)
    return self.relu(self.canonizer_sum(torch.stack([shortcut, branch], dim=-1)))


class VideoResNetBlockCanonizer(AttributeCanonizer):
    """Makes the residual addition of torchvision's video ResNet blocks a ``Sum`` module.

    Written here because zennit's ``ResNetCanonizer`` only matches the 2D
    ``torchvision.models.resnet`` blocks, whose layout (``bn1``, ``bn2`` attributes) the video
    blocks (``conv1 = Sequential(conv, BatchNorm3d, ReLU)``) do not share.
    """

    def __init__(self):
        super().__init__(self._attribute_map)

    @staticmethod
    def _attribute_map(name: str, module: nn.Module):
        block_types = video_resnet_block_types()
        if block_types and isinstance(module, block_types):
            return {"forward": _residual_forward.__get__(module), "canonizer_sum": Sum()}
        return None

    def copy(self) -> VideoResNetBlockCanonizer:
        return VideoResNetBlockCanonizer()


def video_canonizers() -> list[Canonizer]:
    """Fresh canonizers for any video model: BatchNorm merging, then the residual blocks."""
    return [ExactMergeBatchNorm(), VideoResNetBlockCanonizer()]


def unmergeable_batchnorms(model: nn.Module) -> list[str]:
    """Names of the BatchNorm modules that :class:`ExactMergeBatchNorm` would leave in place.

    Found by applying the merge and undoing it at once (the model is unchanged afterwards).
    """
    instances = ExactMergeBatchNorm().apply(model)
    try:
        merged = {id(instance.batch_norm) for instance in instances}
    finally:
        for instance in reversed(instances):
            instance.remove()
    return [
        name for name, module in model.named_modules() if isinstance(module, BatchNorm) and id(module) not in merged
    ]


@contextmanager
def canonized(model: nn.Module, canonizers: Sequence[Canonizer] | None = None) -> Iterator[nn.Module]:
    """Apply ``canonizers`` (default :func:`video_canonizers`) to ``model`` for the block.

    The model is the same object inside the block; on exit, normal or by an exception, every
    change is undone in reverse order.
    """
    applied: list[Canonizer] = []
    try:
        for canonizer in canonizers if canonizers is not None else video_canonizers():
            applied.extend(canonizer.apply(model))
        yield model
    finally:
        for instance in reversed(applied):
            instance.remove()
