"""The query language, one table per concern: what matches and what must not."""

from __future__ import annotations

import pytest

from monitor.types import Entry
from tests.rules.helpers import entry, hit_texts, matches, search

FOLDING = [
    # (query, title, should match)
    ("Mexico", "México says no", True),
    ("méxico", "MEXICO CITY", True),
    ("Montreal", "Montréal police", True),
    ("Zurich", "Zürich bank", True),
    ('"Sao Paulo"', "São Paulo floods", True),
    ("Orsted", "Ørsted wind farm", True),
    ("strasse", "Hauptstraße closed", False),  # a term never matches inside a longer word
    ("Hauptstrasse", "Hauptstraße closed", True),
    ("Mexico", "Me\u0301xico in decomposed form", True),
    ("café", "CAFE owners", True),
    ("ﬁnance", "finance ministers", True),  # compatibility ligature
    ('"T-MEC"', "El T-MEC entra en revisión", True),
    ('"T-MEC"', "El T MEC entra en revisión", True),
    ('"T-MEC"', "El TMEC entra en revisión", True),
    ('"T-MEC"', "El t\u2011mec (non-breaking hyphen)", True),
    ("T-MEC", "El TMEC", True),
    ('"T-MEC"', "T-MECA", False),
    ("U.S.", "US tariffs", True),
    ("U.S.", "U.S. tariffs", True),
    ("U.S.", "u.s. tariffs", True),
    ("US", "U.S. tariffs", True),
    ("US", "US tariffs", True),
    ("US", "bus drivers strike", False),
    ("US", "USA tariffs", False),
    ("US", "music industry", False),
    ("Carney", "Carney's plan", True),
    ("Carney", "Carney’s plan", True),
    ("Carney's", "Carneys plan", True),
    ("Carney's", "Carney's plan", True),
    ("tariff*", "Tariffs rise", True),
    ("tariff*", "goods were tariffed", True),
    ("tariff*", "a tariff", True),
    ("tariff*", "notariffs here", False),
    ("tariff*", "a tarif", False),
    ('"trade war"', "trade-war fears", True),
    ('"trade war"', "Trade, war and peace", True),
    ('"trade war"', "war trade", False),
    ('"trade war"', "trade the war", False),
    ("covid-19", "COVID19 cases", True),
    ("covid-19", "Covid 19 cases", True),
    ("AT&T", "AT&T earnings", True),
    ("and", "rock and roll", True),  # lower-case operators are plain words
    ("or", "rock and roll", False),
]


@pytest.mark.parametrize(("query", "title", "expected"), FOLDING)
def test_folding(query: str, title: str, expected: bool) -> None:
    assert matches(query, entry(title)) is expected


OPERATORS = [
    # (query, title, should match)
    ("canada AND mexico", "Canada and Mexico", True),
    ("canada AND mexico", "Canada alone", False),
    ("canada mexico", "Mexico then Canada", True),
    ("canada mexico", "Mexico alone", False),
    ("canada OR mexico", "Mexico alone", True),
    ("canada OR mexico", "Ottawa alone", False),
    ("canada NOT mexico", "Canada alone", True),
    ("canada NOT mexico", "Canada and Mexico", False),
    ("canada AND NOT mexico", "Canada and Mexico", False),
    ("canada -mexico", "Canada and Mexico", False),
    ("canada -mexico", "Canada alone", True),
    ("canada -(mexico OR ottawa)", "Canada and Ottawa", False),
    ("canada -(mexico OR ottawa)", "Canada and Quebec", True),
    ("canada NOT NOT mexico", "Canada and Mexico", True),
    ("(canada OR ottawa) (tariffs OR duties)", "Ottawa duties", True),
    ("(canada OR ottawa) (tariffs OR duties)", "Ottawa talks", False),
    # OR binds loosest: a b OR c is (a AND b) OR c.
    ("canada trade OR steel", "steel", True),
    ("canada trade OR steel", "canada", False),
    ("canada (trade OR steel)", "steel", False),
    ("+canada +mexico", "Canada and Mexico", True),
    ("+canada +mexico", "Canada", False),
    ("rock and roll", "rock roll", False),  # "and" is a required word here
    ("ANDROID", "Android phones", True),  # keywords must stand alone
    ("NOTE", "a note", True),
    ('"OR"', "Portland, OR police", True),
    ("title:canada OR summary:mexico", "Canada", True),
]


@pytest.mark.parametrize(("query", "title", "expected"), OPERATORS)
def test_operators(query: str, title: str, expected: bool) -> None:
    assert matches(query, entry(title)) is expected


def _words_between(count: int) -> str:
    return "Canada " + " ".join(f"w{index}" for index in range(count)) + " Mexico"


NEAR = [
    # (query, summary, should match)
    ("Canada NEAR/3 Mexico", _words_between(3), True),
    ("Canada NEAR/3 Mexico", _words_between(4), False),
    ("Canada NEAR/0 Mexico", "Canada Mexico", True),
    ("Canada NEAR/0 Mexico", "Canada, Mexico", True),
    ("Canada NEAR/0 Mexico", _words_between(1), False),
    ("Mexico NEAR/3 Canada", _words_between(3), True),  # either order
    ("Canada NEAR/15 Mexico", _words_between(15), True),
    ("Canada NEAR/15 Mexico", _words_between(16), False),
    (
        "(Canada OR Ottawa OR Carney) NEAR/15 (Mexico OR Sheinbaum)",
        "Carney spoke on Monday with Sheinbaum about steel",
        True,
    ),
    (
        "(Canada OR Ottawa OR Carney) NEAR/2 (Mexico OR Sheinbaum)",
        "Carney spoke on Monday with Sheinbaum about steel",
        False,
    ),
    ("Mexico NEAR/5 Mexico", "Mexico alone", False),  # one mention is not two
    ("Mexico NEAR/5 Mexico", "Mexico and Mexico", True),
    ('"New Mexico" NEAR/2 Mexico', "New Mexico", False),  # overlapping hits
    ("(Canada NEAR/1 Mexico) NEAR/3 tariffs", "Canada and Mexico face tariffs", True),
    ("(Canada NEAR/1 Mexico) NEAR/1 tariffs", "Canada and Mexico face new tariffs", False),
    ('"talks resume"~2', "talks will soon resume", True),
    ('"talks resume"~2', "resume the talks", True),  # any order
    ('"talks resume"~1', "talks will soon resume", False),
    ('"talks resume"~0', "resume talks", True),
    ('"talks talks"~3', "talks stalled", False),  # a repeated word must repeat
    ('"talks talks"~3', "talks stalled, talks", True),
    ('"canada mexico tariffs"~3', "tariffs on Mexico hit Canada", True),
    ('"canada mexico tariffs"~1', "tariffs on Mexico hit Canada", False),
    ('"U.S. tariffs"~2', "tariffs from the US", True),
]


@pytest.mark.parametrize(("query", "summary", "expected"), NEAR)
def test_proximity(query: str, summary: str, expected: bool) -> None:
    assert matches(query, entry(summary=summary)) is expected


def test_near_needs_both_hits_in_the_same_field() -> None:
    item = entry("Canada", "Mexico")
    assert not matches("Canada NEAR/50 Mexico", item)
    assert matches("Canada Mexico", item)


def test_near_spans_are_only_the_hits_that_were_near() -> None:
    item = entry(summary="Canada first. " + "filler " * 30 + "Canada and Mexico")
    assert hit_texts("Canada NEAR/2 Mexico", item) == [("summary", "Canada"), ("summary", "Mexico")]
    spans = search("Canada NEAR/2 Mexico", item)
    assert spans is not None
    assert spans[0].start > 100


FIELDS = [
    # (query, entry, should match)
    ("title:canada", entry("Canada"), True),
    ("title:canada", entry("", "Canada"), False),
    ("summary:canada", entry("", "Canada"), True),
    ("summary:canada", entry("", content="Canada in the content"), True),
    ("summary:canada", entry("Canada"), False),
    ("canada", entry("", content="Canada in the content"), True),
    ("source:reuters", entry("x", source="Reuters World"), True),
    ("source:reuters", entry("Reuters says"), False),
    ("reuters", entry("x", source="Reuters World"), False),  # no field: title and body only
    ('source:"globe and mail"', entry("x", source="The Globe and Mail"), True),
    ("url:cbc", entry("x", link="https://www.cbc.ca/news/1"), True),
    ("url:cbc.ca", entry("x", link="https://www.cbc.ca/news/1"), True),
    (
        "url:news",
        entry("x", link="https://a.example/x", canonical_link="https://a.example/news"),
        True,
    ),
    ("url:cbc", entry("cbc", link=None), False),
    ("lang:fr", entry("x", language="fr"), True),
    ("lang:fr", entry("x", language="fr-ca"), True),
    ("lang:fr-CA", entry("x", language="fr-ca"), True),
    ("lang:fr-CA", entry("x", language="fr"), False),
    ("lang:ca", entry("x", language="fr-ca"), False),  # anchored at the start of the tag
    ("lang:fr", entry("x", language="frr"), False),  # whole subtags only
    ("lang:fr", entry("x", language=None), False),
    ("lang:(fr OR es) trade", entry("trade", language="es-mx"), True),
    ("title:(canada OR mexico)", entry("Mexico"), True),
    ("title:(canada OR mexico)", entry("", "Mexico"), False),
    ("TITLE:canada", entry("Canada"), True),  # field names are case-insensitive
    ("summary:(trade title:canada)", entry("Canada", "trade"), True),  # innermost wins
    ("summary:(trade title:canada)", entry("trade", "Canada"), False),
    ("title: canada", entry("Canada"), True),
]


@pytest.mark.parametrize(("query", "item", "expected"), FIELDS)
def test_fields(query: str, item: Entry, expected: bool) -> None:
    assert matches(query, item) is expected


SPANS = [
    # (query, entry, expected (field, original text) of every span)
    ("Mexico", entry("México y Canadá"), [("title", "México")]),
    ('"T-MEC"', entry("", "Revisión del T-MEC."), [("summary", "T-MEC")]),
    ("US", entry("", "U.S. and US"), [("summary", "U.S"), ("summary", "US")]),
    (
        '"trade war"',
        entry("A trade-war", "trade, war"),
        [("title", "trade-war"), ("summary", "trade, war")],
    ),
    ("tariff*", entry("Tariffs and tariffed goods"), [("title", "Tariffs"), ("title", "tariffed")]),
    ("source:reuters", entry("x", source="Thomson Reuters"), [("source", "Reuters")]),
    ("lang:fr", entry("x", language="fr-ca"), [("lang", "fr")]),
    ("url:cbc", entry("x", link="https://cbc.ca/a"), [("url", "cbc")]),
    (
        "canada",
        entry("", "Canada news", content="In Canada today"),
        [("summary", "Canada"), ("content", "Canada")],
    ),
    ("canada", entry("", "Canada", content="Canada, the content"), [("content", "Canada")]),
    ("canada -mexico", entry("Canada", "Ottawa"), [("title", "Canada")]),
    ("canada OR mexico", entry("Canada", "Mexico"), [("title", "Canada"), ("summary", "Mexico")]),
    ("Mexico", entry("Me\u0301xico"), [("title", "Me\u0301xico")]),
    ("istanbul", entry("\u0130STANBUL today"), [("title", "\u0130STANBUL")]),
]


@pytest.mark.parametrize(("query", "item", "expected"), SPANS)
def test_spans_point_into_the_original_strings(
    query: str, item: Entry, expected: list[tuple[str, str]]
) -> None:
    assert hit_texts(query, item) == expected


def test_span_terms_are_the_terms_as_written() -> None:
    spans = search(
        '"T-MEC" OR tariff* OR "talks resume"~3', entry("T-MEC tariffs: talks to resume")
    )
    assert spans is not None
    assert [span.term for span in spans] == [
        '"T-MEC"',
        "tariff*",
        '"talks resume"~3',
        '"talks resume"~3',
    ]


ALIAS_MEMBERS = [
    ("USMCA review", "USMCA"),
    ("CUSMA review", "CUSMA"),
    ("Revisión del T-MEC", "T-MEC"),
    ("Revisión del TMEC", "T-MEC"),
    ("L'ACEUM", "ACEUM"),
    ("the United States-Mexico-Canada Agreement", "United States-Mexico-Canada Agreement"),
    ("the United States Mexico Canada agreement", "United States-Mexico-Canada Agreement"),
    ("the Canada-U.S.-Mexico Agreement", "Canada-U.S.-Mexico Agreement"),
    ("the Canada-US-Mexico agreement", "Canada-U.S.-Mexico Agreement"),
]


@pytest.mark.parametrize(("title", "member"), ALIAS_MEMBERS)
def test_alias_members(title: str, member: str) -> None:
    spans = search("@usmca", entry(title))
    assert spans is not None
    assert [span.term for span in spans] == [member]


ALIASES = [
    ("@usmca", entry("Free trade review"), False),
    ("@USMCA", entry("CUSMA"), True),  # alias names are case-insensitive
    ("title:@usmca", entry("", "CUSMA"), False),
    ("title:@usmca", entry("CUSMA"), True),
    ("@usmca NEAR/3 review", entry("", "the CUSMA joint review"), True),
    ("@usmca -@leaders", entry("CUSMA tariffs"), False),  # tariff* is a leaders member
    ("@usmca -@leaders", entry("CUSMA review"), True),
    ("@leaders", entry("tariffed goods"), True),
]


@pytest.mark.parametrize(("query", "item", "expected"), ALIASES)
def test_aliases(query: str, item: Entry, expected: bool) -> None:
    assert matches(query, item) is expected
