"""bench/keylayout.py still runs against the store's real schema and lookups.

The bench writes entry and key rows with raw SQL beside the store's own code and reads
them back through :class:`~monitor.store.dedup_index.DatabaseDedupIndex` and
:class:`~monitor.dedup.tailed.TailedIndex`: a migration that changes either table, or a
lookup whose candidates drift between the database and memory, shows here first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REUTERS = REPO.parent / "shared" / "devsets" / "reuters21578" / "reuters21578.jsonl.gz"


def test_the_key_layout_bench_compares_both_layouts_on_the_same_candidates() -> None:
    if not REUTERS.exists():
        pytest.skip(f"{REUTERS} is absent: the bench deals its entries from Reuters-21578")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "keylayout.py"), "--entries", "240", "--group", "30",
         "--lookups", "40", "--batch", "100"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    rows = next(line.split() for line in lines if line.startswith("rows "))
    column = next(line.split() for line in lines if line.startswith("column "))
    deferred = next(line.split() for line in lines if line.startswith("deferred "))
    # Every entry's keys as rows in one layout, none in the other; the same rows, filled late.
    assert int(rows[-1].replace(",", "")) > 240 * 20
    assert column[-1] == "0"
    assert deferred[-1] == rows[-1]
    assert "same candidates from each of them for 40 lookups" in done.stdout
