"""videoxai: explain what 3D-CNN action-recognition models look at, and how much of it is motion."""

__version__ = "0.1.0"

from videoxai.core.errors import VideoXAIError

__all__ = ["VideoXAIError", "__version__"]
