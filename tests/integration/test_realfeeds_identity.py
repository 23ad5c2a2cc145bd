"""No distinct item is lost to an identity key, on 200 real feeds polled through the pipeline.

Every entry kept out by an identity key (a repeat inside its document, or a duplicate by
guid, canonical URL or text hash) must really repeat the entry it was folded into: the same
title and the same text. Four of these feeds give each item the page's address plus its own
``#anchor`` as guid; before fragments counted, 78 of their items were lost this way.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from monitor.config import load_config
from testbed.realfeeds import REALFEEDS, poll_once, polling_config, serve, suppressions
from testbed.servers import HttpServer
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    not REALFEEDS.is_dir(), reason="../shared/realfeeds is absent (CI always has it)"
)


@pytest.mark.timeout(600)
def test_every_item_suppressed_by_an_identity_key_repeats_an_earlier_one(
    tmp_path: Path, http_server: HttpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # SQLite only: the keys are decided before storage, and the storage side of identity
    # (known keys, older key forms) runs on both backends in test_identity.py.
    shipped = load_config(Path(REPO / "config" / "monitor.yaml"))
    # Every entry looked up, so the cross-feed keys (guid, canonical URL, text hash) are put
    # to work on all 6,500 entries, not only on the few that match a watch (by default the
    # others are compared with nothing, which can suppress nothing wrongly).
    shipped = shipped.model_copy(update={"dedup": {**shipped.dedup, "index_unmatched": True}})
    config = polling_config(shipped, serve(http_server), f"sqlite:///{tmp_path / 'real.db'}")
    pipeline, summary = poll_once(config)
    try:
        assert summary.new > 6000, summary.line()
        found = suppressions(pipeline.store)
    finally:
        pipeline.close()
    wrong = [s for s in found if not s.repeats]
    with capsys.disabled():
        counts = Counter(s.how for s in found)
        print(
            f"\nrealfeeds: {len(found)} entries suppressed by identity keys "
            f"({', '.join(f'{how} {n}' for how, n in sorted(counts.items()))}), "
            f"{len(wrong)} of them distinct items"
        )
    assert wrong == []
    assert counts["guid"] + counts["canonical_url"] + counts["text_hash"] >= 1
