"""Where downloaded and converted resources live when the library is used on its own.

The workflow passes its own ``resources`` folder explicitly; this default only serves the
library and the CLI (a notebook calling ``models.load("i3d_kinetics400")``), so that they never
write a ``resources/`` folder into whatever directory the user happens to be in.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_cache_dir(app: str = "videoxai") -> Path:
    """The platform's per-user cache folder for ``app``: ``$XDG_CACHE_HOME/app`` or
    ``~/.cache/app`` on Linux, ``~/Library/Caches/app`` on macOS, ``%LOCALAPPDATA%\\app\\Cache``
    on Windows."""
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / app / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / app
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / app


def resources_dir() -> Path:
    """``$VIDEOXAI_CACHE`` if set, else ``$VIDEOXAI_RESOURCES`` (the older name), else
    :func:`user_cache_dir`."""
    for variable in ("VIDEOXAI_CACHE", "VIDEOXAI_RESOURCES"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser().resolve()
    return user_cache_dir()
