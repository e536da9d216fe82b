"""The README's results are computed from the committed tables of a named run, not typed by hand."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_results_are_those_of_the_committed_tables():
    check = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "readme_results.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert check.returncode == 0, check.stdout + check.stderr
