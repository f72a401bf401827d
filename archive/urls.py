"""URL identity: which URLs name the same article."""

from __future__ import annotations

import re
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


def is_http_url(url: str | None) -> bool:
    """Whether ``url`` is an absolute http(s) URL (the only kind worth linking to or fetching).

    >>> is_http_url("javascript:alert(1)"), is_http_url("https://example.com/")
    (False, True)
    """
    if not url:
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
