"""envs/*.yaml are valid conda environment files listing exactly pyproject.toml's dependencies."""

import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]


def normalised(requirement: str) -> str:
    name, rest = re.match(r"^\s*([A-Za-z0-9_.-]+)(.*)$", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + rest.replace(" ", "")


def test_every_env_file_parses_and_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    expected = sorted(normalised(requirement) for requirement in project["dependencies"])
    python_floor = project["requires-python"].removeprefix(">=")
    env_files = sorted((REPO / "envs").glob("*.yaml"))
    assert env_files, "no environment files in envs/"
    for path in env_files:
        env = yaml.safe_load(path.read_text())
        assert isinstance(env, dict) and env.get("name") and env.get("channels"), path
        dependencies = env["dependencies"]
        conda_packages = [item for item in dependencies if isinstance(item, str)]
        pip_sections = [item["pip"] for item in dependencies if isinstance(item, dict) and "pip" in item]
        assert "pip" in conda_packages and f"python>={python_floor}" in conda_packages, path
        assert len(pip_sections) == 1, path
        assert sorted(normalised(item) for item in pip_sections[0]) == expected, path


def test_every_rule_names_an_existing_env():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: {env}"


def test_snakemake_floor_is_the_snakefiles_min_version():
    minimum = re.search(r'min_version\("([\d.]+)"\)', (REPO / "Snakefile").read_text()).group(1)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    snakemake = next(item for item in project["dependencies"] if normalised(item).startswith("snakemake["))
    assert snakemake.endswith(f">={minimum}"), (snakemake, minimum)
