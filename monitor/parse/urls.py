"""Canonical URLs: one spelling per article, whatever link a feed handed out.

Feeds decorate links with campaign and click-tracking parameters, and the same
article arrives with ``http`` and ``https``, ``www.`` or not, a trailing slash,
a fragment, as an AMP page, on a mobile host, or wrapped in somebody's click
redirector. Identity and duplicate detection compare canonical links, so this
module folds those differences away. It never fetches anything: a wrapper is
unwrapped only when the target URL is written inside it (Google News
``/rss/articles/…`` ids are opaque without a fetch, so they stay as they are).

The folding, in order (:func:`canonical_url`):

1. unwrap known redirectors: ``google.com/url?q=``, ``l.facebook.com/l.php?u=``,
   Google AMP viewer and AMP cache paths, and any redirect-looking path
   (``/redirect``, ``/click``, …) whose query holds an absolute target URL;
2. ``https`` for ``http``, lower-case host, no default port, no ``www.``,
   ``m.``, ``mobile.`` or ``amp.`` host prefix;
3. drop AMP spellings: ``amp`` path segments, a ``.amp`` suffix
   (``story.amp``, ``story.amp.html``), ``amp=1`` / ``outputType=amp`` and
   friends in the query;
4. drop tracking parameters and the fragment, sort what is left, strip a
   trailing slash.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that only say who sent the click, never which page it is.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "itm_", "_hs", "vero_", "oly_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mkt_tok",
        "ocid",
        "cmpid",
        "cmp",
        "smid",
        "smtyp",
        "ref",
        "ref_src",
        "ref_url",
        "source",
        "ito",
        "sr_share",
        "share",
        "rss",
        "taid",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "__twitter_impression",
        "_ga",
        "_gl",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    }
)

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Host prefixes that name a variant of the same site, not another site. Stripped
# repeatedly (``www.m.`` exists), but never down to a bare registrable suffix.
_VARIANT_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")

# Query parameters that only ask for the AMP rendering of the same page, with
# the values that mean "yes" (None: any value, the name alone says it).
_AMP_PARAMS: dict[str, frozenset[str] | None] = {
    "amp": None,
    "_amp": None,
    "amp_js_v": None,
    "amp_gsa": None,
    "usqp": None,  # Google AMP cache bookkeeping
    "outputtype": frozenset({"amp"}),  # Washington Post style
    "output": frozenset({"amp"}),
    "format": frozenset({"amp"}),
    "view": frozenset({"amp"}),
}

# Redirectors whose target sits in a query parameter, by host, with the
# parameters to look in (first that holds an absolute http(s) URL wins).
_WRAPPER_HOSTS: dict[str, tuple[str, ...]] = {
    "google.com": ("q", "url"),  # only its /url path: /search?q= is a search
    "news.url.google.com": ("url",),
    "l.facebook.com": ("u",),
    "lm.facebook.com": ("u",),
    "l.instagram.com": ("u",),
    "l.messenger.com": ("u",),
    "t.umblr.com": ("z",),
    "out.reddit.com": ("url",),
    "feedproxy.google.com": ("url", "u"),
    "slack-redirect.slack.com": ("url",),
}

# Last path segments that announce a redirector on any host (feedproxy-style
# click trackers). Only unwrapped when a query parameter holds an absolute URL;
# a share page (``/share?url=``) is deliberately absent.
_REDIRECT_SEGMENTS = frozenset(
    {
        "url",
        "l.php",
        "redirect",
        "redir",
        "redirect.php",
        "out",
        "click",
        "go",
        "link",
        "r",
        "exit",
        "away",
        "track",
        "apiclick.aspx",
        "linkfilter",
    }
)
_TARGET_PARAMS = ("url", "u", "q", "target", "dest", "destination", "to", "link", "goto", "z")

# Google's AMP viewer (google.com/amp/s/host/path) and the AMP cache
# (host-tld.cdn.ampproject.org/c/s/host/path): "s/" means the target is https.
_AMP_VIEWER = re.compile(r"^/amp/(?P<secure>s/)?(?P<rest>[^/]+\..+)$")
_AMP_CACHE = re.compile(r"^/(?:c|v|i|wp)/(?P<secure>s/)?(?P<rest>[^/]+\..+)$")

# Google News article links: opaque, but one id per article.
_GOOGLE_NEWS_ARTICLE = re.compile(r"^/(?:rss/)?articles/(?P<id>[A-Za-z0-9_-]+)$")

# How many wrappers deep to look: real links nest at most two (a Google
# redirect around a Facebook one); a bound keeps a malicious loop finite.
_MAX_UNWRAP = 4


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only track the click."""
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def is_amp_param(name: str, value: str) -> bool:
    """True for query parameters that only ask for the AMP rendering."""
    lowered = name.lower()
    if lowered not in _AMP_PARAMS:
        return False
    values = _AMP_PARAMS[lowered]
    return values is None or value.lower() in values


def strip_tracking(url: str) -> str:
    """Remove tracking parameters and the fragment, keeping everything else as is."""
    parts = urlsplit(url.strip())
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, doseq=True), ""))


def _is_absolute_http(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered.startswith(("http://", "https://")) and len(lowered) > len("https://x.y")


def _unwrap_once(url: str, parts: SplitResult) -> str | None:
    """The URL one wrapper in, or None when ``url`` (split as ``parts``) is not a wrapper we
    can read."""
    query = parts.query
    if not query:
        # Without a query only the AMP viewer and cache paths wrap (href.li's target is its
        # query). Their hosts are in the netloc as written, only lower-cased: a link
        # naming neither skips the host's parsing (most links, every cycle).
        netloc = parts.netloc.lower()
        if "google.com" not in netloc and "ampproject.org" not in netloc:
            return None
    host = (parts.hostname or "").lower()
    key = strip_host_variants(host)
    path = parts.path

    if key == "google.com" and (match := _AMP_VIEWER.match(path)):
        return ("https://" if match["secure"] else "http://") + match["rest"]
    if host.endswith(".cdn.ampproject.org") and (match := _AMP_CACHE.match(path)):
        return ("https://" if match["secure"] else "http://") + match["rest"]

    if key == "href.li":
        # The whole query string is the target.
        target = unquote(query)
        return target if _is_absolute_http(target) else None
    last_segment = path.rstrip("/").rsplit("/", 1)[-1].lower()
    if key in _WRAPPER_HOSTS:
        # google.com/search?q=… is a search, not a redirect: only /url redirects.
        if key == "google.com" and last_segment != "url":
            return None
        names: tuple[str, ...] = _WRAPPER_HOSTS[key]
    elif last_segment in _REDIRECT_SEGMENTS:
        names = _TARGET_PARAMS
    else:
        return None  # before reading the query: most links with one are no wrapper
    values: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        values.setdefault(name.lower(), value)
    for name in names:
        value = values.get(name, "")
        if _is_absolute_http(value):
            return value.strip()
    return None


def _unwrapped(url: str) -> tuple[str, SplitResult]:
    """:func:`unwrap_redirect` of ``url``, and the result split (read once, for both)."""
    current = url.strip()
    parts = urlsplit(current)
    for _ in range(_MAX_UNWRAP):
        inner = _unwrap_once(current, parts)
        if inner is None:
            break
        current = inner
        parts = urlsplit(current)
    return current, parts


def unwrap_redirect(url: str) -> str:
    """The target of a click redirector whose target is written in the link.

    Returns ``url`` unchanged when it is not such a wrapper (including Google
    News article links, which can only be resolved by fetching them).
    """
    return _unwrapped(url)[0]


def strip_host_variants(host: str) -> str:
    """``host`` without ``www.``, ``m.``, ``mobile.`` or ``amp.`` prefixes.

    A prefix is kept when removing it would leave a single label
    (``m.tv`` stays ``m.tv``).
    """
    host = host.lower().rstrip(".")
    if not host.startswith(_VARIANT_HOST_PREFIXES):
        return host  # most hosts: no prefix to look at again
    changed = True
    while changed:
        changed = False
        for prefix in _VARIANT_HOST_PREFIXES:
            rest = host.removeprefix(prefix)
            if rest != host and "." in rest:
                host = rest
                changed = True
    return host


def _strip_amp_path(path: str) -> str:
    """Drop ``amp`` path segments and ``.amp`` suffixes from a URL path."""
    if "amp" not in path.lower():
        return path if path.startswith("/") else "/" + path  # as the split and join leave it
    segments = [segment for segment in path.split("/") if segment.lower() != "amp"]
    if segments:
        last = segments[-1]
        lowered = last.lower()
        if lowered.endswith(".amp"):
            segments[-1] = last[: -len(".amp")]
        elif ".amp." in lowered:
            # story.amp.html -> story.html
            index = lowered.rindex(".amp.")
            segments[-1] = last[:index] + last[index + len(".amp") :]
    joined = "/".join(segments)
    return joined if joined.startswith("/") else "/" + joined


# Pure and called for every link, guid and feed address a fingerprint looks at, many of
# them repeated (a feed's own address, candidates compared again and again).
@lru_cache(maxsize=8192)
def canonical_url(url: str) -> str:
    """The comparable form of ``url``.

    Redirect wrappers unwrapped, lower-cased scheme and host, ``https`` for
    ``http``, no ``www.``/``m.``/``mobile.``/``amp.`` host prefix, no default
    port, no AMP path or query spelling, no fragment, no tracking parameters,
    remaining parameters sorted, no trailing slash on a non-root path. Not a
    URL to fetch: a key.
    """
    raw = url.strip()
    if raw.startswith("//"):
        raw = "https:" + raw
    parts = _unwrapped(raw)[1]
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return raw
    host = strip_host_variants(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = _strip_amp_path(parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if host == "news.google.com" and (match := _GOOGLE_NEWS_ARTICLE.match(path)):
        # The opaque id is the whole identity; oc=, hl=, gl=, ceid= only pick
        # the reader's edition, and /rss/articles/ and /articles/ are one page.
        return f"https://news.google.com/articles/{match['id']}"
    query = ""
    if parts.query:
        query = urlencode(
            sorted(
                (k, v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if not is_tracking_param(k) and not is_amp_param(k, v)
            ),
            doseq=True,
        )
    return urlunsplit(("https", netloc, path, query, ""))


def same_article_url(a: str, b: str) -> bool:
    """True when two links are spellings of one article's address."""
    return canonical_url(a) == canonical_url(b)


def url_fragment(url: str) -> str:
    """The fragment of ``url`` (without ``#``), empty when there is none."""
    return urlsplit(url.strip()).fragment
