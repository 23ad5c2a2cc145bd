"""bench/dedup.py still runs, and each of its stores gives the lookups the same verdicts.

The bench stores its articles in memory and in its own SQLite tables, and looks each
query up four ways: in memory, on SQLite fingerprinting every candidate from its text, on
SQLite reading candidates' packed features, and so through the pipeline's feature cache.
On the bench's deterministic articles the four find the same copies (a store
returning candidates in another order could break a tie between two stored copies
otherwise); a small run here keeps the million-article run (ten minutes) from being the
first to find out that one of them drifted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.dedup import DedupSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_dedup_bench_finds_the_same_copies_in_every_store() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "dedup.py"), "--n", "3000", "--queries", "80",
         "--workers", "2"],
        capture_output=True, text=True, check=False, timeout=100,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    stores = [line.split(":")[0] for line in lines if ": lookup median" in line]
    cache_size = DedupSettings().feature_cache_size
    assert stores == [
        "MemoryIndex",
        "SQLite, every candidate fingerprinted from its text (no packed features)",
        "SQLite",
        f"SQLite through the daemon's feature cache (dedup.feature_cache_size {cache_size:,}, "
        "empty at the start)",
    ]
    found = [line.strip() for line in lines if line.strip().startswith("copies found:")]
    assert len(found) == 4
    assert found[0] == found[1] == found[2] == found[3]
    # Every URL variant is found, and no new article is taken for a copy.
    assert "url 20/20" in found[0]
    assert found[0].endswith("false matches among 20 new articles: 0")
    # The cached pass read candidates through the cache, and some came from it.
    share = re.search(r"features from the cache for (\d+)% of ([\d,]+) candidates", done.stdout)
    assert share is not None, done.stdout
    assert int(share[2].replace(",", "")) > 80
    assert 0 < int(share[1]) < 100
