"""Crawler traps: URL shapes that lead to endless pages of nothing new.

Pure functions, used by ``scraper.middlewares.ScopeGuardMiddleware`` on every request (redirects
included). Each rule names a trap that real sites build by accident: calendars with a "next month"
link forever, relative links that stack path segments (``/a/b/a/b/…``), session ids that make every
URL new, and pagination without an end. What a rule lets through, the per-site URL budget bounds.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from itertools import pairwise
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2000  # longer URLs are nearly always generated, not linked by an editor
MAX_PATH_SEGMENTS = 12
MAX_SEGMENT_REPEATS = 2  # a segment seen a third time in one path is a relative-link loop
FIRST_YEAR = 1990  # no blog or news site has pages dated before the web

# Session ids: in a path parameter (;jsessionid=…) or the query (?PHPSESSID=…).
SESSION_KEYS = re.compile(
    r"^(jsessionid|phpsessid|aspsessionid\w*|sid|sessid|session_?id|s_id|oscsid|zenid|cfid|cftoken"
    r"|ps_session|sess|wpsid)$",
    re.IGNORECASE,
)
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)
_LONG_TOKEN = re.compile(r"^[0-9a-z]{16,}$", re.IGNORECASE)
# Calendars: a calendar-ish path segment or query key, next to a date.
_CALENDAR_WORD = re.compile(
    r"^(cal|calendar|calendrier|kalender|events?|agenda|ical|icalendar|tribe-bar-date|eventdate"
    r"|eventdisplay)$",
    re.IGNORECASE,
)
_DATE = re.compile(r"^(\d{4})(?:[-/]?(0?[1-9]|1[0-2])(?:[-/]?(\d{1,2}))?)?$")
_DATED = re.compile(r"^(\d{4})[-/](0?[1-9]|1[0-2])\b")  # a year and its month: 2026-07, 2026/07
_DATE_KEYS = re.compile(r"^(date|day|month|year|ym|m|eventdate|tribe-bar-date)$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})")
_MONTH = re.compile(r"^(0?[1-9]|1[0-2])$")
_PAGE_KEYS = re.compile(r"^(page|paged|pg|pagenum|page_?no|pagina|seite)$", re.IGNORECASE)


def strip_session_ids(url: str) -> str:
    """``url`` without session ids, which make the same page look new on every visit.

    >>> strip_session_ids("http://x.test/a;jsessionid=0A1B2C?id=3&PHPSESSID=ab12cd&x=1")
    'http://x.test/a?id=3&x=1'
    >>> strip_session_ids("http://x.test/?s=climate")  # a search, not a session
    'http://x.test/?s=climate'
    """
    parts = urlsplit(url)
    path = _PATH_SESSION.sub("", parts.path)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not _is_session(k, v)]
    if path == parts.path and len(kept) == len(pairs):
        return url
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(kept), parts.fragment))


def _is_session(key: str, value: str) -> bool:
    if not SESSION_KEYS.match(key):
        return False
    # "sid" and "sess" are also ordinary words; only an opaque token makes them a session.
    return key.lower() not in ("sid", "sess") or bool(_LONG_TOKEN.match(value))


def trap(url: str, *, max_page: int = 1000, now: datetime | None = None) -> str | None:
    """The name of the trap ``url`` looks like, or None if it looks like a page worth fetching.

    >>> trap("http://x.test/2026/07/02/harbour-dredging/")  # a dated post is fine
    >>> trap("http://x.test/a/b/a/b/a/b/")
    'repeated-segment'
    >>> trap("http://x.test/calendar/2026/07/")
    'calendar'
    >>> trap("http://x.test/events/?month=2026-08")
    'calendar'
    >>> trap("http://x.test/1887/03/")
    'calendar'
    >>> trap("http://x.test/news/?page=1001")
    'deep-pagination'
    >>> trap("http://x.test/news/page/40/", max_page=30)
    'deep-pagination'
    """
    if len(url) > MAX_URL_LENGTH:
        return "long-url"
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) > MAX_PATH_SEGMENTS:
        return "deep-path"
    if segments and max(segments.count(s) for s in segments) > MAX_SEGMENT_REPEATS:
        return "repeated-segment"
    query = parse_qsl(parts.query, keep_blank_values=True)
    if _is_calendar(segments, query, now or datetime.now(timezone.utc)):
        return "calendar"
    if _page_number(segments, query) > max_page:
        return "deep-pagination"
    return None


def _is_calendar(segments: list[str], query: list[tuple[str, str]], now: datetime) -> bool:
    values = [v for _, v in query]
    # A year outside the web's lifetime, or more than a year ahead, is a calendar running away.
    # Only dates count as years: /2026/07/, 2026-07, ?year=1850 — never ids like ?p=12345.
    years = [int(m[1]) for m in map(_DATED.match, [*segments, *values]) if m]
    years += [
        int(s) for s, nxt in pairwise(segments) if len(s) == 4 and s.isdigit() and _MONTH.match(nxt)
    ]
    years += [int(m[1]) for k, v in query if _DATE_KEYS.match(k) and (m := _YEAR.match(v))]
    if any(year < FIRST_YEAR or year > now.year + 1 for year in years):
        return True
    words = [*segments, *(k for k, _ in query)]
    return any(map(_CALENDAR_WORD.match, words)) and any(map(_DATE.match, [*segments, *values]))


def _page_number(segments: list[str], query: list[tuple[str, str]]) -> int:
    numbers = [int(v) for k, v in query if _PAGE_KEYS.match(k) and v.isdigit() and len(v) < 12]
    for i, segment in enumerate(segments[:-1]):
        following = segments[i + 1]
        if segment.lower() == "page" and following.isdigit() and len(following) < 12:
            numbers.append(int(following))
    return max(numbers, default=0)
