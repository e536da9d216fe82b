"""The browser tests only look for Chromium; installing it is the Makefile's test setup."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from browser import NO_CHROMIUM, find_chromium, require_chromium

REPO = Path(__file__).resolve().parents[1]


def test_no_chromium_means_a_skip_that_says_how_to_get_one_and_nothing_is_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no chromium, no apt-get

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to run {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    assert find_chromium() is None
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_chromium()
    assert str(skipped.value) == NO_CHROMIUM and "make test" in NO_CHROMIUM


def test_a_chromium_on_path_is_found(tmp_path, monkeypatch):
    binary = tmp_path / "chromium-browser"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_chromium() == str(binary) == require_chromium()


def test_make_test_installs_chromium_as_root_and_only_then():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^test: .*\bbrowser\b", makefile, flags=re.M), "make test must run the browser setup"
    if shutil.which("make") is None:
        pytest.skip("no make here")
    recipe = subprocess.run(["make", "-n", "browser"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    # the install runs only in the branch for root with apt-get and no Chromium on PATH
    assert 'elif [ "$(id -u)" = 0 ] && command -v apt-get' in recipe
    assert "apt-get install -y -qq --no-install-recommends chromium" in recipe
