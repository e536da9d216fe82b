"""Write a markdown note of a finished study: its faithfulness table and the cost per clip of
every method (explain seconds per clip from table4.csv, deletion/insertion seconds per map and
clip from the faithfulness logs).

    python benchmarks/study_cost_report.py results/ucf101_sample_extra config/ucf101_sample_extra.yaml \
        benchmarks/results/ucf101-sample-extra-methods.md
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from videoxai.core.methods import method_label  # noqa: E402
from videoxai.evaluation.metrics import ordered_methods  # noqa: E402

LINE = re.compile(r"^(\S+) (baseline|selective) n=(\S+): deletion/insertion of (\d+) clip\(s\) in ([\d.]+) s$")


def faithfulness_seconds(logs: Path) -> dict[str, list[float]]:
    """Method -> deletion/insertion seconds per clip and map, over every video and variant."""
    seconds: dict[str, list[float]] = defaultdict(list)
    for log in sorted(logs.glob("*.log")):
        for line in log.read_text().splitlines():
            match = LINE.match(line.strip())
            if match:
                seconds[match.group(1)].append(float(match.group(5)) / int(match.group(4)))
    return seconds


def main(results: str, config: str, out: str) -> None:
    results_dir = Path(results)
    tables = results_dir / "tables"
    timing = pd.read_csv(tables / "table4.csv")
    faithfulness = faithfulness_seconds(results_dir / "logs" / "faithfulness")
    explained = timing.drop_duplicates("method").set_index("method")
    rows = []
    for method in ordered_methods([*explained.index, *faithfulness]):
        explain_mean = explained["baseline_seconds_mean"].get(method, float("nan"))
        explain_std = explained["baseline_seconds_std"].get(method, float("nan"))
        clips = explained["clips"].get(method, 0)
        per_map = faithfulness.get(method, [])
        di = f"{sum(per_map) / len(per_map):.1f}" if per_map else "–"
        explain = (
            "–"
            if pd.isna(explain_mean)
            else (f"{explain_mean:.1f}" + ("" if pd.isna(explain_std) else f" ± {explain_std:.1f}"))
        )
        rows.append(f"| {method_label(method)} (`{method}`) | {explain} | {int(clips)} | {di} | {len(per_map)} |")
    failed = (results_dir / "failed_videos.csv").read_text().strip().splitlines()[1:]
    text = [
        "# Further methods and faithfulness on the shared UCF-101 sample (I3D, CPU)",
        "",
        f"Written by `python benchmarks/study_cost_report.py {results} {config} {out}` after",
        f"`snakemake --cores 2 --configfile {config}` (settings below, verbatim). The CPU is a shared",
        "2-core machine and other jobs ran beside the study, so seconds are indicative.",
        f"Failed videos: {len(failed)}{' (' + '; '.join(failed) + ')' if failed else ''}.",
        "",
        "## Cost per clip",
        "",
        "Explain: wall time of `attribute` for one 16 x 224 x 224 clip (batch 1, 2 torch threads), mean ± std",
        "over clips. Deletion/insertion: seconds per map and clip (2 (steps + 1) forwards), mean over",
        "the maps of that method (baseline and selective) and clips.",
        "",
        "| Method | Explain (s / clip) | Clips | Deletion/insertion (s / map / clip) | Maps |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        "## Faithfulness",
        "",
        (tables / "faithfulness.md").read_text().strip(),
        "",
        "## Settings",
        "",
        "```yaml",
        Path(config).read_text().strip(),
        "```",
        "",
    ]
    Path(out).write_text("\n".join(text), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
