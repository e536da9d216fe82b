"""Files the study writes respect the umask like any other file (readable by collaborators)."""

import os
import stat

import numpy as np
import pytest

from videoxai.core.files import atomic_write, atomic_write_bytes


@pytest.fixture()
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_writes_get_the_umask_permissions(tmp_path, umask_022):
    assert mode(atomic_write(tmp_path / "t.md", lambda p: p.write_text("x"))) == 0o644
    assert mode(atomic_write_bytes(tmp_path / "c.safetensors", b"x")) == 0o644
    os.umask(0o077)  # a user who wants private files gets them
    assert mode(atomic_write(tmp_path / "private.md", lambda p: p.write_text("x"))) == 0o600


def test_tables_figures_shards_and_checkpoints_are_0644(tmp_path, umask_022):
    import pandas as pd

    from videoxai.data.shards import write_shard
    from videoxai.evaluation.metrics import TIDY_COLUMNS
    from videoxai.report.tables import write_tables

    rows = pd.DataFrame(
        [["v", 0, "gradcam", "baseline", np.nan, 1.0, np.nan, "", "precision", 0.5]], columns=list(TIDY_COLUMNS)
    )
    for path in write_tables(rows, tmp_path / "tables", tau=1.0):
        assert mode(path) == 0o644, path
    shard = write_shard(tmp_path / "clips.h5", "clips", {}, video_id="v", config={}, failure_reason="empty")
    assert mode(shard) == 0o644


def test_a_failed_write_leaves_nothing(tmp_path):
    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "table.csv", broken)
    assert list(tmp_path.iterdir()) == []
