"""Build tests/data/dedup/pairs.jsonl from the hand-written stories in stories.txt.

Run from anywhere: ``python tests/data/dedup/make_pairs.py``. The output is
deterministic (every random choice comes from a ``random.Random`` seeded by the
pair's id), so re-running it reproduces the committed file byte for byte.

Positive pairs (``duplicate: true``), one of each kind per story:

* ``syndicated``: the same text under a new headline on another outlet, with
  that outlet's page furniture (photo caption, "Advertisement" lines, a
  "The post … appeared first on …" trailer);
* ``trimmed``: the first 30-70% of the paragraphs;
* ``edited``: a wire dateline and byline added, two paragraphs swapped, one
  cut, house style changed (per cent/percent/%, Mr./Ms. dropped, U.S./US), a
  reporting credit appended, two phrases reworded;
* ``summary``: headline plus the first one or two sentences (sometimes cut
  off with "…", sometimes with a "Continue reading" tail) against the article;
* ``url_variant``: the article's address in another spelling (AMP, mobile
  host, tracking parameters, click redirectors) carrying no usable text;
* ``summary_reverse`` (every other story): the full article arriving after its
  summary was stored, sometimes under a new headline;
* ``summary_vs_decked`` / ``summary_vs_captioned`` (alternating stories): the
  summary against a copy that opens with a deck (standfirst) or with a photo
  caption in a format the cleaner does not know, so the lead is not first.

Negative pairs (``duplicate: false``): every pair of different stories in a
family (same beat, same people, shared background paragraphs), a summary or
trimmed copy of one story against another of its family, cross-family pairs
that share people, templated daily market reports of different days,
look-alike URLs of different articles, ``roundup_negative``: a newsletter
quoting the leads of four stories against the stored summary of its second,
third or fourth item (it carries three other stories, so it is not a copy),
and ``recycled_negative``: a follow-up brief that reports a new development in
one new sentence and then recycles four paragraphs of an earlier story as
background (most of its text is old, but its news is not).
"""

from __future__ import annotations

import itertools
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

HERE = Path(__file__).resolve().parent
STORIES = HERE / "stories.txt"
OUTPUT = HERE / "pairs.jsonl"

# Invented outlets that pick stories up from the wire.
OUTLETS = (
    "northshoretimes.com",
    "valleyobserver.ca",
    "riograndepost.com",
    "lakesidegazette.ca",
    "mapleleafdaily.ca",
    "sierramadrenews.mx",
    "atlanticbeacon.ca",
    "heartlandwire.com",
)
REPORTERS = (
    "Julie Gagnon",
    "Daniel Okafor",
    "Mariana Villalobos",
    "Peter Lindqvist",
    "Aisha Rahman",
    "Tomás Echeverría",
    "Karen Whitfield",
    "Sanjay Mehta",
)
CAPTIONS = (
    "Delegates arrive for talks in Ottawa on Tuesday.FRED LUM/THE GLOBE WIRE",
    "Trucks wait to cross the Ambassador Bridge in Windsor, Ont.CHRIS YOUNG/NORTH PRESS",
    "Containers are stacked at the port of Manzanillo, Mexico.LUIS ROJAS/AFP/Getty Images",
    "A worker at a steel mill in Hamilton.PETER POWER/THE CANADIAN PRESS",
    "The National Palace in Mexico City.HENRY ROMERO/REUTERS",
)
DATELINE = re.compile(r"^([A-Z][A-ZÁÉÍÓÚ.' ]+(?:, [A-Z][a-z.]+)?(?:, Mexico)?) — ")
SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”]))\s+(?=[A-Z\"“])")
ABBREV = ("Mr.", "Ms.", "Mrs.", "Dr.", "U.S.", "St.", "Ont.", "Que.", "Nov.", "Aug.", "Sept.")


@dataclass
class Story:
    id: str
    family: str
    url: str
    title: str
    alt: str
    paragraphs: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    def doc(self, title: str | None = None, url: str | None = None, text: str | None = None):
        return {
            "title": self.title if title is None else title,
            "url": self.url if url is None else url,
            "text": self.text if text is None else text,
            "story": self.id,
        }


def parse_stories() -> tuple[list[Story], list[str], str]:
    """The stories, the template body lines and the template title."""
    shared: dict[str, str] = {}
    stories: list[Story] = []
    template: list[str] = []
    template_title = ""
    block: str | None = None
    for raw in STORIES.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or (line.startswith("#") and block != "story"):
            continue
        if line.startswith("=== "):
            fields = dict(part.strip().split("=", 1) for part in line[4:].split("|"))
            if "shared" in fields:
                block = "shared:" + fields["shared"]
            elif "template" in fields:
                block = "template"
            else:
                block = "story"
                stories.append(Story(fields["id"], fields["family"], fields["outlet"], "", ""))
            continue
        if block and block.startswith("shared:"):
            shared[block.removeprefix("shared:")] = line
        elif block == "template":
            if line.startswith("title: "):
                template_title = line.removeprefix("title: ")
            else:
                template.append(line)
        elif line.startswith("title: "):
            stories[-1].title = line.removeprefix("title: ")
        elif line.startswith("alt: "):
            stories[-1].alt = line.removeprefix("alt: ")
        else:
            stories[-1].paragraphs.append(re.sub(r"\{(\w+)\}", lambda m: shared[m[1]], line))
    return stories, template, template_title


def sentences(paragraph: str) -> list[str]:
    """A deliberately plain splitter, independent of the library's."""
    out: list[str] = []
    for piece in SENTENCE.split(paragraph):
        if out and out[-1].endswith(ABBREV):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:70]


def copy_url(rng: random.Random, title: str) -> str:
    outlet = rng.choice(OUTLETS)
    section = rng.choice(("news", "business", "world", "politics", "canada"))
    return f"https://www.{outlet}/{section}/2025/{rng.randint(7, 11):02d}/{slug(title)}-{rng.randint(10000, 99999)}"


# --- positive transformations ------------------------------------------------


def syndicate(story: Story, rng: random.Random) -> dict[str, str]:
    outlet_name = rng.choice(("Valley Observer", "Lakeside Gazette", "Heartland Wire"))
    paragraphs = list(story.paragraphs)
    if rng.random() < 0.5:
        paragraphs[:0] = ["Open this photo in gallery:", rng.choice(CAPTIONS)]
    for _ in range(rng.randint(1, 2)):
        paragraphs.insert(rng.randint(2, len(paragraphs) - 1), "Advertisement")
    if rng.random() < 0.5:
        paragraphs.append(f"The post {story.alt} appeared first on {outlet_name}.")
    return story.doc(title=story.alt, url=copy_url(rng, story.alt), text="\n".join(paragraphs))


def trim(story: Story, rng: random.Random) -> dict[str, str]:
    count = max(2, round(len(story.paragraphs) * rng.uniform(0.3, 0.7)))
    paragraphs = story.paragraphs[:count]
    if rng.random() < 0.3:
        paragraphs.append("Read more:")
    title = story.title if rng.random() < 0.5 else story.alt
    return story.doc(title=title, url=copy_url(rng, title), text="\n".join(paragraphs))


REWORDINGS = (
    ("told reporters", "told journalists"),
    ("said on Monday", "said Monday"),
    ("said on Tuesday", "said Tuesday"),
    ("said on Wednesday", "said Wednesday"),
    ("said on Thursday", "said Thursday"),
    ("said on Friday", "said Friday"),
    ("about", "roughly"),
    ("warned", "cautioned"),
    ("welcomed", "praised"),
    ("expected", "anticipated"),
    ("however", "though"),
    ("according to", "citing"),
)


def edit(story: Story, rng: random.Random) -> dict[str, str]:
    paragraphs = list(story.paragraphs)
    reporter = rng.choice(REPORTERS)
    # New dateline in wire style, or none at all.
    match = DATELINE.match(paragraphs[0])
    if match:
        place = match[1]
        agency = rng.choice(("Reuters", "AP", "The Canadian Press"))
        rest = paragraphs[0][match.end() :]
        paragraphs[0] = rng.choice(
            (
                f"{place}, {rng.choice(('Aug', 'Sept', 'Oct'))} {rng.randint(1, 28)} ({agency}) - {rest}",
                rest,
            )
        )
    # Swap two neighbouring paragraphs after the lead, cut another one.
    if len(paragraphs) > 4:
        i = rng.randint(2, len(paragraphs) - 2)
        paragraphs[i], paragraphs[i - 1] = paragraphs[i - 1], paragraphs[i]
        del paragraphs[rng.randint(1, len(paragraphs) - 1)]
    text = "\n".join(paragraphs)
    # House style of the picking-up outlet.
    text = text.replace(" per cent", rng.choice(("%", " percent")))
    text = re.sub(r"\b(?:Mr|Ms|Mrs)\. ", "", text)
    if rng.random() < 0.5:
        text = text.replace("U.S.", "US")
    present = [pair for pair in REWORDINGS if pair[0] in text]
    for old, new in rng.sample(present, k=min(2, len(present))):
        text = text.replace(old, new, 1)
    byline = rng.choice(
        (f"By {reporter}", f"By {reporter}, The Canadian Press", f"By {reporter} and Staff")
    )
    trailer = rng.choice(
        (
            f"(Reporting by {reporter}; Editing by {rng.choice(REPORTERS)})",
            "— With files from The Canadian Press",
            "This report by The Canadian Press was first published Oct. 2, 2025.",
        )
    )
    title = story.alt if rng.random() < 0.5 else "UPDATE 1-" + story.title
    return story.doc(title=title, url=copy_url(rng, title), text=f"{byline}\n{text}\n{trailer}")


def summarise(story: Story, rng: random.Random) -> dict[str, str]:
    lead = sentences(story.paragraphs[0]) + sentences(story.paragraphs[1])
    count = rng.choice((1, 2, 2))
    text = " ".join(lead[:count])
    if rng.random() < 0.5:
        text = DATELINE.sub("", text)
    style = rng.random()
    if style < 0.25:
        cut = text.rfind(" ", 0, max(120, len(text) * 2 // 3))
        text = text[:cut] + " […]"
    elif style < 0.5:
        text += " Continue reading…"
    title = story.title if rng.random() < 0.7 else story.alt
    return story.doc(title=title, url=copy_url(rng, title), text=text)


UNMARKED_CAPTIONS = (
    "Trucks line up to cross into Detroit from Windsor, Ont., on Tuesday. (Chris Young/North Press)",
    "A worker inspects coils at a mill in Hamilton on June 3. Photograph by Peter Power for the Herald",
    "Officials meet at the National Palace in Mexico City, Mexico, on Monday, in a handout image.",
)


def decked(story: Story) -> dict[str, str]:
    deck = story.alt.rstrip(".") + "."
    return story.doc(text="\n".join([deck, *story.paragraphs]))


def captioned(story: Story, rng: random.Random) -> dict[str, str]:
    paragraphs = [rng.choice(UNMARKED_CAPTIONS), *story.paragraphs]
    return story.doc(title=story.alt, url=copy_url(rng, story.alt), text="\n".join(paragraphs))


def roundup(items: list[Story], number: int) -> dict[str, str]:
    # Some newsletters open with a greeting, some go straight to the first item.
    lines = ["Good morning. Here is what you need to know about North American trade today."]
    if number % 3 == 0:
        lines = []
    for story in items:
        lines.append(story.title)
        lines.append(" ".join(sentences(DATELINE.sub("", story.paragraphs[0]))[:2]))
    return {
        "title": f"Trade Brief: {items[0].alt}, and more",
        "url": f"https://www.northshoretimes.com/newsletters/trade-brief/2025-10-{number:02d}",
        "text": "\n".join(lines),
        "story": f"roundup-{number}",
    }


def url_variant(story: Story, rng: random.Random, which: int) -> str:
    parts = urlsplit(story.url)
    host = parts.netloc.removeprefix("www.")
    path = parts.path
    variants = (
        lambda: f"http://{host}{path}?utm_source=twitter&utm_medium=social#comments",
        lambda: f"https://amp.{host}{path}",
        lambda: f"https://www.{host}{path.rstrip('/')}/amp/",
        lambda: f"https://m.{host}{path}?amp=1",
        lambda: (
            "https://www.google.com/url?rct=j&sa=t&url="
            + quote(f"https://www.{host}{path}", safe="")
            + "&ct=ga&cd=CAIyGjE&usg=AOvVaw0x"
        ),
        lambda: (
            "https://l.facebook.com/l.php?u="
            + quote(f"https://www.{host}{path}?fbclid=IwAR3x", safe="")
            + "&h=AT1z"
        ),
        lambda: (
            "https://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=9B1F&url="
            + quote(f"https://www.{host}{path}", safe="")
            + "&c=1234&mkt=en-ca"
        ),
        lambda: f"https://{host.replace('.', '-')}.cdn.ampproject.org/c/s/www.{host}{path}",
        lambda: f"https://www.{host}{path}?outputType=amp",
        lambda: f"https://mobile.{host}{path.rstrip('/')}?ref=rss&cmpid=rss",
    )
    return variants[which % len(variants)]()


# --- negatives ---------------------------------------------------------------

LOONIE_DAYS: tuple[dict[str, str], ...] = (
    {
        "day": "Monday",
        "day_title": "",
        "move": "edged higher",
        "move_title": "edges higher",
        "driver": "domestic factory data showed a surprise gain",
        "change": "0.1",
        "direction": "higher",
        "rate": "3812",
        "cents": "72.38",
        "low": "3794",
        "high": "3840",
        "oil_move": "rose",
        "oil_change": "0.6",
        "oil": "63.14",
        "bond_move": "were mixed",
        "bond_yield": "3.21",
        "quote": "Today it was the factory numbers; tomorrow it will be something else.",
        "tsx_move": "rose",
        "tsx_points": "84.2",
        "tsx_pct": "0.3",
        "tsx": "28,406.77",
    },
    {
        "day": "Tuesday",
        "day_title": "",
        "move": "weakened",
        "move_title": "weakens",
        "driver": "oil prices fell on concern about global demand",
        "change": "0.3",
        "direction": "lower",
        "rate": "3857",
        "cents": "72.04",
        "low": "3808",
        "high": "3869",
        "oil_move": "fell",
        "oil_change": "1.9",
        "oil": "61.94",
        "bond_move": "fell",
        "bond_yield": "3.15",
        "quote": "Oil is doing the talking this week.",
        "tsx_move": "fell",
        "tsx_points": "131.5",
        "tsx_pct": "0.5",
        "tsx": "28,275.27",
    },
    {
        "day": "Wednesday",
        "day_title": "after Macklem remarks",
        "move": "rose",
        "move_title": "rises",
        "driver": "comments from Bank of Canada Governor Tiff Macklem suggested no rush to cut rates",
        "change": "0.4",
        "direction": "higher",
        "rate": "3802",
        "cents": "72.45",
        "low": "3798",
        "high": "3861",
        "oil_move": "rose",
        "oil_change": "0.8",
        "oil": "62.44",
        "bond_move": "rose",
        "bond_yield": "3.24",
        "quote": "Macklem sounded less worried than the market was.",
        "tsx_move": "rose",
        "tsx_points": "57.9",
        "tsx_pct": "0.2",
        "tsx": "28,333.17",
    },
    {
        "day": "Thursday",
        "day_title": "ahead of jobs data",
        "move": "was little changed",
        "move_title": "steadies",
        "driver": "traders waited for Canadian employment figures due on Friday",
        "change": "0.02",
        "direction": "lower",
        "rate": "3805",
        "cents": "72.43",
        "low": "3789",
        "high": "3822",
        "oil_move": "slipped",
        "oil_change": "0.2",
        "oil": "62.31",
        "bond_move": "were steady",
        "bond_yield": "3.23",
        "quote": "Nobody wants to take a big position before the jobs report.",
        "tsx_move": "added",
        "tsx_points": "12.4",
        "tsx_pct": "0.04",
        "tsx": "28,345.57",
    },
    {
        "day": "Friday",
        "day_title": "as jobless rate climbs",
        "move": "fell",
        "move_title": "falls",
        "driver": "data showed the unemployment rate rose to 7.1 per cent",
        "change": "0.5",
        "direction": "lower",
        "rate": "3874",
        "cents": "71.95",
        "low": "3801",
        "high": "3880",
        "oil_move": "fell",
        "oil_change": "1.1",
        "oil": "61.62",
        "bond_move": "fell",
        "bond_yield": "3.12",
        "quote": "The labour market is cracking, and the currency knows it.",
        "tsx_move": "fell",
        "tsx_points": "202.8",
        "tsx_pct": "0.7",
        "tsx": "28,142.77",
    },
)

# New leads for follow-up briefs that recycle the rest of an earlier story.
FOLLOW_UPS = {
    "steel-quotas": "OTTAWA — Canada's steel quota regime drew its first formal complaint from "
    "the European Union, which said the caps would hurt producers in Italy and Spain.",
    "auto-content-rules": "WASHINGTON — Mexican negotiators rejected the U.S. proposal on auto "
    "content during a closed-door meeting, two people briefed on the talks said.",
    "review-consultations": "WASHINGTON — More than 1,500 groups filed comments on the USMCA "
    "review before the trade representative's deadline closed on Monday night.",
    "ag-dairy-panel": "OTTAWA — Washington formally notified Canada that it would pursue the "
    "dairy dispute through new consultations, the trade ministry said.",
    "security-fentanyl-seizures": "OTTAWA — The White House dismissed the fentanyl czar's report "
    "as incomplete and said Canada still had to do more at the border.",
    "economy-boc-hold": "OTTAWA — Two members of the Bank of Canada's governing council favoured "
    "a cut at the last meeting, according to a summary of its deliberations.",
}

# (a story, b story) pairs across families that share people and setting.
CROSS_FAMILY = (
    ("diplomacy-carney-visit", "energy-minerals-pact"),
    ("diplomacy-carney-visit", "ag-canola-mission"),
    ("diplomacy-carney-visit", "security-mexico-visa"),
    ("review-mexico-energy", "steel-mexico-exports"),
    ("auto-content-rules", "review-canada-priorities"),
    ("steel-us-fifty", "auto-ontario-line"),
    ("auto-nuevo-leon-battery", "diplomacy-ministers-trade-mission"),
    ("security-fentanyl-seizures", "security-cartel-banks"),
    ("economy-gdp-contraction", "steel-us-fifty"),
    ("review-brief-greer", "ag-dairy-panel"),
)


def url_negatives(stories: dict[str, Story]) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """Look-alike addresses of different articles (texts of different stories)."""
    s = stories
    base = "https://www.capitolcurrent.com/trade/2025/09/16/"
    return [
        (
            "ids",
            s["review-consultations"].doc(
                url="https://www.capitolcurrent.com/article.php?id=58121"
            ),
            s["review-brief-greer"].doc(url="https://www.capitolcurrent.com/article.php?id=58122"),
        ),
        (
            "google-news",
            s["steel-quotas"].doc(
                url="https://news.google.com/rss/articles/CBMiWkFVX3lxTE5hY2tpbmc?oc=5"
            ),
            s["steel-brief-joly"].doc(
                url="https://news.google.com/rss/articles/CBMiWkFVX3lxTE5oYXJk?oc=5"
            ),
        ),
        (
            "fragments",
            s["economy-gdp-contraction"].doc(
                url="https://www.prairieledger.ca/live/trade-war-updates#post-1842"
            ),
            s["economy-boc-hold"].doc(
                url="https://www.prairieledger.ca/live/trade-war-updates#post-1851"
            ),
        ),
        (
            "amp-in-word",
            s["auto-ontario-line"].doc(
                url="https://www.windsorwire.ca/news/2025/08/amp-up-production-plan/"
            ),
            s["auto-content-rules"].doc(
                url="https://www.windsorwire.ca/news/2025/08/production-plan/"
            ),
        ),
        (
            "same-slug-other-day",
            s["review-consultations"].doc(url=base + "usmca-review-update/"),
            s["review-mexico-energy"].doc(
                url=base.replace("/16/", "/17/") + "usmca-review-update/"
            ),
        ),
        (
            "redirect-to-other",
            s["ag-tomato-duty"].doc(
                url="https://www.google.com/url?q=https://www.bajiobusiness.mx/en/agriculture/tomato-antidumping-duty&sa=U"
            ),
            s["ag-canola-mission"].doc(
                url="https://www.bajiobusiness.mx/en/agriculture/tomato-antidumping-duty-canada"
            ),
        ),
        (
            "search-not-redirect",
            s["energy-lng"].doc(
                url="https://www.google.com/search?q=https://www.coastalenergyreport.com/lng"
            ),
            s["energy-hydro-exports"].doc(url="https://www.coastalenergyreport.com/lng"),
        ),
        (
            "mobile-other-path",
            s["security-mexico-visa"].doc(
                url="https://m.northernsentinel.ca/news/2025/10/visa-rules"
            ),
            s["security-fentanyl-seizures"].doc(
                url="https://www.northernsentinel.ca/news/2025/10/visa-rules-reaction"
            ),
        ),
    ]


class Pairs:
    """The pairs being written, in order."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(
        self, kind: str, name: str, a: dict[str, str], b: dict[str, str], duplicate: bool
    ) -> None:
        self.rows.append(
            {"id": f"{kind}:{name}", "kind": kind, "a": a, "b": b, "duplicate": duplicate}
        )


def rng_for(name: str) -> random.Random:
    return random.Random(f"monitor-dedup-pairs:{name}")


def positive_pairs(pairs: Pairs, story_list: list[Story]) -> None:
    for index, story in enumerate(story_list):
        pairs.add(
            "syndicated", story.id, syndicate(story, rng_for("syn" + story.id)), story.doc(), True
        )
        pairs.add("trimmed", story.id, trim(story, rng_for("trim" + story.id)), story.doc(), True)
        pairs.add("edited", story.id, edit(story, rng_for("edit" + story.id)), story.doc(), True)
        pairs.add(
            "summary", story.id, summarise(story, rng_for("sum" + story.id)), story.doc(), True
        )
        teaser = ("", f"Read the full story at {urlsplit(story.url).netloc}.", story.title)[
            index % 3
        ]
        variant = url_variant(story, rng_for("url" + story.id), index)
        pairs.add("url_variant", story.id, story.doc(url=variant, text=teaser), story.doc(), True)

    for index, story in enumerate(story_list):
        summary = summarise(story, rng_for("sum" + story.id))
        if index % 2 == 0:
            title = story.title if index % 4 == 0 else story.alt
            pairs.add("summary_reverse", story.id, story.doc(title=title), summary, True)
            pairs.add("summary_vs_decked", story.id, summary, decked(story), True)
        else:
            captioned_copy = captioned(story, rng_for("cap" + story.id))
            pairs.add("summary_vs_captioned", story.id, summary, captioned_copy, True)


def family_negatives(pairs: Pairs, families: dict[str, list[Story]]) -> None:
    for family in families.values():
        for first, second in itertools.combinations(family, 2):
            pairs.add(
                "family_negative", f"{first.id}~{second.id}", first.doc(), second.doc(), False
            )
        for position, story in enumerate(family):
            other = family[(position + 1) % len(family)]
            summary = summarise(story, rng_for("sum" + story.id))
            pairs.add("summary_negative", f"{story.id}~{other.id}", summary, other.doc(), False)
            if position % 2 == 0:
                trimmed = trim(story, rng_for("trim" + story.id))
                third = family[(position + 2) % len(family)]
                if third is story:
                    third = other
                pairs.add("trimmed_negative", f"{story.id}~{third.id}", trimmed, third.doc(), False)

    # Newsletters quoting four leads, one story from each of four families.
    family_lists = list(families.values())
    for number in range(1, 7):
        items = [family_lists[(number + k) % len(family_lists)][number % 3] for k in range(4)]
        letter = roundup(items, number)
        for position in (1, 2, 3):
            item = items[position]
            summary = summarise(item, rng_for("sum" + item.id))
            pairs.add("roundup_negative", f"{number}-item{position + 1}", letter, summary, False)


def other_negatives(pairs: Pairs, stories: dict[str, Story]) -> None:
    for story_id, lead in FOLLOW_UPS.items():
        story = stories[story_id]
        brief = {
            "title": story.alt + ": update",
            "url": copy_url(rng_for("follow" + story_id), story.alt + " update"),
            "text": "\n".join([lead, *story.paragraphs[1:5]]),
            "story": story_id + "-follow-up",
        }
        pairs.add("recycled_negative", story_id, brief, story.doc(), False)

    for first, second in CROSS_FAMILY:
        pairs.add(
            "cross_negative",
            f"{first}~{second}",
            stories[first].doc(),
            stories[second].doc(),
            False,
        )

    for name, a, b in url_negatives(stories):
        pairs.add("url_negative", name, a, b, False)


def template_pairs(pairs: Pairs, template: list[str], template_title: str) -> None:
    loonie = [
        Story(
            f"loonie-{values['day'].lower()}",
            "loonie",
            f"https://www.greatlakesherald.com/markets/2025/11/{10 + n}/canadian-dollar-usmca-review/",
            template_title.format(**values).replace("  ", " ").strip(),
            "",
            [line.format(**values) for line in template],
        )
        for n, values in enumerate(LOONIE_DAYS)
    ]
    for first, second in itertools.combinations(loonie, 2):
        pairs.add("template_negative", f"{first.id}~{second.id}", first.doc(), second.doc(), False)
    for first, second in itertools.pairwise(loonie):
        summary = summarise(first, rng_for("sum" + first.id))
        pairs.add(
            "template_summary_negative", f"{first.id}~{second.id}", summary, second.doc(), False
        )
    for day in loonie[::2]:
        title = "Loonie " + day.title.split(" ", 2)[2]
        copy = day.doc(title=title, url=copy_url(rng_for(day.id), day.title))
        pairs.add("template_syndicated", day.id, copy, day.doc(), True)
        pairs.add(
            "template_summary", day.id, summarise(day, rng_for("sum" + day.id)), day.doc(), True
        )


def build() -> list[dict[str, object]]:
    story_list, template, template_title = parse_stories()
    families: dict[str, list[Story]] = {}
    for story in story_list:
        families.setdefault(story.family, []).append(story)
    pairs = Pairs()
    positive_pairs(pairs, story_list)
    family_negatives(pairs, families)
    other_negatives(pairs, {story.id: story for story in story_list})
    template_pairs(pairs, template, template_title)
    return pairs.rows


def main() -> None:
    pairs = build()
    with OUTPUT.open("w", encoding="utf-8") as handle:
        for pair in pairs:
            handle.write(json.dumps(pair, ensure_ascii=False, sort_keys=True) + "\n")
    positives = sum(1 for pair in pairs if pair["duplicate"])
    print(
        f"wrote {len(pairs)} pairs ({positives} duplicates, {len(pairs) - positives} not) to {OUTPUT}"
    )


if __name__ == "__main__":
    main()
