"""How a fingerprint's shingles, signatures and keys are made: the scheme's parameters.

Apart from :mod:`monitor.dedup.signature`, which computes with them (and imports numpy),
so that settings and the store can name a scheme without loading the array machinery:
a poll of unchanged feeds never fingerprints anything.
"""

from __future__ import annotations

from dataclasses import dataclass

# A band's index is hashed as one byte.
MAX_BANDS = 256


@dataclass(frozen=True, slots=True)
class SignatureScheme:
    """How shingles, signatures and keys are made. Stored keys depend on every field.

    Defaults (``v1``), with the reason for each:

    * ``shingle_size = 5``: five-word shingles are specific enough that two
      different stories on one topic share few of them (stock phrases like
      "prime minister mark carney said" are rare at this length), and short
      enough that a light edit costs only five shingles per changed word.
    * ``full_bands x full_rows = 20 x 3`` (60 values): a pair is found with
      probability 0.73 at Jaccard 0.4, 0.93 at 0.5, 0.99 at 0.6, and 0.0002 at
      0.02 (typical for same-topic different stories), so lookups stay few.
    * ``lead_bands x lead_rows = 12 x 3`` (the first 36 values): a summary
      that is the article's lead has lead Jaccard near 1 (found with
      probability ~1); one whose lead is half-edited (0.5) is still found 80%
      of the time, and the full-body bands get a second chance.
    * ``lead_min_tokens = 12``, ``lead_max_tokens = 40``: the lead is the first
      sentence, or two if the first is shorter than 12 words, cut at 40 words,
      so a one-sentence summary and the article both yield the same lead.
    * ``opening_sentences = 4``, ``opening_tokens = 12``: the first twelve
      words of each of the first four sentences that long also get an exact
      key, so a summary still finds its article when a deck, a standfirst or a
      caption we did not recognise comes before the article's first sentence.
      A prefix, not the whole sentence, because feeds cut summaries off
      mid-sentence ("… said on Wednesday, […]"); twelve words, because ten
      still collide on stock openings ("Prime Minister Mark Carney said on
      Tuesday that Canada …").
    """

    version: str = "v1"
    shingle_size: int = 5
    full_bands: int = 20
    full_rows: int = 3
    lead_bands: int = 12
    lead_rows: int = 3
    lead_min_tokens: int = 12
    lead_max_tokens: int = 40
    opening_sentences: int = 4
    opening_tokens: int = 12

    def __post_init__(self) -> None:
        for name in (
            "shingle_size",
            "full_bands",
            "full_rows",
            "lead_bands",
            "lead_rows",
            "opening_tokens",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"SignatureScheme.{name} must be at least 1")
        if max(self.full_bands, self.lead_bands) > MAX_BANDS:
            raise ValueError(f"SignatureScheme allows at most {MAX_BANDS} bands")
        if not 1 <= self.lead_min_tokens <= self.lead_max_tokens:
            raise ValueError("SignatureScheme needs 1 <= lead_min_tokens <= lead_max_tokens")

    @property
    def num_perm(self) -> int:
        """How many MinHash values are computed (lead bands reuse the first ones)."""
        return max(self.full_bands * self.full_rows, self.lead_bands * self.lead_rows)

    @property
    def tag(self) -> str:
        """A string naming every parameter; stored next to keys to detect a change."""
        return (
            f"{self.version}-k{self.shingle_size}-f{self.full_bands}x{self.full_rows}"
            f"-l{self.lead_bands}x{self.lead_rows}-lead{self.lead_min_tokens}:{self.lead_max_tokens}"
            f"-open{self.opening_sentences}:{self.opening_tokens}"
        )


V1 = SignatureScheme()
