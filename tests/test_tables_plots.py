"""Tables and figures from a small hand-made tidy metrics frame whose statistics are known."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from videoxai.core.errors import VideoXAIError
from videoxai.core.outputs import ABSENT_REASONS, FIGURE_NAMES, TABLE_NAMES
from videoxai.evaluation.metrics import TIDY_COLUMNS
from videoxai.report.figures import figure3_grid, top_clips, write_figures
from videoxai.report.front_page import StudyRun, front_page, headline
from videoxai.report.tables import absent_tables, build_tables, table_html, write_tables

NAN = math.nan


def row(video, clip, metric, value, method="", variant="", n=NAN, tau=NAN, q=NAN, other_method=""):
    return dict(
        video=video,
        clip=clip,
        method=method,
        variant=variant,
        n=n,
        tau=tau,
        q=q,
        other_method=other_method,
        metric=metric,
        value=value,
    )


def hand_metrics() -> pd.DataFrame:
    """Three clips: a/0, a/1, b/0. Methods listed out of paper order on purpose."""
    rows = []
    clips = [("a", 0), ("a", 1), ("b", 0)]
    for (video, clip), chance in zip(clips, [0.1, 0.3, 0.5]):
        rows.append(row(video, clip, "chance", chance, tau=1.0))
        rows.append(row(video, clip, "chance", 0.05, tau=2.0))
    # Grad-CAM baseline: precision 0.1, 0.1, 0.4 at tau 1.
    for (video, clip), value in zip(clips, [0.1, 0.1, 0.4]):
        for metric in ("precision", "weighted_precision"):
            rows.append(row(video, clip, metric, value, method="gradcam", variant="baseline", tau=1.0))
        rows.append(row(video, clip, "topq_precision", value, method="gradcam", variant="baseline", tau=1.0, q=0.05))
    # DTD baseline: b/0 has an all-zero map (NaN); a different tau must not leak in.
    for (video, clip), (p, w, t) in zip(clips, [(0.2, 0.4, 0.6), (0.4, 0.6, 0.8), (NAN, NAN, NAN)]):
        base = dict(method="dtd", variant="baseline")
        rows += [
            row(video, clip, "precision", p, tau=1.0, **base),
            row(video, clip, "weighted_precision", w, tau=1.0, **base),
            row(video, clip, "topq_precision", t, tau=1.0, q=0.05, **base),
            row(video, clip, "topq_precision", 0.99, tau=1.0, q=0.10, **base),
            row(video, clip, "precision", 0.9, tau=2.0, **base),
        ]
    sel = dict(method="dtd", variant="selective", n=1.0)
    rows += [
        row("a", 0, "precision", 0.5, tau=1.0, **sel),
        row("a", 0, "weighted_precision", 0.5, tau=1.0, **sel),
        row("a", 0, "topq_precision", 0.5, tau=1.0, q=0.05, **sel),
    ]
    # Agreement DTD / Grad-CAM.
    pair = dict(method="dtd", other_method="gradcam", variant="baseline")
    rows += [
        row("a", 0, "iou", 0.2, **pair),
        row("a", 1, "iou", 0.4, **pair),
        row("a", 0, "topq_iou", 0.1, q=0.05, **pair),
        row("a", 1, "topq_iou", 0.3, q=0.05, **pair),
    ]
    # Selectivity.
    rows += [
        row("a", 0, "selectivity_voxels", 0.5, **sel),
        row("a", 1, "selectivity_voxels", 0.25, **sel),
        row("a", 0, "selectivity_relevance", 0.8, **sel),
        row("a", 1, "selectivity_relevance", 0.6, **sel),
        row("a", 0, "selectivity_voxels", 0.1, method="dtd", variant="selective", n=2.0),
    ]
    # Timing: 2 s and 4 s alone, +25 % for the selection.
    for clip, seconds in ((0, 2.0), (1, 4.0)):
        rows += [
            row("a", clip, "seconds", seconds, method="dtd", variant="baseline"),
            row("a", clip, "seconds", seconds * 1.25, method="dtd", variant="selective"),
            row("a", clip, "overhead", 0.25, method="dtd", variant="selective"),
        ]
    rows += [row(video, clip, "correct", value) for (video, clip), value in zip(clips, [1.0, 0.0, 1.0])]
    return pd.DataFrame(rows, columns=list(TIDY_COLUMNS))


def test_table1_means_stds_counts_and_layout():
    table = build_tables(hand_metrics())["table1"]
    assert list(zip(table["method"], table["variant"])) == [
        ("dtd", "baseline"),
        ("dtd", "selective"),
        ("gradcam", "baseline"),
    ]
    dtd, selective, gradcam = (table.iloc[index] for index in range(3))
    assert dtd["tau"] == 1.0 and dtd["q"] == 0.05 and math.isnan(dtd["n"])
    assert dtd["precision_mean"] == pytest.approx(0.3)
    assert dtd["precision_std"] == pytest.approx(math.sqrt(0.02))  # ddof = 1 over 2 clips
    assert dtd["weighted_precision_mean"] == pytest.approx(0.5)
    assert dtd["topq_precision_mean"] == pytest.approx(0.7)  # q = 0.10 rows are not mixed in
    # Chance averages over the clips where that row's precision is defined (a/0, a/1).
    assert dtd["chance_mean"] == pytest.approx(0.2)
    assert (dtd["clips"], dtd["videos"]) == (2, 1)
    assert gradcam["precision_mean"] == pytest.approx(0.2)
    assert gradcam["precision_std"] == pytest.approx(math.sqrt(0.03))
    assert gradcam["chance_mean"] == pytest.approx(0.3)
    assert (gradcam["clips"], gradcam["videos"]) == (3, 2)
    assert selective["n"] == 1.0 and selective["precision_mean"] == 0.5 and math.isnan(selective["precision_std"])
    # Another tau on request.
    other = build_tables(hand_metrics(), tau=2.0)["table1"]
    assert other.iloc[0]["precision_mean"] == pytest.approx(0.9)
    with pytest.raises(VideoXAIError, match="tau"):
        build_tables(hand_metrics(), tau=3.0)


def test_tables_2_3_4_and_accuracy():
    tables = build_tables(hand_metrics())
    agreement = tables["table2"].iloc[0]
    assert (agreement["method"], agreement["other_method"]) == ("dtd", "gradcam")
    assert agreement["iou_mean"] == pytest.approx(0.3) and agreement["topq_iou_mean"] == pytest.approx(0.2)
    assert agreement["clips"] == 2
    selectivity = tables["table3"]
    assert selectivity["n"].tolist() == [1.0, 2.0]
    assert selectivity.iloc[0]["selectivity_voxels_mean"] == pytest.approx(0.375)
    assert selectivity.iloc[0]["selectivity_relevance_mean"] == pytest.approx(0.7)
    assert selectivity.iloc[1]["clips"] == 1
    overhead = tables["table4"].iloc[0]
    assert overhead["baseline_seconds_mean"] == pytest.approx(3.0)
    assert overhead["baseline_seconds_std"] == pytest.approx(math.sqrt(2))
    assert overhead["selective_seconds_mean"] == pytest.approx(3.75)
    assert overhead["overhead_mean"] == pytest.approx(0.25) and overhead["overhead_std"] == pytest.approx(0.0)
    accuracy = tables["accuracy"].iloc[0]
    assert accuracy["accuracy"] == pytest.approx(2 / 3) and (accuracy["clips"], accuracy["videos"]) == (3, 2)


def test_csv_round_trip_gives_the_same_tables(tmp_path):
    # Empty strings come back from CSV as NaN; the tables must not change.
    hand_metrics().to_csv(tmp_path / "m.csv", index=False)
    again = build_tables(pd.read_csv(tmp_path / "m.csv"))
    for name, table in build_tables(hand_metrics()).items():
        pd.testing.assert_frame_equal(again[name], table, check_dtype=False)


def test_rejects_duplicates_and_missing_columns():
    doubled = pd.concat([hand_metrics(), hand_metrics()])
    with pytest.raises(VideoXAIError, match="duplicated"):
        build_tables(doubled)
    with pytest.raises(VideoXAIError, match="missing column"):
        build_tables(hand_metrics().drop(columns=["tau"]))


def body_first_cells(text: str, prefix: str, separator: str) -> list[str]:
    return [
        line[len(prefix) :].split(separator)[0].strip()
        for line in text.splitlines()
        if line.startswith(prefix) and "---" not in line
    ]


def test_write_tables_files_and_method_order(tmp_path):
    paths = write_tables(
        hand_metrics(), tmp_path / "tables", html_dir=tmp_path / "tables" / "html", bootstrap={"method": "percentile"}
    )
    names = {path.name for path in paths}
    # hand_metrics has no faithfulness rows, no calibrated test and no behaviour rows
    absent = {"faithfulness", "calibration", "motion_reliance", "explanation_behaviour"}
    present = [table for table in TABLE_NAMES if table not in absent]
    assert names == (
        {f"{table}.{ext}" for table in present for ext in ("csv", "md", "tex", "html")} | {"metrics.csv", "status.json"}
    )
    assert all(path.stat().st_size > 0 for path in paths)
    assert not list((tmp_path / "tables").glob(".*"))  # no temporary files left behind
    markdown = (tmp_path / "tables" / "table1.md").read_text()
    assert body_first_cells(markdown, "| ", "|") == ["Method", "DTD", "DTD", "Grad-CAM"]
    # Grad-CAM: video a's clips 0.1, 0.1 and video b's 0.4 -> resamples aa 0.1, ab 0.2, bb 0.4.
    assert "| 0.200 [0.100, 0.400] |" in markdown and "τ = 1 px/frame" in markdown
    assert "| DTD | Selective | 1 | 0.500 | +0.300 |" in markdown  # one video: a mean, no interval
    assert "95% interval: percentile bootstrap resampling videos (2000 resamples, seed 0)" in markdown
    assert "an interval that excludes 0 is a difference the data support" in markdown
    latex = (tmp_path / "tables" / "table1.tex").read_text()
    rows = [line for line in latex.splitlines() if line.endswith("\\\\")]
    assert [line.split(" & ")[0] for line in rows] == ["Method", "DTD", "DTD", "Grad-CAM"]
    assert "0.200 [0.100, 0.400]" in latex and "top 5\\%" in latex and "\\toprule" in latex
    assert "$\\Delta$ P ($R>0$)" in latex
    assert "DTD / Grad-CAM" in (tmp_path / "tables" / "table2.md").read_text()
    assert "| 25.0 |" in (tmp_path / "tables" / "table4.md").read_text()  # overhead in %, one video
    tidy = pd.read_csv(tmp_path / "tables" / "metrics.csv")
    assert list(tidy.columns) == list(TIDY_COLUMNS) and len(tidy) == len(hand_metrics())


def test_write_figures_png_and_pdf_even_without_some_data(tmp_path):
    paths = write_figures(hand_metrics(), tmp_path / "figures")
    assert {path.name for path in paths} == {f"{name}.{ext}" for name in FIGURE_NAMES for ext in ("png", "pdf")}
    assert all(path.stat().st_size > 1000 for path in paths)
    with Image.open(tmp_path / "figures" / "precision_by_method.png") as image:
        assert image.size == (13 * 200, round(4.8 * 200))
    assert (tmp_path / "figures" / "precision_by_method.pdf").read_bytes().startswith(b"%PDF")
    # Precision only: the timing and selectivity figures say "no data" but exist.
    only_precision = hand_metrics().query("metric in ['precision', 'chance']")
    assert len(write_figures(only_precision, tmp_path / "sparse")) == 2 * len(FIGURE_NAMES)


def test_top_clips_ranks_by_mean_over_methods():
    best = top_clips(hand_metrics(), count=2)
    # weighted precision at tau 1, baseline: a/0 mean(0.4, 0.1), a/1 mean(0.6, 0.1), b/0 0.4 (DTD NaN).
    assert list(zip(best["video"], best["clip"])) == [("b", 0), ("a", 1)]
    assert best["score"].tolist() == pytest.approx([0.4, 0.35])


def test_figure3_grid_size_and_input_checks(tmp_path):
    frames = np.zeros((6, 8, 10, 3), dtype=np.uint8)
    relevance = {"gradcam": np.ones((6, 8, 10)), "dtd": np.linspace(-1, 1, 480).reshape(6, 8, 10)}
    selective = {"dtd": np.zeros((6, 8, 10))}
    path = figure3_grid(
        frames,
        relevance,
        selective,
        tmp_path / "fig3.png",
        title="v_x clip 0",
        frame_indices=[0, 5],
        panel_inches=1.0,
        dpi=100,
    )
    with Image.open(path) as image:
        # 5 columns (input + 2 methods x 2) of 1 in; 2 rows of 1 in + 0.5 in header + 0.3 in title.
        assert image.size == (500, 280)
    with pytest.raises(VideoXAIError, match=r"relevance\[dtd\]"):
        figure3_grid(frames, {"dtd": np.ones((6, 8, 9))}, {}, tmp_path / "bad.png")
    with pytest.raises(VideoXAIError, match="uint8"):
        figure3_grid(frames.astype(np.float32), relevance, {}, tmp_path / "bad.png")


def hand_faithfulness() -> pd.DataFrame:
    """Faithfulness rows of three clips (a/0, a/1, b/0): fep baseline and selective n=4, random.

    fep baseline deletion 0.1, 0.2, 0.3 (mean 0.2, std 0.1); insertion 0.5, 0.7, 0.9 (mean 0.7,
    std 0.2); smoothness temporal 0.01, 0.02, 0.03; pointing: a/0 3 hits 1 miss, a/1 1 hit 3
    misses, b/0 no annotated frame (0 + 0) -> pooled 4 / 8 = 0.5.
    """
    rows = []
    clips = [("a", 0), ("a", 1), ("b", 0)]
    pointing = [(3, 1), (1, 3), (0, 0)]
    for index, (video, clip) in enumerate(clips):
        for method, variant, n, shift in (
            ("fep", "baseline", NAN, 0.0),
            ("fep", "selective", 4.0, 0.05),
            ("random", "baseline", NAN, 0.3),
        ):
            keys = dict(method=method, variant=variant, n=n)
            rows.append(row(video, clip, "deletion_auc", 0.1 * (index + 1) + shift, **keys))
            rows.append(row(video, clip, "insertion_auc", 0.5 + 0.2 * index - shift, **keys))
            rows.append(row(video, clip, "smoothness_temporal", 0.01 * (index + 1) + shift, **keys))
            rows.append(row(video, clip, "smoothness_spatial", 0.002, **keys))
            hits, misses = pointing[index] if method == "fep" else (0, 4)
            rows.append(row(video, clip, "pointing_hits", hits, **keys))
            rows.append(row(video, clip, "pointing_misses", misses, **keys))
            for step, q in enumerate((0.0, 0.5, 1.0)):
                rows.append(row(video, clip, "deletion_curve", 0.9 - 0.4 * step, q=q, **keys))
                rows.append(row(video, clip, "insertion_curve", 0.1 + 0.4 * step, q=q, **keys))
    # the paper's metrics of another method sit in the same frame and must not leak in
    rows.append(row("a", 0, "precision", 0.5, method="dtd", variant="baseline", tau=1.0))
    return pd.DataFrame(rows)


def test_faithfulness_table_means_pooled_pointing_and_random_last():
    table = build_tables(hand_faithfulness())["faithfulness"]
    assert list(table["method"]) == ["fep", "fep", "random"]
    assert list(table["variant"]) == ["baseline", "selective", "baseline"]
    fep = table.iloc[0]
    assert fep["deletion_auc_mean"] == pytest.approx(0.2) and fep["deletion_auc_std"] == pytest.approx(0.1)
    assert fep["insertion_auc_mean"] == pytest.approx(0.7) and fep["insertion_auc_std"] == pytest.approx(0.2)
    assert fep["smoothness_temporal_mean"] == pytest.approx(0.02)
    assert fep["pointing_accuracy"] == pytest.approx(0.5) and fep["pointing_frames"] == 8
    assert fep["clips"] == 3 and fep["videos"] == 2
    assert table.iloc[1]["n"] == 4.0 and table.iloc[1]["deletion_auc_mean"] == pytest.approx(0.25)
    assert table.iloc[2]["pointing_accuracy"] == 0.0 and table.iloc[2]["deletion_auc_mean"] == pytest.approx(0.5)
    assert math.isnan(table.iloc[0]["n"])


def test_faithfulness_table_and_curves_are_written(tmp_path):
    write_tables(hand_faithfulness(), tmp_path, bootstrap={"method": "percentile"})
    markdown = (tmp_path / "faithfulness.md").read_text()
    assert body_first_cells(markdown, "| ", "|") == ["Method", "FEP", "FEP", "Random"]
    # deletion a: 0.1, 0.2, b: 0.3 -> resampled means 0.15, 0.2, 0.3; selective is +0.05 on every clip
    assert "0.200 [0.150, 0.300]" in markdown and "0.700 [0.600, 0.900]" in markdown and "| 0.500 |" in markdown
    assert "| +0.050 [+0.050, +0.050] |" in markdown and "| -0.050 [-0.050, -0.050] |" in markdown
    assert "Deletion AUC" in (tmp_path / "faithfulness.tex").read_text()
    # without faithfulness rows the table is not written, and status.json says why
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "faithfulness.csv").write_text("stale from an earlier run\n")
    write_tables(hand_metrics(), tmp_path / "none", reasons={"faithfulness": "faithfulness is off"})
    assert not list((tmp_path / "none").glob("faithfulness.*"))
    status = json.loads((tmp_path / "none" / "status.json").read_text())
    assert status == {
        "written": ["table1", "table2", "table3", "table4", "accuracy"],
        "absent": {
            "faithfulness": "faithfulness is off",
            **{name: ABSENT_REASONS[name] for name in ("calibration", "motion_reliance", "explanation_behaviour")},
        },
    }
    paths = write_figures(hand_faithfulness(), tmp_path / "figures")
    assert (tmp_path / "figures" / "deletion_insertion.png") in paths
    assert (tmp_path / "figures" / "deletion_insertion.png").stat().st_size > 1000


def test_html_tables_and_front_page_carry_the_numbers():
    metrics = hand_metrics()
    tables = build_tables(metrics, tau=1.0, bootstrap={"method": "percentile"})  # intervals derived by hand
    page = table_html("table1", tables["table1"], 1.0, 0.05)
    assert page.startswith("<!DOCTYPE html>") and page.count("<tr>") == 4  # header + 3 rows
    assert "<td>0.200 [0.100, 0.400]</td>" in page and '<td class="text">Grad-CAM</td>' in page
    assert "<caption>Table 1: Motion precision" in page
    # Table 1 at tau 1: DTD baseline 0.3 (a/0 0.2, a/1 0.4), Grad-CAM 0.2; selective DTD (n = 1) 0.5 on a/0
    sentences = headline(tables, tau=1.0, min_videos=1)  # any number of videos may give a verdict here
    assert sentences.count(". ") == 2 and sentences.endswith(".")
    # DTD's clips all come from video a: a mean without an interval; Grad-CAM's from a and b.
    assert "was DTD 30.0% and Grad-CAM 20.0% [10.0, 40.0] (chance: 30.0% [20.0, 50.0])" in sentences
    assert "over the 3 clips (of 2 videos) with positive relevance; brackets give 95% intervals" in sentences
    assert "changed it by DTD +30.0 points (paired, same clips): one video cannot tell for DTD" in sentences
    assert "kept DTD 37.5% of the baseline's positive voxels" in sentences  # Table 3, n = 1: (0.5 + 0.25) / 2
    absent = absent_tables(tables, {"faithfulness": "faithfulness is off (faithfulness.enabled: false)"})
    assert absent["faithfulness"] == "faithfulness is off (faithfulness.enabled: false)"
    assert set(absent) == {"faithfulness", "calibration", "motion_reliance", "explanation_behaviour"}
    run = StudyRun(
        videos_listed=3,
        videos_studied=2,
        failed=1,
        source="folder",
        model="tiny",
        methods=["gradcam", "dtd"],
        n=[0.5, 1.0],  # the front page speaks of the headline n, the one nearest 4, not the smallest
        tau=[1.0, 2.0],
        headline_tau=1.0,
        clips=3,
        clip_length=8,
    )
    text = front_page(tables, absent, run, tau=1.0, q=0.05, min_videos=1)
    assert "* **Videos**: 2 of 3 listed (folder) studied; 1 failed" in text
    assert "* **Methods**: Grad-CAM, DTD" in text and "n = 0.5, 1" in text
    assert sentences in text and text.count('<table class="videoxai"') == 5
    assert "*Faithfulness: not written.* Faithfulness is off (faithfulness.enabled: false)." in text
    from docutils.core import publish_parts  # the report renders it with docutils

    rendered = publish_parts(
        "Title\n=====\n\n" + text, writer="html", settings_overrides={"report_level": 2, "halt_level": 2}
    )["body"]
    assert rendered.count('<table class="videoxai"') == 5 and "What was run" in rendered
    empty = build_tables(metrics.iloc[:0], tau=1.0)
    assert headline(empty, tau=1.0).startswith("No clip produced motion-precision values")
    assert set(absent_tables(empty)) == set(TABLE_NAMES)


def test_table1_says_which_motion_the_metrics_used():
    from videoxai.evaluation.metrics import compute_clip_metrics
    from videoxai.report.tables import render_table

    flow = np.zeros((1, 2, 8, 8, 2), np.float32)
    flow[0, :, 3:5, 3:5] = [2, 0]
    relevance = {"dtd": np.ones((1, 2, 8, 8), np.float32)}
    common = dict(relevance=relevance, selective={}, flow=flow, taus=[1.0], top_q=[0.05])
    raw = compute_clip_metrics(video="a", **common)
    compensated = compute_clip_metrics(video="b", motion="compensated", border_margin=2, **common)
    assert build_tables(raw)["table1"]["motion"].tolist() == ["raw flow"]
    table = build_tables(compensated)["table1"]
    assert table["motion"].tolist() == ["camera-compensated flow, 2 px border left out"]
    # 4 moving voxels of the 4x4 interior of each frame: precision 1/4, not 4/64
    assert table["precision_mean"].iloc[0] == pytest.approx(0.25)
    markdown, latex = render_table("table1", table, tau=1.0, q=0.05)
    assert "Motion: camera-compensated flow, 2 px border left out." in markdown
    assert "camera-compensated flow" in latex
    mixed = build_tables(pd.concat([raw, compensated], ignore_index=True))["table1"]
    assert mixed["motion"].iloc[0] == "mixed: camera-compensated flow, 2 px border left out; raw flow"
