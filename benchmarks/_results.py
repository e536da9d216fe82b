"""What the benchmark scripts share: writing their rows as a CSV table."""

from __future__ import annotations

import csv
from pathlib import Path


def write_rows_csv(path: Path, rows: list[dict], device: str) -> Path:
    """``rows`` (dicts with the same keys) as CSV with a leading ``device`` column; floats to 6 digits."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["device", *rows[0]])
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {"device": device, **{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}}
            )
    return path
