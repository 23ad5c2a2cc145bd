"""Story grouping and near-duplicate joins on real data: ``python bench/grouping.py``.

* ECB+ (``../shared/devsets/ecbplus``; Cybulska and Vossen, LREC 2014, CC BY
  3.0): 982 articles labelled by event, each topic holding two events of one
  kind. Articles are grouped as the daemon groups them, headlines only and
  headline with body; pairwise precision and recall and B-cubed are printed.
* realfeeds (``../shared/realfeeds``): every join a text signal makes, to read.

``--no-stories`` shows the figures without the headline and same-story signals.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.dedup.evaluation import ecbplus_grouping, realfeed_joins  # noqa: E402
from monitor.dedup.settings import DedupSettings  # noqa: E402

SHARED = ROOT.parent / "shared"
ECBPLUS = SHARED / "devsets" / "ecbplus" / "ecbplus_docs.json"
REALFEEDS = SHARED / "realfeeds"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-stories", action="store_true", help="headline/story signals off")
    parser.add_argument("--examples", action="store_true", help="list wrong ECB+ joins")
    args = parser.parse_args()
    settings = DedupSettings()
    if args.no_stories:
        settings = replace(settings, headline_similarity=1.0, story_similarity=1.0)
    if ECBPLUS.exists():
        for figures in ecbplus_grouping(ECBPLUS, settings):
            print("ECB+", figures.summary())
            if args.examples:
                for example in figures.false_examples:
                    print("    wrong:", example)
    else:
        print(f"ECB+: {ECBPLUS} is absent")
    if REALFEEDS.exists():
        count, joins = realfeed_joins(REALFEEDS, settings)
        print(f"realfeeds: {count} entries, {len(joins)} joins by a text signal")
        for join in joins:
            print("   ", join.line())
    else:
        print(f"realfeeds: {REALFEEDS} is absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
