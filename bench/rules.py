"""Benchmark of the watch-rule engine: ``python bench/rules.py``.

Generates (seeded, so every run sees the same data) 1,000 watches mixing
terms, phrases, aliases, ``NEAR``, fields, ``NOT``, wildcards, loose phrases,
exclude queries and minimum scores over a vocabulary of news words, places,
people and companies, and 20,000 news-like entries (a title, a 60-word
summary, a source, a link, a language). Then it times:

* ``RuleSet.match`` - the indexed path - over every entry, :data:`PASSES` times
  (each pass printed; the figure is their median);
* ``RuleSet.match_unindexed`` - every rule evaluated on every entry, the
  entry still folded once - over a sample of the entries (it is too slow for
  all of them; the sample size is printed);

checks both give identical results on the sample, and prints entries/s for
each and their ratio. Rates are given in wall time and in the process's CPU
time: the machine is often shared, and CPU time is what one core spends. Even
CPU time moves by a quarter from one run to the next on a shared virtual machine
(the same build, minutes apart), so the indexed figure is the median of several
passes, not one; the first pass is printed too (it is the only one to meet a word
for the first time, and is at most a few per cent slower for it).
The cyclic collector is set as in the parser processes that match a poll's
entries (:func:`monitor.collector.collect_less`): 1-2 % of the figure.
Targets: >= 20,000 entries/s indexed with 1,000 rules on one core (CPU time;
issue #14's figure), and >= 10x the unindexed loop (CPU time). Exit status 1
when a target is missed.
"""

from __future__ import annotations

import itertools
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.collector import collect_less
from monitor.rules import RuleSet, WatchSpec, compile_watches
from monitor.types import Entry

SEED = 20250301
WATCHES = 1_000
ENTRIES = 20_000
NAIVE_SAMPLE = 1_000
PASSES = 5
TARGET_RATE = 20_000.0
TARGET_RATIO = 10.0


def _words(text: str) -> list[str]:
    """A vocabulary list written as text (underscores join multi-word names)."""
    return text.split()


PLACES = _words(
    """Canada Ottawa Toronto Montréal Québec Vancouver Alberta Mexico Monterrey Jalisco
Washington Texas California Ohio Michigan Detroit Chicago Brussels Berlin Paris Lyon Madrid
Barcelona Lisbon Rome Milan Vienna Zürich Geneva Warsaw Kyiv Moscow Ankara Istanbul Cairo Lagos
Nairobi Johannesburg Riyadh Dubai Doha Tehran Baghdad Delhi Mumbai Karachi Dhaka Beijing
Shanghai Shenzhen Taipei Seoul Tokyo Osaka Manila Jakarta Hanoi Bangkok Sydney Melbourne
Auckland Santiago Lima Bogotá Caracas Brasília São_Paulo Buenos_Aires Havana Panama Reykjavík
Oslo Stockholm Helsinki Copenhagen Dublin London Edinburgh Athens Budapest Prague Bucharest
Greenland Arctic Gaza Sudan Yemen Haiti"""
)

PEOPLE = _words(
    """Carney Poilievre Sheinbaum Trump Vance Rubio Bessent Powell Lagarde Bailey Ueda
Macron Merz Starmer Meloni Sánchez Tusk Orbán Erdoğan Zelensky Putin Netanyahu Modi Xi
Ishiba Albanese Lula Milei Petro Ramaphosa Guterres Georgieva Musk Zuckerberg Bezos Altman
Huang Cook Nadella Pichai Dimon Buffett Ford Smith Legault Eby"""
)

COMPANIES = _words(
    """Apple Microsoft Nvidia Tesla Amazon Alphabet Meta OpenAI Anthropic TSMC Samsung
Intel AMD Qualcomm Broadcom Huawei BYD Toyota Honda Volkswagen Stellantis GM Ford_Motor Airbus
Boeing Bombardier Siemens Shell BP Exxon Chevron Enbridge Suncor Glencore Rio_Tinto BHP Nestlé
Unilever L'Oréal LVMH Pfizer Moderna AstraZeneca Novartis Roche JPMorgan Goldman HSBC Barclays
RBC TD Desjardins Shopify Spotify Netflix Disney Walmart Costco Loblaw Couche-Tard CN_Rail
CPKC Air_Canada WestJet Lufthansa Maersk Cargill Bayer BASF ArcelorMittal Alcoa Teck"""
)

TOPICS = _words(
    """tariff tariffs trade exports imports duties quota steel aluminum lumber dairy autos
election vote ballot parliament senate court ruling lawsuit verdict appeal inflation prices
rates interest bank budget deficit debt bonds yields currency peso loonie euro dollar yen
jobs unemployment wages strike union layoffs merger acquisition takeover deal IPO earnings
profit revenue forecast outlook recession growth GDP sanctions ceasefire talks summit treaty
accord embargo pipeline oil gas LNG mining lithium nickel copper uranium wildfire flood
drought hurricane earthquake heatwave emissions climate carbon subsidy investment factory
plant chips semiconductors AI cybersecurity hack outage recall probe antitrust regulator
privacy data immigration border asylum migrants visas fentanyl cartel security defence NATO
military drone missile"""
)

FILLER = _words(
    """the a an of to in on for with by at from as and or but that which who said says
will would could may might has have had was were is are be been being after before over
under about against between during amid while since until this these those its their his
her it they he she we officials statement reported according sources people week month year
Monday Tuesday Wednesday Thursday Friday new more most other than also not no into up down
two three first last government minister president company analysts market markets"""
)

OUTLETS = _words(
    """Reuters Associated_Press CBC_News Globe_and_Mail Financial_Times Bloomberg BBC
Le_Devoir La_Presse El_Universal Milenio Der_Spiegel Le_Monde Nikkei Al_Jazeera"""
)

LANGUAGES = ["en", "en", "en", "en-us", "en-ca", "fr", "fr-ca", "es", "es-mx", "de"]

ALIASES: dict[str, list[str]] = {
    "usmca": [
        "USMCA",
        "CUSMA",
        "T-MEC",
        "ACEUM",
        "United States-Mexico-Canada Agreement",
        "Canada-U.S.-Mexico Agreement",
    ],
    "fed": ["Federal Reserve", "the Fed", "FOMC", "Powell"],
    "ecb": ["ECB", "European Central Bank", "Lagarde"],
    "boc": ["Bank of Canada", "Macklem"],
    "eu": ["EU", "European Union", "Brussels", "European Commission"],
    "us": ["U.S.", "United States", "Washington", "American"],
    "ai": ["AI", "artificial intelligence", "machine learning", "LLM*"],
    "autos": ["autos", "automakers", "car*", "vehicle*", "EV", "EVs"],
    "energy": ["oil", "gas", "LNG", "pipeline*", "crude"],
    "metals": ["steel", "aluminum", "aluminium", "copper", "nickel", "lithium"],
    "weather": ["wildfire*", "flood*", "hurricane*", "heatwave", "drought"],
    "chips": ["chip*", "semiconductor*", "TSMC", "Nvidia"],
}


def _word(text: str) -> str:
    return text.replace("_", " ")


_SYLLABLES = _words(
    """ka ro mi ta len vor ne sa dri ko pel tu ban zi mar go lis the qua
nor vex tal bri sen dal for kin rav to lu mo"""
)


def _synthetic_names(rng: random.Random, count: int, suffixes: tuple[str, ...]) -> list[str]:
    """Invented proper names: the long tail of places, people and firms in real news."""
    names: dict[str, None] = {}
    while len(names) < count:
        stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        suffix = rng.choice(suffixes)
        names[stem.capitalize() + (f"_{suffix}" if suffix else "")] = None
    return list(names)


def _zipf(count: int) -> list[float]:
    return [1.0 / (rank + 1) ** 0.8 for rank in range(count)]


class Vocabulary:
    """The words watches and entries are made of.

    Each entity list is the real names above followed by a long tail of
    invented ones. Entries draw entities and topics Zipf-weighted (a few
    names dominate the news); watches pick them uniformly (people watch the
    long tail too).
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.places = PLACES + _synthetic_names(rng, 500, ("", "", "City", "Bay"))
        self.people = PEOPLE + _synthetic_names(rng, 500, ("",))
        self.companies = COMPANIES + _synthetic_names(rng, 500, ("", "Corp", "Group"))
        self.topics = list(TOPICS)
        self.ranked = [_word(name) for name in PLACES + PEOPLE + COMPANIES]
        rng.shuffle(self.ranked)
        self.ranked += [
            _word(name)
            for name in self.places + self.people + self.companies
            if name not in PLACES + PEOPLE + COMPANIES
        ]
        rng.shuffle(self.topics)
        self.entity_weights = list(itertools.accumulate(_zipf(len(self.ranked))))
        self.topic_weights = list(itertools.accumulate(_zipf(len(self.topics))))

    def entity_pool(self) -> list[str]:
        return self.rng.choice((self.places, self.people, self.companies))

    def entity(self) -> str:
        return self.rng.choices(self.ranked, cum_weights=self.entity_weights)[0]

    def topic(self) -> str:
        return self.rng.choices(self.topics, cum_weights=self.topic_weights)[0]


def _term(rng: random.Random, pool: list[str]) -> str:
    """A query term for a vocabulary word: quoted when it has spaces, sometimes a prefix."""
    word = _word(rng.choice(pool))
    if " " in word or "'" in word:
        return f'"{word}"'
    if len(word) > 5 and rng.random() < 0.15:
        return word[: len(word) - 1] + "*"
    return word


def _group(rng: random.Random, pool: list[str], size: int) -> str:
    terms = list(dict.fromkeys(_term(rng, pool) for _ in range(size)))
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def _query(vocabulary: Vocabulary) -> str:
    """One realistic watch query."""
    rng = vocabulary.rng
    entities = vocabulary.entity_pool()
    kind = rng.randrange(12)
    if kind == 0:
        return _term(rng, entities)
    if kind == 1:
        return (
            f"{_group(rng, entities, rng.randint(2, 4))} {_group(rng, TOPICS, rng.randint(1, 3))}"
        )
    if kind == 2:
        left = _group(rng, entities, rng.randint(1, 3))
        right = _group(rng, vocabulary.entity_pool(), rng.randint(1, 3))
        return f"{left} NEAR/{rng.choice((5, 10, 15, 25))} {right}"
    if kind == 3:
        return (
            f'"{_word(rng.choice(TOPICS))} {_word(rng.choice(TOPICS))}" AND {_term(rng, entities)}'
        )
    if kind == 4:
        alias = rng.choice(sorted(ALIASES))
        return f"@{alias} AND {_group(rng, TOPICS + entities, rng.randint(1, 3))}"
    if kind == 5:
        return f"title:{_group(rng, entities, rng.randint(1, 3))} AND {_term(rng, TOPICS)}"
    if kind == 6:
        source = _word(rng.choice(OUTLETS)).split()[0]
        return f"source:{source} {_group(rng, entities, rng.randint(1, 3))}"
    if kind == 7:
        lang = rng.choice(("fr", "es", "de", "en-ca"))
        return f"lang:{lang} AND {_group(rng, entities + TOPICS, rng.randint(2, 4))}"
    if kind == 8:
        return f"{_term(rng, entities)} AND {_term(rng, TOPICS)} NOT {_term(rng, TOPICS)}"
    if kind == 9:
        return f"{_group(rng, entities, 2)} -{_term(rng, entities)} -{_term(rng, TOPICS)}"
    if kind == 10:
        return f'"{_word(rng.choice(entities))} {_word(rng.choice(TOPICS))}"~{rng.randint(2, 8)}'
    return (
        f"(@{rng.choice(sorted(ALIASES))} OR {_term(rng, TOPICS)}) "
        f"NEAR/{rng.choice((8, 12, 20))} {_group(rng, entities, rng.randint(1, 3))}"
    )


def make_watches(vocabulary: Vocabulary, count: int) -> list[WatchSpec]:
    rng = vocabulary.rng
    watches = []
    for number in range(count):
        exclude = None
        if rng.random() < 0.15:
            exclude = _group(rng, vocabulary.places + TOPICS, rng.randint(1, 2))
        min_score = rng.choice((0.0, 0.0, 0.0, 2.0, 3.0))
        watches.append(WatchSpec(f"watch-{number:04d}", _query(vocabulary), exclude, min_score))
    return watches


def _story_entry(vocabulary: Vocabulary, number: int) -> Entry:
    """One entry about a story: a few entities and topics, repeated, among filler."""
    rng = vocabulary.rng
    story = [vocabulary.entity() for _ in range(rng.randint(1, 3))]
    story += [vocabulary.topic() for _ in range(rng.randint(1, 3))]
    title_words = story[: rng.randint(2, len(story))] + rng.sample(FILLER, rng.randint(2, 5))
    rng.shuffle(title_words)
    title_words[0] = title_words[0][:1].upper() + title_words[0][1:]
    summary_words = []
    for _ in range(60):
        roll = rng.random()
        if roll < 0.72:
            summary_words.append(rng.choice(FILLER))
        elif roll < 0.86:
            summary_words.append(rng.choice(story))
        elif roll < 0.94:
            summary_words.append(vocabulary.topic())
        else:
            summary_words.append(vocabulary.entity())
    # Punctuation the folding must see through: sentence ends, commas, U.S.
    for index in range(rng.randint(5, 12), 60, rng.randint(9, 15)):
        summary_words[index] += rng.choice((".", ",", ";"))
    if rng.random() < 0.3:
        summary_words[rng.randrange(60)] = rng.choice(("U.S.", "T-MEC", "CUSMA", "EU", "it's"))
    outlet = _word(rng.choice(OUTLETS))
    host = outlet.replace(" ", "").lower()
    slug = "-".join(word.lower() for word in title_words)
    link = f"https://www.{host}.com/news/{slug}-{number}"
    return Entry(
        feed_url=f"https://{host}.example/rss",
        feed_name=outlet,
        title=" ".join(title_words),
        link=link,
        canonical_link=link,
        guid=link,
        summary=" ".join(summary_words),
        language=rng.choice(LANGUAGES),
    )


def make_entries(vocabulary: Vocabulary, count: int) -> list[Entry]:
    return [_story_entry(vocabulary, number) for number in range(count)]


def _rate(rules: RuleSet, entries: list[Entry], indexed: bool) -> tuple[float, float, int]:
    """Entries per second of wall time and of CPU time, and the matches found."""
    run = rules.match if indexed else rules.match_unindexed
    fired = 0
    started, cpu = time.perf_counter(), time.process_time()
    for entry in entries:
        fired += len(run(entry))
    elapsed, spent = time.perf_counter() - started, time.process_time() - cpu
    return len(entries) / elapsed, len(entries) / spent, fired


def main() -> int:
    collect_less()  # as in the parser processes, where the poll matches entries
    started = time.perf_counter()
    vocabulary = Vocabulary(random.Random(SEED))
    watches = make_watches(vocabulary, WATCHES)
    entries = make_entries(vocabulary, ENTRIES)
    rules = compile_watches(watches, ALIASES)
    setup = time.perf_counter() - started
    print(f"{len(watches)} watches, {len(entries)} entries generated and compiled in {setup:.1f}s")

    sample = entries[:NAIVE_SAMPLE]
    for entry in sample:
        if rules.match(entry) != rules.match_unindexed(entry):
            print(f"MISMATCH between indexed and unindexed results on {entry.title!r}")
            return 1
    print(f"indexed and unindexed results identical on {len(sample)} entries")

    passes = [_rate(rules, entries, indexed=True) for _ in range(PASSES)]
    fired = passes[0][2]
    if any(found != fired for _, _, found in passes):
        print("MISMATCH: the passes found different numbers of matches")
        return 1
    print(
        "indexed   passes, per CPU second: "
        + ", ".join(f"{cpu:,.0f}" for _, cpu, _ in passes)
        + " (in order)"
    )
    indexed_rate = statistics.median(rate for rate, _, _ in passes)
    indexed_cpu = statistics.median(cpu for _, cpu, _ in passes)
    print(
        f"indexed   RuleSet.match:           {indexed_rate:9,.0f} entries/s "
        f"({indexed_cpu:,.0f} per CPU second, median of {PASSES} passes) over all "
        f"{len(entries):,} entries ({fired:,} matches, {fired / len(entries):.2f} per entry)"
    )
    naive_rate, naive_cpu, _ = _rate(rules, sample, indexed=False)
    print(
        f"unindexed RuleSet.match_unindexed: {naive_rate:9,.0f} entries/s "
        f"({naive_cpu:,.0f} per CPU second) over a sample of the first {len(sample):,} "
        "entries (every rule on every entry)"
    )
    ratio = indexed_cpu / naive_cpu
    print(f"ratio indexed / unindexed (CPU time): {ratio:.1f}x")
    ok = indexed_cpu >= TARGET_RATE and ratio >= TARGET_RATIO
    print(
        f"targets: >= {TARGET_RATE:,.0f} entries per CPU second and >= {TARGET_RATIO:.0f}x: "
        + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
