"""The exception types for problems with what the user gave us (files, names, shapes, settings)."""

from __future__ import annotations

import os


class VideoXAIError(Exception):
    """A user-facing input problem. The message names the offending thing and the reason.

    The CLI and the workflow scripts print ``str(error)`` and nothing else, so the message
    must stand on its own: ``"<what>: <why>"``.
    """

    def __init__(self, reason: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        self.reason = reason
        super().__init__(reason if self.path is None else f"{self.path}: {reason}")


class ConfigurationError(VideoXAIError):
    """A problem with the study's settings (a method, an option, the model, its weights, an
    annotation file), not with one video: the workflow stops the whole run on it, before any
    video is processed, instead of recording every video as failed.

    ``key`` is the config key at fault (``"explain.options.gradcam.layer"``), named first in
    the message.
    """

    def __init__(self, reason: str, key: str | None = None):
        self.key = key
        super().__init__(reason)
        self.args = (f"configuration error: {key}: {reason}" if key else f"configuration error: {reason}",)
