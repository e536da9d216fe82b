"""Where downloaded and converted resources live."""

from __future__ import annotations

import os
from pathlib import Path


def resources_dir() -> Path:
    """``$VIDEOXAI_RESOURCES`` if set, else ``./resources`` (the workflow runs from the repository root)."""
    return Path(os.environ.get("VIDEOXAI_RESOURCES", "resources")).resolve()
