"""The one exception type for problems with what the user gave us (files, names, shapes)."""

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
