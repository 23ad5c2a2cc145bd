"""MinHash signatures and keys: stable across processes and releases, and accurate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from monitor.dedup import signature as sig
from monitor.dedup.features import fingerprint
from monitor.dedup.scheme import V1, SignatureScheme
from monitor.dedup.similarity import estimated_jaccard, jaccard

REPO = Path(__file__).resolve().parents[2]
TEXT = (
    "Canada and Mexico signed an agreement on Friday to cooperate on critical minerals "
    "such as lithium, copper and graphite. The pact covers permits."
)


def test_golden_values_pin_the_v1_scheme() -> None:
    """Stored keys stay valid only while these numbers never change."""
    assert sig.token_hash("tariffs") == 13346306232464778615
    assert sig.token_hash("usmca") == 969588989910253184
    assert sig.shingle_hashes(
        ("canada", "and", "mexico", "sign", "a", "trade", "pact"), 5
    ).tolist() == [
        8180717086858595208,
        6254990759288581331,
        9104256072964447693,
    ]
    a, b = sig.permutations("v1", 60)
    assert (int(a[0]), int(b[0]), int(a[59]), int(b[59])) == (
        2353711347379777935,
        1471562421705297587,
        7696704490094299411,
        9703569469036519017,
    )
    features = fingerprint("t", TEXT)
    assert features.band_keys[:3] == (
        2497413568865042409,
        -4113191904881386326,
        -7371801202974627730,
    )
    assert features.band_keys[20:22] == (4745396613560643140, -1937500165910632510)
    assert features.band_keys[-1:] == (-389583716745164509,)
    assert features.opening_keys == (4460425738875153955,)
    assert features.exact_keys == (1801327339934614910,)
    assert features.text_hash == "6900754659c9f09b6dd797c87d9f7a40"
    assert sig.exact_key(b"U", "https://example.com/a", "v1") == -5878228032565062987
    assert V1.tag == "v1-k5-f20x3-l12x3-lead12:40-open4:12"


def test_keys_are_the_same_in_another_process() -> None:
    """Nothing depends on Python's per-process string hashing."""
    code = (
        "import json, sys; from monitor.dedup.features import fingerprint; "
        "f = fingerprint('t', sys.argv[1]); print(json.dumps(list(f.keys)))"
    )
    results = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code, TEXT],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env=env,
        )
        results.add(tuple(json.loads(done.stdout)))
    assert results == {fingerprint("t", TEXT).keys}


def test_key_counts_follow_the_scheme() -> None:
    features = fingerprint("t", TEXT)
    assert len(features.band_keys) == 20 + 12
    assert len(features.opening_keys) == 1  # one sentence of twelve words or more
    assert all(-(2**63) <= key < 2**63 for key in features.keys)
    assert fingerprint("t", "").keys == ()
    bare = fingerprint("t", TEXT, link="https://site.ca/a", keys=False)
    assert bare.keys == ()
    assert bare.shingles == features.shingles


def test_shingles_are_order_sensitive_and_short_texts_make_one() -> None:
    forward = sig.shingle_hashes(["tariffs", "on", "canada"], 2).tolist()
    backward = sig.shingle_hashes(["canada", "on", "tariffs"], 2).tolist()
    assert not set(forward) & set(backward)
    assert len(sig.shingle_hashes(["only", "three", "words"], 5)) == 1
    assert len(sig.shingle_hashes([], 5)) == 0


def test_minhash_estimates_jaccard_without_bias() -> None:
    rng = np.random.default_rng(7)
    estimates = []
    for _ in range(200):
        pool = rng.integers(0, 2**63, 800, dtype=np.uint64)
        first, second = pool[:500], pool[300:]  # Jaccard 200 / 800
        estimates.append(estimated_jaccard(sig.signature(first, V1), sig.signature(second, V1)))
    expected = jaccard(set(pool[:500].tolist()), set(pool[300:].tolist()))
    assert expected == pytest.approx(0.25)
    standard_error = (0.25 * 0.75 / V1.num_perm) ** 0.5 / len(estimates) ** 0.5
    assert abs(float(np.mean(estimates)) - expected) < 4 * standard_error


def test_empty_signature_and_width_mismatch() -> None:
    empty = sig.signature(np.zeros(0, dtype=np.uint64), V1)
    assert len(empty) == V1.num_perm
    with pytest.raises(ValueError, match="same"):
        estimated_jaccard(empty, empty[:3])


def test_band_keys_differ_by_kind_band_and_version() -> None:
    values = np.arange(6, dtype=np.uint64)
    full = sig.band_keys(values, b"F", 2, 3, "v1")
    lead = sig.band_keys(values, b"L", 2, 3, "v1")
    other = sig.band_keys(values, b"F", 2, 3, "v2")
    assert len(set(full + lead + other)) == 6


@pytest.mark.parametrize(
    "fields",
    [{"shingle_size": 0}, {"full_bands": 300}, {"lead_min_tokens": 50}, {"opening_tokens": 0}],
)
def test_scheme_rejects_impossible_values(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="SignatureScheme"):
        SignatureScheme(**fields)
