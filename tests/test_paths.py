"""The library's own downloads go to a per-user cache, never into the current directory."""

import os
import sys
from pathlib import Path

from videoxai.core.paths import resources_dir, user_cache_dir


def test_cache_folder_order(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIDEOXAI_CACHE", raising=False)
    monkeypatch.delenv("VIDEOXAI_RESOURCES", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert resources_dir() == tmp_path / "xdg" / "videoxai"
    assert resources_dir() == user_cache_dir()
    assert not str(resources_dir()).startswith(str(tmp_path / "resources"))
    monkeypatch.setenv("VIDEOXAI_RESOURCES", str(tmp_path / "older"))
    assert resources_dir() == tmp_path / "older"
    monkeypatch.setenv("VIDEOXAI_CACHE", "~/videoxai-cache")
    assert resources_dir() == Path(os.path.expanduser("~/videoxai-cache")).resolve()


def test_fetch_weights_default_location(monkeypatch, tmp_path):
    from videoxai.models.i3d_weights import default_weights_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIDEOXAI_RESOURCES", raising=False)
    monkeypatch.setenv("VIDEOXAI_CACHE", str(tmp_path / "cache"))
    assert default_weights_path(None) == tmp_path / "cache" / "models" / "i3d_kinetics400.safetensors"
