"""Word forms: what ``export+`` expands to.

A prefix wildcard (``import*``) matches every word that starts with the
letters, and many words start with letters they have nothing to do with:
"important", "tariffication" is fine, "canadair" is not. The forms operator
matches the word and its *regular inflections* only, built from a closed list
of endings, so ``import+`` matches "import", "imports", "imported",
"importing", "importer", "importers" and never "important" or "importance".

The endings are the regular English ones, with the usual spelling changes,
plus the plural endings French and Spanish share with them:

* ``-s`` (plural, third person): export → exports; ``-es`` after the
  letters that take it in English or Spanish (tax → taxes, arancel →
  aranceles; not after ``t``: Spanish "importes" are amounts); ``-x`` after
  ``au``/``eu`` (French: bateau → bateaux);
* ``-ed``, ``-ing``, ``-er``, ``-ers``, ``-ings``: exported, exporting, exporter;
* a final ``e`` is dropped before an ending that starts with a vowel
  (trade → trading, traded, trader) and kept before ``-s`` (trades);
* a final consonant after a single vowel may double before ``-ed`` and
  ``-ing`` (ship → shipped, shipping; ban → banned), not before ``-er``
  ("banner" is another word: write ``shipper+`` out when you want it);
* a final ``y`` after a consonant becomes ``i`` (supply → supplies,
  supplied, supplier).

French and Spanish feminine and verb endings are left out on purpose: in
those languages they make other words (``import+`` with ``-e``/``-a`` would
match French "n'importe" and Spanish "importa", "it matters"). Write such
forms out (``importación``, ``importaciones``) or in an alias group.

The forms are generated on folded words (lower case, no accents), so they
match accented text as every other term does. Some generated strings are not
words at all ("visitted"); they cost nothing and never match anything real.
"""

from __future__ import annotations

MIN_STEM = 3
"""Letters or digits a word needs before ``+``: endings on shorter words make too many other words."""

_VOWELS = frozenset("aeiou")
_VERB_ENDINGS = ("ed", "ing", "ings", "er", "ers")
# "-es" only where English or Spanish put it: taxes, boxes, churches, heroes;
# aranceles, naciones, mujeres. Not after "t": Spanish "importes" are amounts.
_ES_AFTER = ("s", "x", "z", "ch", "sh", "o", "l", "n", "r", "d", "j")


def _doubles(stem: str) -> bool:
    """Whether the last consonant of ``stem`` may double before -ed/-ing (ship -> shipping)."""
    if len(stem) < 3:
        return False
    last, vowel, before = stem[-1], stem[-2], stem[-3]
    return (
        last.isalpha()
        and last not in _VOWELS
        and last not in "wxy"
        and vowel in _VOWELS
        and before not in _VOWELS
    )


def word_forms(stem: str) -> tuple[str, ...]:
    """The folded word ``stem`` and its regular inflections, ``stem`` first."""
    forms: dict[str, None] = {stem: None, stem + "s": None}
    if stem.endswith(_ES_AFTER):
        forms[stem + "es"] = None
    if stem.endswith(("au", "eu")):
        forms[stem + "x"] = None
    if stem.endswith("e"):
        base = stem[:-1]
    elif len(stem) > 1 and stem.endswith("y") and stem[-2] not in _VOWELS:
        base = stem
        forms[stem[:-1] + "ies"] = None
        for ending in ("ed", "er", "ers"):
            forms[stem[:-1] + "i" + ending] = None
    else:
        base = stem
    for ending in _VERB_ENDINGS:
        forms[base + ending] = None
    if _doubles(stem):
        for ending in ("ed", "ing", "ings"):
            forms[stem + stem[-1] + ending] = None
    return tuple(forms)
