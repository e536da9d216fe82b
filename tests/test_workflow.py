"""The Snakemake workflow end to end on real clips, with a tiny model for the plumbing.

One real run (2 real UCF-101 clips, or generated videos when ../shared is absent, one with
spaces/quotes/non-ASCII in its name, plus a zero-byte "video"), then dry runs that show what a changed n or tau or an added video would
rerun. The other bad-file cases are decoded directly in tests/test_workflow_decode.py.
"""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import av
import pandas as pd
import pytest
import yaml
from browser import Browser, require_chromium

from videoxai.data.shards import read_shard, read_table_shard, validate_shard

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")

pytestmark = [pytest.mark.slow]

TINY_MODEL = {
    "name": "workflow_models:tiny_net",
    "spec": {
        "num_frames": 8,
        "size": 32,
        "resize_short_side": 36,
        "scale": 1 / 127.5,
        "offset": -1.0,
        "num_classes": 3,
    },
}


def snakemake(workdir: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(workdir / "config.yaml"),
            "--cores",
            "2",
            *arguments,
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({completed.returncode}):\n{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}"
        )
    return completed


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a (dry) run."""
    table = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M) if rule != "total"}


CALIBRATION = {"enabled": True, "shifts": 1}


def write_config(workdir: Path, **changes) -> None:
    config = {
        "results": "results",
        "resources": "resources",
        "videos": {"source": "folder", "root": "videos"},
        "model": TINY_MODEL,
        "device": "cpu",
        "clips": {"length": 8, "max_per_video": 2},
        "explain": {"batch_size": 2, "threads": 1},
        # the calibrated test and the model's behaviour on still and shuffled copies run as well
        "selective": {"n": [4.0], "calibration": CALIBRATION},
        "behaviour": {"enabled": True, "shuffles": 2},
        "metrics": {"tau": [0.5, 1.0]},
        "report": {"examples": 1},
        "ground_truth": {"enabled": False},  # its own test: tests/test_ground_truth.py
        **changes,
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))


@pytest.fixture(scope="module")
def study(tmp_path_factory, workflow_videos):
    workdir = tmp_path_factory.mktemp("study")
    videos = workdir / "videos"
    (videos / "Knitting").mkdir(parents=True)
    (videos / "CliffDiving").mkdir()
    knitting, cliff = workflow_videos["Knitting"], workflow_videos["CliffDiving"]
    shutil.copy(knitting, videos / "Knitting" / 'it\'s a "knitting" clip é.mp4')
    shutil.copy(cliff, videos / "CliffDiving" / cliff.name)
    (videos / "CliffDiving" / "empty.mp4").write_bytes(b"")
    write_config(workdir)
    run = snakemake(workdir)
    return workdir, run


def test_real_run_writes_valid_shards_and_lists_failures(study):
    workdir, run = study
    results = workdir / "results"
    metric_shards = sorted((results / "metrics").glob("*.h5"))
    assert len(metric_shards) == 3
    with open(results / "failed_videos.csv", newline="", encoding="utf-8") as handle:
        failed = {Path(row["path"]).name: row for row in csv.DictReader(handle)}
    assert list(failed) == ["empty.mp4"]
    assert failed["empty.mp4"]["reason"] == "video file is empty (0 bytes)"
    assert failed["empty.mp4"]["stage"] == "clips"
    assert failed["empty.mp4"]["video_id"] == "CliffDiving__empty"
    good = [path for path in metric_shards if not read_shard(path).failed]
    assert len(good) == 2
    quoted = next(path for path in good if "knitting" in path.name)
    (explain_path,) = results.glob(f"explain/b*/{quoted.name}")  # in its bucket's folder
    for path in (
        results / "clips" / quoted.name,
        results / "flow" / quoted.name,
        explain_path,
        results / "selective" / quoted.name,
    ):
        shard = read_shard(path)
        validate_shard(shard)
        assert shard.attributes["video_path"].endswith('it\'s a "knitting" clip é.mp4')
    clips = read_shard(results / "clips" / quoted.name)
    assert clips.arrays["clips"].shape == (2, 8, 32, 32, 3)
    assert clips.attributes["source_height"] == 240 and clips.attributes["fps"] == pytest.approx(25.0)
    flow = read_shard(results / "flow" / quoted.name).arrays["flow"]
    assert flow.shape == (2, 8, 32, 32, 2) and str(flow.dtype) == "float16"
    explained = read_shard(explain_path)
    assert set(explained.config["methods"]) == {"dtd", "gradcam", "guided_backprop", "guided_gradcam"}
    assert explained.arrays["dtd/relevance"].shape == (2, 8, 32, 32)
    table, _ = read_table_shard(quoted)
    assert set(table["tau"].dropna()) == {0.5, 1.0} and len(table) > 0
    # The study-level tables cover the two good videos only.
    all_rows = pd.read_csv(results / "tables" / "metrics.csv")
    assert sorted(all_rows["video"].unique()) == sorted(path.stem for path in good)
    for name in ("table1", "table2", "table3", "table4", "calibration", "motion_reliance", "explanation_behaviour"):
        assert (results / "tables" / f"{name}.md").read_text().strip()
        assert "<table" in (results / "tables" / "html" / f"{name}.html").read_text()
    # The tiny model has no class names, so no clip is labelled; faithfulness is off: neither
    # table is written, and the log, the run's summary and the front page say why in one line.
    status = json.loads((results / "tables" / "status.json").read_text())
    assert status["absent"] == {
        "accuracy": "no clip has a label among the model's classes",
        "faithfulness": "faithfulness is off (faithfulness.enabled: false)",
    }
    assert not list((results / "tables").glob("accuracy.*")) and not list((results / "tables").glob("faithfulness.*"))
    assert "table faithfulness not written: faithfulness is off" in (results / "logs" / "aggregate.log").read_text()
    assert "videoxai: table accuracy not written: no clip has a label" in run.stderr
    front = (results / "report" / "summary.rst").read_text()
    assert "*Clip accuracy: not written.* No clip has a label among the model's classes." in front
    # The calibrated test and the behaviour ran: the still copies shifted by one pixel and the
    # shuffled copies' logits sit in the explain shard, the test's results in the selective one;
    # 4 clips x 1 shift make a null of 4 maps, too small to flag anything at alpha 0.05, and the
    # table and the front page say so rather than report "no motion".
    assert explained.arrays["stills/dtd/shifted"].shape == (2, 1, 32, 32)
    assert explained.arrays["shuffled/logits"].shape[:2] == (2, 2)
    selective = read_shard(results / "selective" / quoted.name)
    assert selective.arrays["calibrated/dtd/null_maps"].tolist() == [4, 4]
    assert not selective.arrays["calibrated/dtd/flagged"].any()
    calibration = pd.read_csv(results / "tables" / "calibration.csv")
    assert set(calibration["null_maps"]) == {4} and set(calibration["flagged_clips"]) == {0}
    assert "With 4 null maps its smallest p-value is 0.200, above α: no clip can be flagged here" in front
    reliance = pd.read_csv(results / "tables" / "motion_reliance.csv")
    assert reliance["clips"].iloc[0] == 4 and reliance["videos"].iloc[0] == 2
    assert "* **Videos**: 2 of 3 listed (folder) studied; 1 failed" in front
    for name in ("precision_by_method", "overhead", "example_1"):
        assert (results / "figures" / f"{name}.png").stat().st_size > 1000
    # the log counts videos, not per-video tables; the example is ranked at the headline tau
    # (0.5 here: the configured tau nearest 1 px/frame scaled to 32-pixel clips)
    assert "from 2 of 3 videos" in (results / "logs" / "aggregate.log").read_text()
    from videoxai.report.figures import top_clips

    best = top_clips(all_rows, count=1, tau=0.5).iloc[0]
    assert (
        f"example 1: {best['video']} clip {int(best['clip'])} ->"
        in (results / "logs" / "example_figures.log").read_text()
    )
    with av.open(str(results / "figures" / "example_1.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.frames == 8  # one clip of 8 frames


def test_changing_n_reruns_only_selective_onwards(study):
    workdir, _ = study
    write_config(workdir, selective={"n": [2.0, 4.0], "calibration": CALIBRATION})
    try:
        jobs = planned_jobs(snakemake(workdir, "--dry-run").stdout)
    finally:
        write_config(workdir)
    assert jobs.get("selective") == 3 and jobs.get("metrics") == 3
    assert not {"decode", "flow", "explain", "calibration_null"} & set(jobs)


def test_changing_the_methods_reruns_the_check_and_every_stage_after_it_in_one_call(study):
    # The preflight check is a plain input of every per-video job: as an ancient() input,
    # Snakemake would plan the check alone here and leave the old tables until a second call.
    workdir, _ = study
    write_config(workdir, explain={"batch_size": 2, "threads": 1, "methods": ["dtd", "gradcam"]})
    try:
        jobs = planned_jobs(snakemake(workdir, "--dry-run").stdout)
    finally:
        write_config(workdir)
    assert jobs.get("preflight") == 1
    assert jobs.get("explain", 0) >= 1 and jobs.get("selective") == 3 and jobs.get("metrics") == 3
    assert jobs.get("aggregate") == 1


def test_changing_tau_reruns_only_metrics_onwards(study):
    workdir, _ = study
    write_config(workdir, metrics={"tau": [1.0]})
    try:
        jobs = planned_jobs(snakemake(workdir, "--dry-run").stdout)
    finally:
        write_config(workdir)
    assert jobs.get("metrics") == 3 and not {"decode", "flow", "explain", "selective"} & set(jobs)


def test_adding_a_video_runs_only_its_jobs(study, workflow_videos):
    workdir, _ = study
    added = workdir / "videos" / "Skijet" / "added.mp4"
    added.parent.mkdir()
    shutil.copy(workflow_videos["Skijet"], added)
    try:
        jobs = planned_jobs(snakemake(workdir, "--dry-run").stdout)
    finally:
        shutil.rmtree(added.parent)
    # its own decode and flow; one explain job for its bucket (all 3 + 1 videos share one at
    # explain.videos_per_job 16), which reruns the selective and metrics of that bucket's videos
    assert {rule: jobs.get(rule) for rule in ("decode", "flow", "explain")} == {"decode": 1, "flow": 1, "explain": 1}
    assert jobs.get("selective") == jobs.get("metrics") == 4
    assert jobs.get("collect_failures") == 1 and jobs.get("aggregate") == 1


def test_lint_is_clean():
    completed = subprocess.run(
        [str(SNAKEMAKE), "--lint", "--snakefile", str(REPO / "Snakefile")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert "Error" not in output, output
    assert "Lints for" not in output, output


def test_killed_run_restarts_to_the_same_tables(study, tmp_path):
    workdir, _ = study
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)
    for stage in ("selective", "metrics", "tables"):
        shutil.rmtree(copy / "results" / stage)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(copy),
            "--configfile",
            str(copy / "config.yaml"),
            "--cores",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not list((copy / "results" / "selective").glob("*.h5")) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # a hard kill, mid-way
        process.wait()
    assert not (copy / "results" / "tables" / "metrics.csv").exists()
    snakemake(copy, "--unlock")  # a hard kill leaves Snakemake's lock; Ctrl-C would not
    rerun = snakemake(copy)
    assert "decode" not in planned_jobs(rerun.stdout) and "explain" not in planned_jobs(rerun.stdout)

    def comparable(path):
        rows = pd.read_csv(path)
        rows = rows[~rows["metric"].isin(["seconds", "overhead"])]  # wall-clock timings differ run to run
        return rows.sort_values(list(rows.columns[:-1])).reset_index(drop=True)

    pd.testing.assert_frame_equal(
        comparable(copy / "results/tables/metrics.csv"), comparable(workdir / "results/tables/metrics.csv")
    )
    assert not list((copy / "results").rglob(".*.tmp"))  # no half-written shard left behind


def test_paper_methods_do_not_wait_for_flow(study):
    # explain takes the flow shard only when a flow method is configured: recomputed flow
    # reruns metrics onwards, never the paper's explanations.
    workdir, _ = study
    jobs = planned_jobs(snakemake(workdir, "--dry-run", "--forcerun", "flow").stdout)
    assert jobs.get("flow") == 3 and jobs.get("metrics") == 3 and "explain" not in jobs


EXTRA_METHODS = ["saliency_tubes", "cfp", "occlusion", "flow_occlusion_approx", "fep"]


def write_extra_config(workdir: Path, steps: int = 4) -> None:
    write_config(
        workdir,
        videos={"source": "folder", "root": "videos"},
        clips={"length": 8, "max_per_video": 2},
        explain={
            "methods": EXTRA_METHODS,
            "batch_size": 2,
            "threads": 1,
            "options": {
                "cfp": {"depth": 1},
                "occlusion": {"size": 16, "stride": 16, "temporal_stride": 8},
                "fep": {"iterations": 3},
            },
        },
        faithfulness={
            "enabled": True,
            "steps": steps,
            "grid": [4, 4],
            "annotations": "boxes.csv",
            "references": ["random", "centre"],
        },
    )


@pytest.fixture(scope="module")
def extra_study(tmp_path_factory, workflow_videos):
    """The further methods (a flow method among them) and faithfulness with pointing-game boxes."""
    workdir = tmp_path_factory.mktemp("extra")
    knitting = workflow_videos["Knitting"]
    (workdir / "videos" / "Knitting").mkdir(parents=True)
    shutil.copy(knitting, workdir / "videos" / "Knitting" / knitting.name)
    # one box (source pixels) on every frame of the video, named by the file's stem
    lines = ["video,frame,x1,y1,x2,y2", *(f"{knitting.stem},{frame},100,60,220,180" for frame in range(400))]
    (workdir / "boxes.csv").write_text("\n".join(lines) + "\n")
    write_extra_config(workdir)
    return workdir, snakemake(workdir)


def test_extra_methods_and_faithfulness_reach_the_tables(extra_study):
    workdir, _ = extra_study
    results = workdir / "results"
    assert (results / "failed_videos.csv").read_text().strip() == "video_id,path,stage,reason"
    explain_shard = next((results / "explain").glob("b*/*.h5"))
    explained = read_shard(explain_shard)
    validate_shard(explained)
    assert (
        explained.arrays["cfp/pyramid/kept_0"].shape == (2, 6) and explained.arrays["cfp/pyramid/kept_0"].dtype == bool
    )
    assert explained.arrays["occlusion/relevance"].shape == (2, 8, 32, 32)
    faithfulness = read_shard(results / "faithfulness" / explain_shard.parent.name / explain_shard.name)
    validate_shard(faithfulness)
    table = pd.read_csv(results / "tables" / "faithfulness.csv")
    assert list(table["method"]) == [m for m in EXTRA_METHODS for _ in range(2)] + ["centre", "random"]
    assert list(table["variant"]) == ["baseline", "selective"] * len(EXTRA_METHODS) + ["baseline"] * 2
    assert (table["clips"] == 2).all() and table["deletion_auc_mean"].between(0, 1).all()
    # 2 clips x 8 frames, all annotated; a selective map that is zero in a frame does not point there
    baseline = table[table["variant"] == "baseline"]
    assert (baseline["pointing_frames"] == 16).all() and baseline["pointing_accuracy"].between(0, 1).all()
    # the box (100..220, 60..180 of 320x240) holds the frame's centre: the centre map always hits
    assert table.loc[table["method"] == "centre", "pointing_accuracy"].tolist() == [1.0]
    tidy = pd.read_csv(results / "tables" / "metrics.csv")
    curve = tidy[(tidy["metric"] == "deletion_curve") & (tidy["method"] == "random") & (tidy["clip"] == 0)]
    assert sorted(curve["q"]) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert "precision" in set(tidy["metric"])  # the motion metrics of the same methods are there too
    assert "Random" in (results / "tables" / "faithfulness.md").read_text()
    for name in ("deletion_insertion", "cfp_pyramid"):
        assert (results / "figures" / f"{name}.png").stat().st_size > 1000


def test_changing_faithfulness_steps_reruns_only_faithfulness(extra_study):
    workdir, _ = extra_study
    write_extra_config(workdir, steps=8)
    try:
        jobs = planned_jobs(snakemake(workdir, "--dry-run").stdout)
    finally:
        write_extra_config(workdir)
    assert jobs.get("faithfulness") == 1 and jobs.get("aggregate") == 1
    assert not {"decode", "flow", "explain", "selective", "metrics"} & set(jobs)


def test_report_front_page_tables_and_video_in_a_browser(study, tmp_path):
    """The report as a user sees it: opened in headless Chromium, its front page shows what was
    run, the headline and the tables; an example overlay MP4 reports a duration and plays."""
    workdir, _ = study
    snakemake(workdir, "--report", str(workdir / "report.zip"))
    with zipfile.ZipFile(workdir / "report.zip") as archive:
        archive.extractall(tmp_path)
    page = tmp_path / "report" / "report.html"
    html = page.read_text(encoding="utf-8")
    for caption in ("Motion precision", "Example video", "Failed videos"):  # every item keeps its caption
        assert caption in html
    assert "example_1.html" in html and "example_1.mp4" in html and "table1.html" in html
    chromium = require_chromium()
    shots = Path(os.environ.get("VIDEOXAI_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with Browser(chromium) as browser:
        browser.open(page.as_uri())
        text = browser.wait_for("document.body.innerText.includes('What was run') && document.body.innerText")
        assert text, "the report's front page did not render"
        assert "System Message" not in text, "docutils could not render the front page"
        for expected in (
            "What was run",
            "Result",
            "Does the model use motion?",
            "Table 1: Motion precision",
            "Table 3: Selectivity",
            "Clip accuracy: not written.",
            "Faithfulness: not written.",
            "Guided Grad-CAM",
        ):
            assert expected in text, expected
        rows = browser.evaluate("document.querySelectorAll('table.videoxai tbody tr').length")
        assert rows >= 8  # Table 1 alone: 4 methods x (baseline, selective)
        browser.screenshot(shots / "report_front_page.png")

        # the page the report shows under "Example videos", with the H.264 overlay inside it
        browser.open((workdir / "results" / "report" / "example_1.html").as_uri())
        duration = browser.wait_for(
            "document.getElementById('overlay').readyState >= 1 && document.getElementById('overlay').duration"
        )
        assert duration == pytest.approx(1.0, abs=0.05)  # 8 frames at 8 frames per second
        browser.evaluate("document.getElementById('overlay').play()")
        played = browser.wait_for(
            "(() => { const v = document.getElementById('overlay'); "
            "return v.currentTime > 0.3 && !v.paused && [v.videoWidth, v.videoHeight]; })()"
        )
        assert played and played[0] >= 2 * 224, played  # two panels, enlarged to at least 224 px
        browser.evaluate("document.getElementById('overlay').removeAttribute('controls')")  # a clean picture
        browser.screenshot(shots / "overlay_in_browser.png", selector="#overlay")


def test_camera_compensated_motion_reruns_flow_and_metrics_and_names_itself_in_table1(study, tmp_path):
    workdir = tmp_path / "study"
    shutil.copytree(study[0], workdir, symlinks=True)  # copy2 keeps the mtimes: nothing else is stale
    write_config(
        workdir,
        flow={"camera": {"compensate": True}},
        metrics={"tau": [0.5, 1.0], "motion": "compensated", "border_margin": 2},
    )
    run = snakemake(workdir)
    jobs = planned_jobs(run.stdout + run.stderr)
    assert jobs.get("flow") == 3 and jobs.get("metrics") == 3
    assert not {"decode", "explain", "selective"} & set(jobs)
    results = workdir / "results"
    flow = read_shard(next(path for path in (results / "flow").glob("*.h5") if "knitting" in path.name))
    assert flow.arrays["object_flow"].shape == flow.arrays["flow"].shape
    assert flow.arrays["camera_transform"].shape == (*flow.arrays["flow"].shape[:2], 3, 3)
    table = pd.read_csv(results / "tables" / "table1.csv")
    assert set(table["motion"]) == {"camera-compensated flow, 2 px border left out"}
    assert "Motion: camera-compensated flow, 2 px border left out." in (results / "tables" / "table1.md").read_text()


def test_static_control_table_and_figure(study):
    """The frozen copies of the clips went through the same methods; their table names both
    selective definitions and leaves out the video that failed to decode."""
    workdir, _ = study
    tables = workdir / "results" / "tables"
    for suffix in ("csv", "md", "tex"):
        assert (tables / f"static_control.{suffix}").stat().st_size > 0
    assert (workdir / "results" / "figures" / "static_control.png").stat().st_size > 0
    table = pd.read_csv(tables / "static_control.csv")
    assert set(table["definition"]) == {"paper", "margin"}
    assert set(table["method"]) == {"dtd", "gradcam", "guided_backprop", "guided_gradcam"}
    assert (table["videos"] == 2).all() and (table["clips"] == 4).all()
    paired = table.pivot(index=["method", "n"], columns="definition", values="kept_voxels")
    assert (paired["margin"] <= paired["paper"]).all()  # the margin only removes voxels
    assert (
        (table["kept_relevance_low"] <= table["kept_relevance"])
        & (table["kept_relevance"] <= table["kept_relevance_high"])
    ).all()
    shards = [read_shard(path) for path in (workdir / "results" / "explain").glob("*/*.h5")]
    good = [shard for shard in shards if not shard.failed]
    assert len(good) == 2
    for shard in good:
        assert shard.arrays["static_control/gradcam/relevance"].shape == shard.arrays["gradcam/relevance"].shape
