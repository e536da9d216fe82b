"""Which settings a study runs with: a --configfile study stands alone (the schema's defaults for
every key it does not set), the embedded default runs only when no config file is given, and a
study builds on the embedded default only when it names it first.

Dry runs only: they plan the jobs and print the study's summary line, and run nothing.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
UCF101_TEST_VIDEOS = 3783  # split 1's test list

pytestmark = pytest.mark.slow


def dry_run(workdir: Path, *configfiles: Path) -> tuple[dict[str, int], str]:
    """Rule -> planned job count, and everything the run printed."""
    arguments = ["--configfile", *map(str, configfiles)] if configfiles else []
    completed = subprocess.run(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            *arguments,
            "--cores",
            "1",
            "--dry-run",
            "--quiet",
            "rules",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])},
        timeout=600,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    table = completed.stdout.split("Job stats:", 1)[-1]
    jobs = {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M) if rule != "total"}
    return jobs, output


def empty_ucf101(root: Path) -> tuple[Path, Path]:
    """An empty file for every video of a split-1 test list shaped like UCF-101's (101 classes,
    3,783 videos), its split files, and nothing else: enough to plan, not to run."""
    videos, splits = root / "UCF-101", root / "ucfTrainTestlist"
    splits.mkdir(parents=True)
    classes = [f"Class{index:03d}" for index in range(101)]
    names = [f"{classes[i % 101]}/v_{classes[i % 101]}_g{i // 101:02d}_c01.avi" for i in range(UCF101_TEST_VIDEOS)]
    (splits / "classInd.txt").write_text("".join(f"{i + 1} {name}\n" for i, name in enumerate(classes)))
    (splits / "testlist01.txt").write_text("\n".join(names) + "\n")
    (splits / "trainlist01.txt").write_text("")  # rule train_model's input; never read by a dry run
    for name in names:
        (videos / name).parent.mkdir(parents=True, exist_ok=True)
        (videos / name).touch()
    return videos, splits


def summary_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("videoxai: ")]


def test_a_study_config_takes_the_schema_defaults_not_the_embedded_default(tmp_path):
    videos, splits = empty_ucf101(tmp_path)
    study = yaml.safe_load((REPO / "config" / "ucf101.yaml").read_text())
    study["videos"]["root"], study["videos"]["ucf101"]["split_dir"] = str(videos), str(splits)
    study["train"]["root"], study["train"]["splits"] = str(videos), str(splits)
    # A study that leaves clips.max_per_video out gets the schema's null (every clip), not the
    # embedded default's 2.
    del study["clips"]["max_per_video"]
    (tmp_path / "ucf101.yaml").write_text(yaml.safe_dump(study))

    jobs, output = dry_run(tmp_path, tmp_path / "ucf101.yaml")

    assert jobs["decode"] == UCF101_TEST_VIDEOS
    assert "ground_truth" not in jobs and "ground_truth_table" not in jobs, jobs
    assert "faithfulness" not in jobs, jobs
    # the model ucf101.yaml explains is the C3D its own training rule writes
    assert jobs["train_model"] == 1
    settings, study_line = summary_lines(output)
    assert settings.startswith("videoxai: settings from ucf101.yaml;"), settings
    assert "config/config.yaml" not in settings
    assert "every clip of each video (clips.max_per_video: null)" in study_line, study_line
    assert "ground-truth benchmark off" in study_line and "faithfulness off" in study_line


def test_without_a_config_file_the_embedded_default_runs_from_any_directory(tmp_path):
    # --directory elsewhere: the embedded default is found next to the Snakefile
    jobs, output = dry_run(tmp_path)

    assert jobs["ground_truth"] == 2 and jobs["ground_truth_table"] == 1, jobs
    assert jobs["decode"] == 4 and jobs["fetch_sample_videos"] == 1
    settings, study_line = summary_lines(output)
    assert settings == (
        f"videoxai: settings from {REPO / 'config' / 'config.yaml'}; every key they do not set takes the schema's default"
    )
    assert "at most 2 clips per video" in study_line and "ground-truth benchmark on" in study_line


def test_a_study_builds_on_the_embedded_default_by_naming_it_first(tmp_path):
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"results": "mine", "selective": {"n": [2.0, 4.0]}}))

    jobs, output = dry_run(tmp_path, REPO / "config" / "config.yaml", tmp_path / "mine.yaml")

    assert jobs["ground_truth"] == 2, jobs  # from config/config.yaml
    settings, study_line = summary_lines(output)
    assert settings.startswith(f"videoxai: settings from {REPO / 'config' / 'config.yaml'}, mine.yaml;"), settings
    assert "at most 2 clips per video" in study_line and "n = [2.0, 4.0]" in study_line
    assert "results in mine/" in study_line
