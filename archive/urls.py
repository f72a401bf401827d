"""URL identity: which URLs name the same article."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track where a reader came from; they never select different content.
TRACKING_PARAMETERS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|igshid|_ga|_gl"
    r"|ref_src|ref_url|cmpid|ocid|sr_share|at_medium|at_campaign|spm)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """The form of ``url`` that serves as a page's identity.

    Lower-cases scheme and host, drops default ports, fragments and tracking parameters, and
    keeps the path (trailing slash included) and the remaining query in their order.

    >>> normalize_url("HTTPS://Example.COM:443/a/b/?utm_source=x&id=3#comments")
    'https://example.com/a/b/?id=3'
    >>> normalize_url("http://127.0.0.1:8000")
    'http://127.0.0.1:8000/'
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING_PARAMETERS.match(key)
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def host_of(url: str) -> str:
    """Lower-case ``host[:port]`` of a URL, without a leading ``www.``.

    >>> host_of("https://WWW.Example.org:8080/a")
    'example.org:8080'
    """
    netloc = urlsplit(url).netloc.lower().rsplit("@", 1)[-1]
    return netloc.removeprefix("www.")


def is_http_url(url: str | None) -> bool:
    """Whether ``url`` is an absolute http(s) URL (the only kind worth linking to or fetching).

    >>> is_http_url("javascript:alert(1)"), is_http_url("https://example.com/")
    (False, True)
    """
    if not url:
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


# AMP copies of an article: /amp, /amp/ or .amp suffixes and ?amp=1 / ?outputType=amp parameters.
_AMP_PATH = re.compile(r"(/amp/?|\.amp)$", re.IGNORECASE)
_AMP_PARAMETERS = {"amp", "outputtype", "amp_js_v", "usqp"}


@lru_cache(maxsize=4096)  # a crawl asks for the same URL's key in the spider and in the store
def url_key(url: str) -> str:
    """The identity of an article URL: equal keys name the same article.

    Beyond ``normalize_url``: ``www.`` and the trailing slash do not matter, and an AMP copy
    (``/amp/``, ``?amp=1``) is the article itself. The key is for lookups only; pages keep their
    real URL.

    >>> url_key("https://www.example.com/news/story/amp/?utm_source=x#top")
    'https://example.com/news/story'
    >>> url_key("https://example.com/news/story?amp=1") == url_key("https://example.com/news/story/")
    True
    >>> url_key("https://example.com/")
    'https://example.com/'
    """
    parts = urlsplit(normalize_url(url))
    host = parts.netloc.removeprefix("www.")
    path = _AMP_PATH.sub("", parts.path).rstrip("/") or "/"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _AMP_PARAMETERS
    ]
    return urlunsplit((parts.scheme, host, path, urlencode(query), ""))
