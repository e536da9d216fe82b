"""The workflow on a real SLURM cluster: slurmctld + slurmd + munge started on this machine.

tools/local-slurm.sh installs Debian's slurm-wlm and munge when missing (needs root) and starts a
single-node cluster whose node advertises one GPU. The study's tiny test configuration then runs
through `snakemake --workflow-profile <slurm profile>`, where the profile is profiles/slurm/config.yaml
with its numbers shrunk to this node (2 CPUs, ~21 GB): the same expressions, groups and scopes.

Checked: every per-video job went through sbatch; the tables equal a local run's; a job killed
by SLURM (scancel, as in a preemption) is resubmitted with more memory and the run completes;
grouping submits fewer SLURM jobs than no grouping.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from videoxai.report.overlay import write_video

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
LOCAL_SLURM = REPO / "tools" / "local-slurm.sh"
PER_VIDEO_RULES = ("decode", "flow", "selective", "metrics")
# one job per bucket of videos; the 3 videos share one bucket at the default explain.videos_per_job
PER_BUCKET_RULES = ("explain", "faithfulness")
VIDEO_NAMES = ("square_right", "square_down", "bar_left")

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """Environment for SLURM clients (SLURM_CONF) while the local cluster runs."""
    if os.geteuid() != 0:
        pytest.skip("starting a SLURM cluster needs root (apt-get, slurmctld, slurmd)")
    state = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(
        ["bash", str(LOCAL_SLURM), "start", str(state)], capture_output=True, text=True, timeout=900
    )
    assert started.returncode == 0, f"local SLURM did not start:\n{started.stdout}\n{started.stderr}"
    environment = {
        **os.environ,
        "SLURM_CONF": str(state / "slurm.conf"),
        "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]),
        # empty: the site's default partition and no account
        "VIDEOXAI_SLURM_PARTITION": "",
        "VIDEOXAI_SLURM_GPU_PARTITION": "",
        "VIDEOXAI_SLURM_ACCOUNT": "",
    }
    yield environment
    subprocess.run(["bash", str(LOCAL_SLURM), "stop", str(state)], timeout=120)


def moving_pattern_video(path: Path, kind: str, frames: int = 20, size: int = 48) -> None:
    """A textured background with a bright shape moving 1-2 px per frame."""
    rng = np.random.default_rng(len(kind))
    background = rng.integers(0, 90, size=(size, size, 3), dtype=np.uint8)
    video = np.repeat(background[None], frames, axis=0)
    for t in range(frames):
        if kind == "square_right":
            video[t, 16:28, 4 + 2 * t : 16 + 2 * t] = (250, 200, 40)
        elif kind == "square_down":
            video[t, 2 + t : 14 + t, 18:30] = (40, 220, 250)
        else:
            video[t, :, max(0, 40 - 2 * t) : 44 - 2 * t] = (230, 230, 230)
    write_video(video, path, fps=25.0)


# Each test video is encoded once per session and copied into every study: the H.264 encoder is
# not bit-for-bit repeatable (one of three encodes differed under load), and the local and the
# cluster runs must read the same files for their tables to be compared exactly.
_ENCODED: dict[str, bytes] = {}


def encoded_video(name: str, scratch: Path) -> bytes:
    if name not in _ENCODED:
        path = scratch / f"encoded_{name}.mp4"
        moving_pattern_video(path, name)
        _ENCODED[name] = path.read_bytes()
    return _ENCODED[name]


def study_dir(root: Path) -> Path:
    root.mkdir(parents=True)
    videos = root / "videos" / "synthetic"
    videos.mkdir(parents=True)
    for name in VIDEO_NAMES:
        (videos / f"{name}.mp4").write_bytes(encoded_video(name, root))
    config = {
        "results": "results",
        "resources": "resources",
        "videos": {"source": "folder", "root": "videos"},
        "model": {
            "name": "workflow_models:tiny_net",
            "spec": {
                "num_frames": 8,
                "size": 32,
                "resize_short_side": 36,
                "scale": 1 / 127.5,
                "offset": -1.0,
                "num_classes": 3,
            },
        },
        "device": "cpu",
        "clips": {"length": 8, "max_per_video": 2},
        "explain": {"batch_size": 2, "threads": 1},
        "selective": {"n": [2.0, 4.0]},
        "metrics": {"tau": [0.5, 1.0]},
        # on, so that the GPU group (explain, selective, faithfulness) is exercised as a whole
        "faithfulness": {"enabled": True, "steps": 4},
        "ground_truth": {"enabled": False},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


def node_sized_profile(target: Path, grouped: bool) -> Path:
    """profiles/slurm with its sizes shrunk to this 2-CPU node; optionally without grouping."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    profile["cores"] = 2
    profile["set-threads"] = {rule: 1 for rule in profile["set-threads"]}

    def shrink(expression):
        return re.sub(r"^\d+", "500", str(expression))  # keep "* attempt"

    profile["default-resources"]["mem_mb"] = shrink(profile["default-resources"]["mem_mb"])
    for settings in profile["set-resources"].values():
        if "mem_mb" in settings:
            settings["mem_mb"] = shrink(settings["mem_mb"])
    profile["latency-wait"] = 10
    if not grouped:
        del profile["groups"], profile["group-components"]
    target.mkdir(parents=True)
    (target / "config.yaml").write_text(yaml.safe_dump(profile))
    return target


def run_snakemake(workdir: Path, environment: dict, *arguments: str) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(workdir / "config.yaml"),
            *arguments,
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=1200,
    )
    output = completed.stdout + completed.stderr
    (workdir / "snakemake-output.txt").write_text(output)
    assert completed.returncode == 0, f"snakemake failed ({completed.returncode}):\n{output[-6000:]}"
    return completed


def run_on_slurm(workdir: Path, environment: dict, profile: Path, *extra: str) -> str:
    completed = run_snakemake(
        workdir,
        environment,
        "--workflow-profile",
        str(profile),
        "--slurm-no-account",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--verbose",
        *extra,
    )
    return completed.stdout + completed.stderr


def submitted_jobs(output: str) -> dict[str, str]:
    """SLURM job id -> its log folder below slurm_logs/ (``rule_<rule>/<video>`` or ``group_<group>...``)."""
    pattern = r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/(\S+)/\d+\.log\)"
    return {match.group(1): match.group(2) for match in re.finditer(pattern, output)}


def rule_of(log_folder: str) -> str:
    """``rule_decode/synthetic__a`` -> ``decode``; group folders are returned whole."""
    head = log_folder.split("/", 1)[0]
    return head.removeprefix("rule_")


def comparable_tables(results: Path) -> dict[str, pd.DataFrame]:
    """Tables that do not depend on wall-clock time (Table 4 is the time overhead)."""
    tables = {name: pd.read_csv(results / "tables" / f"{name}.csv") for name in ("table1", "table2", "table3")}
    metrics = pd.read_csv(results / "tables" / "metrics.csv")
    timing = metrics["metric"].str.contains("second|overhead", regex=True)
    tables["metrics"] = metrics[~timing].sort_values(list(metrics.columns.drop("value"))).reset_index(drop=True)
    return tables


def cancel_first_running(rule_marker: str, environment: dict, cancelled: list[str], stop: threading.Event) -> None:
    """Play the scheduler preempting a job: scancel the first running SLURM job of a rule/group."""
    while not stop.is_set() and not cancelled:
        listing = subprocess.run(
            ["squeue", "-h", "-o", "%i %T %k"], capture_output=True, text=True, env=environment
        ).stdout
        for line in listing.splitlines():
            job_id, state, comment = (line.split(None, 2) + ["", ""])[:3]
            if state == "RUNNING" and rule_marker in comment:
                subprocess.run(["scancel", job_id], env=environment, check=True)
                cancelled.append(job_id)
                return
        time.sleep(0.2)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    workdir = study_dir(tmp_path_factory.mktemp("local") / "study")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    run_snakemake(workdir, environment, "--cores", "2")
    return workdir


@pytest.fixture(scope="module")
def grouped_run(slurm, tmp_path_factory):
    """Grouped run in which the first running explain job is cancelled by SLURM."""
    base = tmp_path_factory.mktemp("grouped")
    workdir = study_dir(base / "study")
    profile = node_sized_profile(base / "profile", grouped=True)
    cancelled: list[str] = []
    stop = threading.Event()
    killer = threading.Thread(target=cancel_first_running, args=("explain", slurm, cancelled, stop), daemon=True)
    killer.start()
    try:
        output = run_on_slurm(workdir, slurm, profile)
    finally:
        stop.set()
        killer.join(timeout=5)
    return workdir, output, cancelled


@pytest.fixture(scope="module")
def ungrouped_run(slurm, tmp_path_factory):
    base = tmp_path_factory.mktemp("ungrouped")
    workdir = study_dir(base / "study")
    profile = node_sized_profile(base / "profile", grouped=False)
    return workdir, run_on_slurm(workdir, slurm, profile)


def test_every_per_video_job_went_through_sbatch(ungrouped_run):
    workdir, output = ungrouped_run
    jobs = submitted_jobs(output)
    rules = sorted(rule_of(folder) for folder in jobs.values())
    expected = sorted([rule for rule in PER_VIDEO_RULES for _ in VIDEO_NAMES] + list(PER_BUCKET_RULES))
    assert rules == expected, f"SLURM jobs per rule: {rules}"
    # each job left a SLURM log named by its job id, and SLURM ran it in that job
    for job_id, folder in jobs.items():
        log = workdir / ".snakemake" / "slurm_logs" / folder / f"{job_id}.log"
        assert log.is_file(), f"missing SLURM log {log}"
    # the cheap study-level rules ran on the submitting machine, not as SLURM jobs
    assert not {"aggregate", "figures", "collect_failures"} & set(rules)


def test_cluster_tables_equal_local_tables(local_run, ungrouped_run, grouped_run):
    local = comparable_tables(local_run / "results")
    for workdir in (ungrouped_run[0], grouped_run[0]):
        cluster = comparable_tables(workdir / "results")
        for name, table in local.items():
            pd.testing.assert_frame_equal(
                cluster[name], table, check_exact=False, rtol=1e-6, atol=1e-9, obj=f"{name} ({workdir.parent.name})"
            )
        assert (workdir / "results" / "failed_videos.csv").read_text().count("\n") <= 1  # header only


def test_a_job_killed_by_slurm_is_resubmitted_with_more_memory(grouped_run):
    workdir, output, cancelled = grouped_run
    assert cancelled, "no running explain job was seen to cancel"
    jobs = submitted_jobs(output)
    explain_jobs = [job for job, folder in jobs.items() if "explain" in rule_of(folder)]
    assert cancelled[0] in explain_jobs and len(explain_jobs) == 2, f"explain SLURM jobs: {explain_jobs}"
    memory = [
        int(value) for value in re.findall(r"sbatch call: sbatch .*?--comment \S*explain\S* .*?--mem (\d+)", output)
    ]
    assert len(memory) == 2 and memory[1] == 2 * memory[0], f"explain --mem per attempt: {memory}"
    assert (workdir / "results" / "tables" / "table1.csv").is_file()


def test_grouping_submits_fewer_slurm_jobs(grouped_run, ungrouped_run):
    grouped = submitted_jobs(grouped_run[1])
    ungrouped = submitted_jobs(ungrouped_run[1])
    # 3 stage groups x 1 (all 3 videos fit one group job) + the resubmitted explain group
    assert len(grouped) == 4, f"grouped SLURM jobs: {grouped}"
    assert len(ungrouped) == len(PER_VIDEO_RULES) * len(VIDEO_NAMES) + len(PER_BUCKET_RULES)
    # a group job asks for one GPU however many explain jobs it holds
    gpu_requests = re.findall(r"sbatch call: sbatch .*?--comment \S*explain\S* .*?(--gpus=\d+)", grouped_run[1])
    assert gpu_requests and set(gpu_requests) == {"--gpus=1"}, gpu_requests
