"""Identity keys never merge two different items: fragments, shared links, older key forms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from monitor.dedup.decide import decide
from monitor.dedup.features import fingerprint
from monitor.dedup.keys import (
    entry_key,
    entry_keys,
    guid_key,
    legacy_keys,
    link_identity,
    shared_links,
)
from monitor.dedup.scheme import V1
from monitor.dedup.settings import DedupSettings
from monitor.parse.urls import canonical_url
from monitor.prepare import prepare
from monitor.rules import WatchSpec, compile_watches
from monitor.types import Entry

FEED = "https://lovergne.dev/feed.xml"
WHEN = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)
SETTINGS = DedupSettings()
BODY_A = (
    "A tiny x86 virtual machine written in a weekend, with a debugger that steps through "
    "each instruction and shows the registers, the flags and the stack as it goes along."
)
BODY_B = (
    "Alpine.js adds behaviour to server-rendered pages with a few attributes, no build step "
    "and no virtual DOM, which makes it a good fit for small interactive widgets on blogs."
)


def item(
    title: str,
    summary: str,
    guid: str | None = None,
    link: str | None = None,
    content: str = "",
) -> Entry:
    return Entry(
        feed_url=FEED,
        feed_name="lovergne.dev",
        title=title,
        link=link,
        canonical_link=canonical_url(link) if link else None,
        guid=guid,
        summary=summary,
        content=content,
        published=WHEN,
    )


def test_a_fragment_is_part_of_a_guid() -> None:
    first = guid_key("https://lovergne.dev/awesome#8086-vm", FEED)
    second = guid_key("https://lovergne.dev/awesome#alpine-js", FEED)
    assert first == "url:https://lovergne.dev/awesome#8086-vm"
    assert first != second
    assert first != guid_key("https://lovergne.dev/awesome", FEED)
    # The rest of a URL guid still folds: scheme, www., tracking parameters.
    assert guid_key("http://www.lovergne.dev/awesome?utm_source=rss#8086-vm", None) == first
    assert guid_key("https://battlefieldanomalies.com/?page_id=1073#comment-210324", None) != (
        guid_key("https://battlefieldanomalies.com/?page_id=1073#comment-210335", None)
    )


def test_items_whose_guids_differ_after_the_hash_are_not_duplicates() -> None:
    link = "https://lovergne.dev/awesome"
    stored = fingerprint(
        "8086 VM", BODY_A, link + "#8086-vm", link + "#8086-vm", FEED, doc_id=1, scheme=V1
    )
    incoming = fingerprint("Alpine.js", BODY_B, link + "#alpine-js", link + "#alpine-js", FEED)
    decision = decide(incoming, [stored], SETTINGS)
    assert not decision.is_duplicate, decision.reason
    # The same guid, fragment and all, is still the same item.
    again = fingerprint("8086 VM", BODY_A, link + "#8086-vm", link + "#8086-vm", FEED)
    assert decide(again, [stored], SETTINGS).signal in ("canonical_url", "guid")


def test_entry_keys_keep_guid_and_link_fragments_apart() -> None:
    by_guid = [
        item("8086 VM", BODY_A, guid="https://lovergne.dev/awesome#8086-vm"),
        item("Alpine.js", BODY_B, guid="https://lovergne.dev/awesome#alpine-js"),
    ]
    by_link = [
        item("Ink & Switch", BODY_A, link="https://wiki.xxiivv.com/site/now.html#2026-02-11"),
        item("Sewing Machine", BODY_B, link="https://wiki.xxiivv.com/site/now.html#2026-01-26"),
    ]
    for pair in (by_guid, by_link):
        keys = entry_keys(pair)
        assert len(set(keys)) == 2
        assert keys == [entry_key(e) for e in pair]
    assert link_identity("http://www.wiki.xxiivv.com/site/now.html?utm_medium=rss#x") == (
        "https://wiki.xxiivv.com/site/now.html#x"
    )


def test_a_link_shared_by_different_items_identifies_none_of_them() -> None:
    home = "https://example.org/blog/"
    entries = [
        item("Monday notes", BODY_A, link=home),
        item("Tuesday notes", BODY_B, link=home),
        item("Tuesday notes", BODY_B, link=home),  # a true repeat stays one item
        item("Elsewhere", BODY_A, link="https://example.org/blog/elsewhere"),
    ]
    assert shared_links(entries) == {link_identity(home)}
    keys = entry_keys(entries)
    assert keys[0] != keys[1]
    assert keys[1] == keys[2]
    assert keys[3] == entry_key(entries[3])

    prepared = prepare(entries, compile_watches([WatchSpec("any", "notes")], {}), V1)
    assert [p.entry.title for p in prepared] == ["Monday notes", "Tuesday notes", "Elsewhere"]
    monday, tuesday, elsewhere = (p.features for p in prepared)
    # The shared link is no evidence for the duplicate stage either.
    assert monday.canonical_url is None
    assert tuesday.canonical_url is None
    assert elsewhere.canonical_url == "https://example.org/blog/elsewhere"
    stored = replace(monday, doc_id=1)
    assert not decide(tuesday, [stored], SETTINGS).is_duplicate


def test_the_text_key_covers_the_content() -> None:
    one = item("Release notes", "", content=BODY_A)
    two = item("Release notes", "", content=BODY_B)
    assert entry_key(one) != entry_key(two)


def test_legacy_keys_are_the_older_forms_that_differ_from_todays() -> None:
    fragment = item("Ink", BODY_A, link="https://wiki.xxiivv.com/site/now.html#2026-02-11")
    (older,) = legacy_keys(fragment)
    assert older == entry_key(item("Ink", BODY_A, link="https://wiki.xxiivv.com/site/now.html"))
    assert older != entry_key(fragment)
    # Keys that did not change have no older form.
    assert legacy_keys(item("A", BODY_A, guid="https://lovergne.dev/awesome#8086-vm")) == ()
    assert legacy_keys(item("A", BODY_A, link="https://example.org/a")) == ()
    assert len(legacy_keys(item("Release notes", "", content=BODY_A))) == 1
