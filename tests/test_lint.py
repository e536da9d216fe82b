"""The code stays clean: ruff (lint and format) on the Python, snakefmt on the workflow."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["snakefmt", "--check", "."]],
    ids=["ruff-check", "ruff-format", "snakefmt"],
)
def test_tree_is_clean(command):
    tool = BIN / command[0]
    assert tool.is_file(), f"{command[0]} is a test dependency (pyproject.toml [test]); run make setup"
    completed = subprocess.run([str(tool), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, f"{' '.join(command)}:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
