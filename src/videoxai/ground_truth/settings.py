"""The ground-truth benchmark's settings: the ``ground_truth`` configuration section, resolved.

Everything that decides a trained benchmark model (its videos, architecture and training) goes
into :meth:`BenchmarkSettings.model_key`, the name of its cache file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from videoxai.ground_truth import generator as synthetic

MODELS: tuple[str, ...] = ("motion", "context")  # each trained on the dataset of that name
DEFAULT_ARCHITECTURE = "videoxai.ground_truth.model:tiny_c3d"
# Bump when a change of the training code changes the weights, so cached models are retrained.
TRAINER_VERSION = 1


# The paper's four and every further method that runs in seconds on the tiny model. Extremal
# perturbation and FEP optimise a mask for hundreds of steps per clip and are left out by default.
DEFAULT_METHODS: tuple[str, ...] = (
    "dtd",
    "gradcam",
    "guided_backprop",
    "guided_gradcam",
    "saliency_tubes",
    "cfp",
    "occlusion",
    "flow_occlusion",
    "flow_occlusion_approx",
)
# Occlusion's cuboids scaled to 32 x 32 frames (its defaults are for 112 x 112): 64 cuboids a clip.
DEFAULT_OPTIONS: dict[str, dict] = {
    "cfp": {"depth": 2},  # the tiny net has three convolutions, a pyramid of depth 2 uses them all
    "occlusion": {"size": 8, "stride": 8, "temporal_size": 8, "temporal_stride": 4},
    "flow_occlusion": {"size": 8, "stride": 8, "temporal_size": 8, "temporal_stride": 4},
    "flow_occlusion_approx": {"size": 8, "stride": 8, "temporal_size": 8, "temporal_stride": 4},
}


@dataclass(frozen=True)
class BenchmarkSettings:
    """The ``ground_truth`` configuration section, resolved.

    Attributes:
        preset: realism preset of the videos (``clean`` or ``realistic``).
        videos_per_class: test videos per class and dataset (the benchmark's sample).
        train_per_class: training videos per class and dataset.
        test_per_class: videos per class of the held-out split that decides the model's accuracy.
        seed: seeds the videos, the weights' initialisation and the training order.
        architecture: ``package.module:factory`` of the network to train.
        epochs, batch_size, learning_rate: training (Adam).
        methods: explanation methods to run (default: every method of the registry that runs on
            the tiny model in reasonable time, :data:`DEFAULT_METHODS`).
        options: method -> options, as ``explain.options``.
        min_accuracy: a model below this test accuracy is reported as such in the table's notes.
    """

    preset: str = "clean"
    videos_per_class: int = 6
    train_per_class: int = 32
    test_per_class: int = 8
    seed: int = 0
    architecture: str = DEFAULT_ARCHITECTURE
    epochs: int = 10
    batch_size: int = 16
    learning_rate: float = 3e-3
    methods: tuple[str, ...] = DEFAULT_METHODS
    options: Mapping[str, dict] = field(default_factory=dict)
    min_accuracy: float = 0.95
    scene: synthetic.SceneSettings = field(default_factory=synthetic.SceneSettings)

    @classmethod
    def from_config(cls, section: Mapping) -> BenchmarkSettings:
        keys = {
            "preset",
            "videos_per_class",
            "train_per_class",
            "test_per_class",
            "seed",
            "architecture",
            "epochs",
            "batch_size",
            "learning_rate",
            "min_accuracy",
        }
        values = {key: section[key] for key in keys if key in section and section[key] is not None}
        methods = tuple(section.get("methods") or DEFAULT_METHODS)
        return cls(**values, methods=methods, options=dict(section.get("options") or {}))

    def dataset(self, dataset: str, split: str) -> synthetic.DatasetSpec:
        per_class = {"train": self.train_per_class, "test": self.test_per_class, "benchmark": self.videos_per_class}
        return synthetic.DatasetSpec(dataset, split, per_class[split], self.seed, self.preset, self.scene)

    def model_key(self, dataset: str) -> str:
        """Hash of everything that decides a trained model: its data and how it was trained."""
        training = {
            "train": self.dataset(dataset, "train").digest(),
            "test": self.dataset(dataset, "test").digest(),
            "architecture": self.architecture,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "trainer": TRAINER_VERSION,
        }
        return hashlib.sha256(json.dumps(training, sort_keys=True).encode()).hexdigest()[:16]
