"""The README's results, computed from the tables of a named run, never typed by hand.

Every sentence between the README's ``<!-- results:start -->`` and ``<!-- results:end -->``
markers is written by the same functions that write the report's front page
(:mod:`videoxai.report.findings`, :mod:`videoxai.report.front_page`), from the tables a study wrote.
The tables behind them are copied into ``benchmarks/results/<name>/`` with the run's commit and
date, so the README's numbers always name the run they come from.

    .venv/bin/python benchmarks/readme_results.py --results results --name embedded-default   # copy + write
    .venv/bin/python benchmarks/readme_results.py --check                                        # README up to date?

``tests/test_readme_results.py`` runs the check.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from videoxai.report.findings import ground_truth_calibration_sentences, study_findings  # noqa: E402
from videoxai.report.front_page import ground_truth_sentences, headline  # noqa: E402

README = ROOT / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
TABLES = (
    "table1",
    "calibration",
    "motion_reliance",
    "explanation_behaviour",
    "ground_truth",
    "ground_truth_calibration",
)
DEFAULT_NAME = "embedded-default"


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in TABLES:
        path = folder / f"{name}.csv"
        if path.exists():
            tables[name] = pd.read_csv(path, keep_default_na=True)
    if "ground_truth" in tables:
        tables["ground_truth"]["method"] = tables["ground_truth"]["method"].fillna("")
    for name in ("motion_reliance",):
        if name in tables:
            tables[name]["class_name"] = tables[name]["class_name"].fillna("")
    return tables


def block(folder: Path) -> str:
    """The README's results block from the tables in ``folder`` (and its ``run.json``)."""
    tables = read_tables(folder)
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    lines = [
        START,
        f"*Computed by `benchmarks/readme_results.py` from the tables of the run `{run['name']}` "
        f"(`{run['config']}`, commit `{run['commit']}`, {run['date']}), copied to "
        f"[`benchmarks/results/{run['name']}/`](benchmarks/results/{run['name']}/).*",
        "",
    ]
    if "ground_truth" in tables:
        table_sentence, figure_sentence = ground_truth_sentences(tables["ground_truth"])
        lines += [f"- **Ground truth.** {table_sentence} {figure_sentence}."]
        for sentence in ground_truth_calibration_sentences(tables.get("ground_truth_calibration")):
            lines += [f"  {sentence}"]
    if "table1" in tables:
        tau = float(tables["table1"]["tau"].dropna().iloc[0])
        lines += [f"- **Table 1.** {headline(tables, tau)}"]
    findings = study_findings(tables)
    if findings:
        lines += ["- **Does the model use motion?** " + " ".join(findings)]
    lines.append(END)
    return "\n".join(lines)


def replace_block(text: str, new: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return before + new + after


def copy_run(results: Path, name: str, config: str) -> Path:
    folder = ROOT / "benchmarks" / "results" / name
    folder.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        source = results / "tables" / f"{table}.csv"
        target = folder / f"{table}.csv"
        if source.exists():
            shutil.copyfile(source, target)
        else:
            target.unlink(missing_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    run = {"name": name, "config": config, "commit": commit.strip(), "date": time.strftime("%Y-%m-%d")}
    (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, help="a finished study's results folder to take the tables from")
    parser.add_argument("--name", default=DEFAULT_NAME, help="the run's name (folder under benchmarks/results/)")
    parser.add_argument("--config", default="config/config.yaml", help="the config the run used (recorded)")
    parser.add_argument("--check", action="store_true", help="only check that README.md matches the committed tables")
    args = parser.parse_args()
    folder = ROOT / "benchmarks" / "results" / args.name
    if args.results and not args.check:
        folder = copy_run(args.results, args.name, args.config)
    expected = replace_block(README.read_text(encoding="utf-8"), block(folder))
    if args.check:
        if expected != README.read_text(encoding="utf-8"):
            print("README.md's results are not those of the committed tables: run benchmarks/readme_results.py")
            return 1
        return 0
    README.write_text(expected, encoding="utf-8")
    print(block(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
