"""Text as duplicate detection sees it: furniture removed, spelling folded, tokens.

Two copies of one wire story differ in ways a reader ignores: a photo caption
glued to the top ("Open this photo in gallery:" and its caption line), a byline,
a dateline ("OTTAWA, Aug 5 (Reuters) -"), a "(Reporting by …)" trailer, house
style ("per cent" or "%", "U.S." or "US", "Mr. Carney" or "Carney"), curly or
straight quotes, accents. :func:`prepare` removes or folds all of that and
returns the word tokens that shingles, hashes and MinHash signatures are built
from. It works in three steps:

1. :func:`clean_paragraphs` drops furniture *lines* (captions, bylines,
   timestamps, credits, related-link headlines) and the leading dateline,
   keeping case, because case is what tells a dateline or a byline apart;
2. :func:`split_sentences` cuts the cleaned paragraphs into sentences, so the
   *lead* (the first sentence or two) can be located: a feed summary is almost
   always the lead of the article it summarises;
3. :func:`tokens` folds case and accents and house style, then splits words.

Nothing here is clever about language; every rule is deliberately narrow,
because a rule that removes real text from one copy and not the other would
hide duplicates, and one that removes too much from both would merge stories.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

_MONTHS = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_AGENCIES = (
    r"(?:Reuters|AP|AFP|CP|Bloomberg|The Canadian Press|The Associated Press|Xinhua|EFE|dpa"
    r"|Canadian Press|Associated Press)"
)

# Lines that are page furniture in their entirety (compared case-insensitively,
# trailing colon and whitespace ignored).
_FURNITURE_EXACT = frozenset(
    {
        "image",
        "photo",
        "video",
        "audio",
        "advertisement",
        "skip advertisement",
        "story continues below advertisement",
        "article continues below advertisement",
        "listen to this article",
        "share",
        "share this article",
        "copy link",
        "read more",
        "related",
        "related stories",
        "recommended",
        "most read",
        "comments",
        "trending",
        "latest",
    }
)

_FURNITURE_EXACT_LENGTH = max(map(len, _FURNITURE_EXACT))

# Lines that are furniture because of how they start or what they say.
# One alternation, so a line costs one regex search rather than a dozen.
_FURNITURE_PATTERNS = re.compile(
    "|".join(
        f"(?:{pattern})"
        for pattern in (
            r"^\(?(?:additional )?(?:reporting|writing|editing|compiled|research|"
            r"graphics|production) by\b",
            r"^[-—–]*\s*with files from\b",
            r"^this (?:report|article|story) (?:by|from) (?:the )?canadian press was first published\b",
            r"^our standards:",
            r"^sign up\b",
            r"^subscribe\b",
            r"^(?:continue|keep) reading\b",
            r"^the post .{1,300} appeared first on .{1,200}$",
            r"^\d+\s*min(?:ute)?s? read$",
            r"^(?:photo|credit|image|caption)s?\s*(?::|by\b)",
            r"^\(?(?:photo|credit)\)?\s*[:/]",
        )
    ),
    re.IGNORECASE,
)

# "Updated 3 hours ago", "Published 2025-08-05 10:12": short stamp lines.
_STAMP_LINE = re.compile(
    r"^(?:published|updated|posted|last updated)\b.{0,40}(?:ago|\d{4}|[ap]\.?m\.?.{0,6})$",
    re.IGNORECASE,
)
_STAMP_MAX_WORDS = 8

# A line that is only a date, optionally with a time and time zone:
# "Sept. 18, 2025, 5:04 a.m. ET", "Aug 5, 2025", "Updated Aug. 5".
_TIMESTAMP_LINE = re.compile(
    r"^(?:(?:published|updated|posted|last updated)\s*:?\s*)?(?:on\s+)?"
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
    rf"{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s*(?:\d{{4}})?,?\s*"
    r"(?:(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)?\s*[a-z]{0,4})?\.?$",
    re.IGNORECASE,
)

# A byline line: "By Jane Doe", "By Jane Doe and John Roe, Reuters". Short and
# without a sentence ending, so "By Tuesday, the talks had stalled." survives.
_BYLINE = re.compile(r"^by\s+\S", re.IGNORECASE)
_BYLINE_MAX_WORDS = 12

# The dateline that opens a wire story's first paragraph. Upper-case places
# need nothing more ("OTTAWA —"); a mixed-case place needs a date or an agency
# after it ("Ottawa, Aug. 5 —"), or "Canada's economy — battered…" would go.
_DATELINE = re.compile(
    r"^(?:"
    r"[A-Z][A-Z.'’/ -]{1,40}?(?:,\s*[A-Z][A-Za-z.]{1,20})?"
    rf"(?:,\s*{_MONTHS}\.?\s+\d{{1,2}}(?:,\s*\d{{4}})?)?"
    rf"\s*(?:\({_AGENCIES}\))?\s*[-—–]{{1,2}}\s+"
    rf"|[A-Z][a-z]+(?:[ /][A-Z][a-z]+){{0,2}},\s*{_MONTHS}\.?\s+\d{{1,2}}(?:,\s*\d{{4}})?"
    rf"\s*(?:\({_AGENCIES}\))?\s*[-—–]{{1,2}}\s+"
    rf"|[A-Z][a-z]+(?:[ /][A-Z][a-z]+){{0,2}}\s*\({_AGENCIES}\)\s*[-—–]{{1,2}}\s+"
    rf"|\(?{_AGENCIES}\)?\s*[-—–:]{{1,2}}\s+"
    r")"
)

# How many leading paragraphs may open with a dateline.
_DATELINE_PARAGRAPHS = 3

# A paragraph without sentence punctuation and this short is a headline: a
# subhead or a "related story" link dropped into the body by the publisher.
_HEADLINE_MAX_WORDS = 20
_SENTENCE_END = (".", "!", "?", "…", '"', "”", "’", "'", ":", ";", ")")

# Sentence boundary: end punctuation, optional closing quote, space, then a
# capital or digit or opening quote. Abbreviations are re-joined afterwards.
# The break is group 1 (what a split drops); the end punctuation opens the pattern
# rather than sitting in a look-behind, so the engine skips to it in C instead of
# trying the look-behind at every character (a split took 3.6 us a Reuters summary,
# this 2.2 us).
_SENTENCE_BREAK = re.compile(r"[.!?…]([\"'”’)\]]*\s+)(?=[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "sen",
        "gov",
        "rep",
        "gen",
        "lt",
        "col",
        "capt",
        "prof",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "no",
        "vs",
        "inc",
        "corp",
        "co",
        "ltd",
        "jr",
        "sr",
        "ont",
        "que",
        "alta",
        "b.c",
        "u.s",
        "u.k",
        "u.n",
        "a.m",
        "p.m",
        "e.g",
        "i.e",
    }
)
_LAST_WORD = re.compile(r"([A-Za-z.]+)\.[\"'”’)\]]*$")

# Folding for tokens: typographic punctuation to ASCII, possessive 's dropped,
# other apostrophes closed up ("don't" is "dont" in every copy).
_PUNCT = (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"'), ("—", " "), ("–", " "), ("‑", "-"))
_POSSESSIVE = re.compile(r"'s\b")
# Combining marks left by NFKD decomposition: accents, cedillas, tildes.
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# A word, a dotted acronym (tried first at a letter: "u.s."), a number with
# separators and decimals ("1,200.50", "35th"), or a percent sign.
_TOKEN = re.compile(r"[a-z](?:(?:\.[a-z])+\.?|[a-z0-9]*)|\d[\d,]*(?:\.\d+)?[a-z]*|%")
# Courtesy titles are house style (NYT writes "Mr. Carney", wires "Carney").
_DROPPED_TOKENS = frozenset({"mr", "mrs", "ms", "dr"})
_SPECIAL_TOKENS = _DROPPED_TOKENS | {"cent"}

_WEEKDAYS = frozenset(
    {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)
# Month names that are not also everyday words ("may", "march" are left out).
_FACT_MONTHS = frozenset(
    {
        "january",
        "february",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "apr",
        "jun",
        "jul",
        "aug",
        "sept",
        "oct",
        "nov",
        "dec",
    }
)


_DATE_WORDS = _WEEKDAYS | _FACT_MONTHS


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A body reduced to comparison tokens, with the extent of its lead."""

    tokens: tuple[str, ...]
    """Folded word tokens of the whole cleaned body, in order."""
    lead_length: int
    """How many of ``tokens`` form the lead (a prefix of the body)."""
    opening: tuple[tuple[str, ...], ...] = ()
    """Tokens of the first few sentences long enough to identify a story."""
    names: frozenset[str] = frozenset()
    """The words of the body's head written as names (see :func:`name_words`)."""


def _is_furniture(line: str) -> bool:
    stripped = line.strip().rstrip(":").strip()
    # Lower case never makes a string shorter: a longer line is none of the exact ones.
    if len(stripped) <= _FURNITURE_EXACT_LENGTH and stripped.lower() in _FURNITURE_EXACT:
        return True
    # match, not search: every alternative is anchored at the start (checked in the
    # tests), and search would try each later position of the line to no avail.
    if _FURNITURE_PATTERNS.match(stripped):
        return True
    if _TIMESTAMP_LINE.match(stripped):
        return True
    if _STAMP_LINE.match(stripped) and len(stripped.split()) <= _STAMP_MAX_WORDS:
        return True
    return bool(
        _BYLINE.match(stripped)
        and len(stripped.split()) <= _BYLINE_MAX_WORDS
        and not stripped.endswith((".", "!", "?"))
    )


def _is_headline(line: str) -> bool:
    stripped = line.strip()
    # maxsplit: a line of more words still yields more pieces than the limit.
    return len(stripped.split(None, _HEADLINE_MAX_WORDS)) <= _HEADLINE_MAX_WORDS and not (
        stripped.endswith(_SENTENCE_END)
    )


def strip_dateline(paragraph: str) -> str:
    """``paragraph`` without a leading wire dateline or agency tag."""
    match = _DATELINE.match(paragraph)
    if match is None or match.end() >= len(paragraph):
        return paragraph
    return paragraph[match.end() :]


def clean_paragraphs(text: str) -> list[str]:
    """The body's paragraphs with furniture lines and the dateline removed.

    One line is one paragraph (feeds flatten HTML to lines). A line right after
    "Open this photo in gallery:" is that photo's caption and goes too.
    Headline-like lines (short, no sentence punctuation) go only when real
    sentences remain, so a summary that is a bare headline survives.
    """
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
    kept: list[str] = []
    skip_caption = False
    for line in lines:
        if not line:
            continue
        if skip_caption:
            skip_caption = False
            continue
        if line.lower().startswith("open this photo in gallery"):
            skip_caption = True
            continue
        if _is_furniture(line):
            continue
        kept.append(line)
    sentences_only = [line for line in kept if not _is_headline(line)]
    if sentences_only:
        kept = sentences_only
    # The dateline opens the first paragraph, unless an unrecognised caption or
    # deck came first: look a little further.
    for position in range(min(_DATELINE_PARAGRAPHS, len(kept))):
        kept[position] = strip_dateline(kept[position])
    return kept


def _split_at_breaks(paragraph: str) -> list[str]:
    """``paragraph`` cut at its sentence breaks, the breaks left out."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(paragraph):
        pieces.append(paragraph[start : match.start(1)])
        start = match.end(1)
    pieces.append(paragraph[start:])
    return pieces


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph; abbreviations ("Mr.", "Sept.", "U.S.") do not end one."""
    pieces = _split_at_breaks(paragraph)
    sentences: list[str] = []
    for piece in pieces:
        if sentences:
            last_sentence = sentences[-1]
            # The match holds no space, so the search can start at the last one:
            # the same match, without trying every earlier position.
            match = _LAST_WORD.search(last_sentence, max(last_sentence.rfind(" "), 0))
            last = match.group(1).lower() if match else ""
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                sentences[-1] = f"{sentences[-1]} {piece}"
                continue
        sentences.append(piece)
    return [sentence for sentence in sentences if sentence.strip()]


def normalise(text: str) -> str:
    """Case- and accent-folded text with typographic quotes and dashes made plain."""
    if not text.isascii():
        # str.replace is far quicker than str.translate on non-ASCII strings.
        for old, new in _PUNCT:
            text = text.replace(old, new)
        if not text.isascii():
            text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _POSSESSIVE.sub("", text.casefold()).replace("'", "")


def tokens(text: str) -> list[str]:
    """Folded word tokens of ``text``.

    Dotted acronyms are joined (``U.S.M.C.A.`` is ``usmca``), thousands
    separators dropped, ``%`` and ``per cent`` both become ``percent``, and
    courtesy titles are dropped (house style: "Mr. Carney" or "Carney").
    """
    found_all: list[str] = _TOKEN.findall(normalise(text))
    if _SPECIAL_TOKENS.isdisjoint(found_all):
        # Without a courtesy title or "cent", each token folds on its own, with no
        # look at its neighbours: the loop below would give the same list. Tokens
        # are never empty, so the joined string is alphanumeric only when each is.
        if "".join(found_all).isalnum():
            return found_all
        return [found if found.isalnum() else _fold(found) for found in found_all]
    words: list[str] = []
    append = words.append
    for found in found_all:
        # Plain words (almost all of them) take the first branch only.
        if found.isalnum() and found not in _SPECIAL_TOKENS:
            append(found)
        elif found in _DROPPED_TOKENS:
            continue
        elif found == "%":
            append("percent")
        elif found == "cent":
            if words and words[-1] == "per":
                words[-1] = "percent"
            else:
                append(found)
        elif "." in found and not found[0].isdigit():
            append(found.replace(".", ""))
        else:
            append(found.replace(",", ""))
    return words


def _fold(found: str) -> str:
    # A token that is not a plain word: "%", a dotted acronym or a number with
    # separators (the branches of tokens() after its special words).
    if found == "%":
        return "percent"
    if "." in found and not found[0].isdigit():
        return found.replace(".", "")
    return found.replace(",", "")


def prepare(
    text: str,
    lead_min_tokens: int,
    lead_max_tokens: int,
    opening_sentences: int = 0,
    opening_min_tokens: int = 1,
    name_limit: int = 0,
) -> PreparedText:
    """Clean ``text``, tokenise it and mark its lead and its opening sentences.

    The lead is the first sentence, extended sentence by sentence until it has
    ``lead_min_tokens`` tokens (a one-line opener is too little to recognise a
    story by), and cut at ``lead_max_tokens``. Both copies of a story and a
    summary made of the article's opening sentences get the same lead.

    The opening is the first ``opening_sentences`` sentences with at least
    ``opening_min_tokens`` tokens: when a deck or an unrecognised caption comes
    first, the real first sentence is still among them.

    The names are those of the first ``name_limit`` words.
    """
    paragraphs = clean_paragraphs(text)
    body = tokens("\n".join(paragraphs))
    lead_length = 0
    lead_open = True
    opening: list[tuple[str, ...]] = []
    for sentence in _sentences(paragraphs):
        if not lead_open and len(opening) >= opening_sentences:
            break
        words = tokens(sentence)
        if lead_open:
            lead_length += len(words)
            lead_open = lead_length < lead_min_tokens
        if len(words) >= opening_min_tokens and len(opening) < opening_sentences:
            opening.append(tuple(words))
    return PreparedText(
        tokens=tuple(body),
        lead_length=min(lead_length, lead_max_tokens, len(body)),
        opening=tuple(opening),
        names=name_words(" ".join(paragraphs), name_limit) if name_limit else frozenset(),
    )


def _sentences(paragraphs: Iterable[str]) -> Iterator[str]:
    for paragraph in paragraphs:
        yield from split_sentences(paragraph)


def text_hash(words: Sequence[str]) -> str:
    """Hex digest of the token sequence: equal for texts equal after folding."""
    digest = hashlib.blake2b(
        " ".join(words).encode("utf-8"), digest_size=16, person=b"monitor-texthash"
    )
    return digest.hexdigest()


def facts(words: Iterable[str]) -> frozenset[str]:
    """Tokens that pin a story to its event: numbers, weekdays, month names.

    Two reports on one topic from different days read alike but differ here
    ("rose 0.4 percent on Tuesday" / "fell 0.2 percent on Wednesday").
    """
    distinct = set(words)
    return frozenset(word for word in distinct if word[0].isdigit()) | (distinct & _DATE_WORDS)


def strip_publisher(title: str, source: str | None = None) -> str:
    """``title`` without a trailing " - Publisher" or " | Publisher" suffix.

    Aggregators (Google News above all) append the outlet's name, so the same
    headline from ten outlets would otherwise read as ten headlines. The suffix
    goes when it is the feed's own name (``source``) or when it is shaped like a
    name: at most five words, each capitalised (or a connector such as "of"),
    no sentence punctuation, after a headline of at least three words. "Talks
    resume - witness" and "Hit - And - Run Accident , Driver Charged" keep theirs.
    """
    stripped = title.strip()
    separators = list(_SUFFIX_SEPARATOR.finditer(stripped))
    if not separators:
        return stripped
    last = separators[-1]
    head, suffix = stripped[: last.start()].strip(), stripped[last.end() :].strip()
    if source and suffix.casefold() == source.strip().casefold():
        return head
    if len(head.split()) >= _MIN_HEADLINE_WORDS and _PUBLISHER_NAME.fullmatch(suffix):
        return head
    return stripped


def title_tokens(title: str, source: str | None = None) -> frozenset[str]:
    """Content words of a headline, without a trailing " - Publisher" suffix."""
    return frozenset(
        token for token in tokens(strip_publisher(title, source)) if token not in _TITLE_STOPWORDS
    )


def name_words(text: str, limit: int) -> frozenset[str]:
    """Folded tokens of the words written with a capital inside a sentence (not as its
    first word) among the first ``limit`` words of ``text``: the people, places and
    bodies a text names, as opposed to what it says happened to them."""
    # maxsplit: the first ``limit`` words are the same, without splitting the rest.
    words = text.split(None, limit)[:limit]
    # A word starts a sentence when it is the first or the word before it ends one.
    return frozenset(
        token
        for before, word in zip([".", *words], words, strict=False)  # one longer
        if word[:1].isupper() and not before.endswith(_NAME_BREAK)
        for token in _word_tokens(word)
    )


@lru_cache(maxsize=1 << 14)
def _word_tokens(word: str) -> tuple[str, ...]:
    # Names recur from item to item ("Reuters", "U.S.", "Trump"): fold each once.
    return tuple(tokens(word))


def stem(word: str) -> str:
    """A crude common stem, enough to tell that two headlines share a word: "arrests" and
    "arrest", "Australians" and "Australia", "investigation" and "investigate"."""
    if len(word) <= _STEM_LENGTH and len(word) > 3:
        word = word.removesuffix("s")
    return word[:_STEM_LENGTH]


def content_words(words: Iterable[str]) -> frozenset[str]:
    """The tokens that say what a text is about: no function words, no one-letter words."""
    # Each distinct word once, the set difference in C; the length test is needed
    # only when a word of one character or none is left (one letter or digit, the
    # only ones a token can be, go with the function words).
    kept = set(words) - _FUNCTION_AND_SHORT_WORDS
    if kept and min(map(len, kept)) < 2:
        return frozenset(word for word in kept if len(word) > 1)
    return frozenset(kept)


_STEM_LENGTH = 6
# After these a capital starts a sentence or a quotation, and says nothing of a name.
_NAME_BREAK = (".", "!", "?", "…", ":", '."', ".”", "?”", '?"', "!”", '!"', "—", "-", "–")
_SUFFIX_SEPARATOR = re.compile(r"\s+[-|—–]\s+")
_MIN_HEADLINE_WORDS = 3
# One to five name words: capitalised, all capitals, a domain ("CBC.ca") or a
# connector; "The Globe and Mail", "Radio-Canada", "The Times of India", "CNN".
_NAME_WORD = r"(?:[A-Z0-9][\w.'’&-]*|of|the|and|de|du|la|le|el|des|del|for|on|in|&)"
_PUBLISHER_NAME = re.compile(rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,4}}")


_TITLE_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "at",
        "by",
        "with",
        "as",
        "is",
        "are",
        "be",
        "from",
        "its",
        "it",
        "that",
        "this",
        "after",
        "over",
        "says",
        "said",
    }
)

# Function words: what a sentence is built with rather than what it is about.
# Measured on ECB+ (bench/grouping.py), content-word overlap of headlines and
# leads tells same-event articles from same-topic ones; these words only blur it.
_FUNCTION_WORDS = _TITLE_STOPWORDS | frozenset(
    re.findall(
        r"\S+",
        """but was were been being he she they we you his her their our your not no has have
        had will would can could may might do does did than then there here about into up out
        who whom which what when where why how all any some more most other such only own same
        so too very just also new one two him them us me my mine""",
    )
)

_FUNCTION_AND_SHORT_WORDS = _FUNCTION_WORDS | frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
