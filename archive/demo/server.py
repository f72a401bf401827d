"""A tiny threaded HTTP server for the demo blog and the tests: serves a dict of pages.

It behaves like a well-run static host: ``Content-Length``, ``Last-Modified`` and a sha256 ``ETag``
on every page, ``304 Not Modified`` for conditional requests, a 301 to the trailing-slash form of a
path, and ``HEAD``. ``publish()`` swaps the whole site at once, so a test can simulate an edited article.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timezone
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import TracebackType

    from typing_extensions import Self  # typing.Self needs Python 3.11

logger = logging.getLogger(__name__)

#: URL path -> (content type, body), the form every renderer in this package returns.
Pages = dict[str, tuple[str, bytes]]

_NOT_FOUND = (
    b'<!DOCTYPE html>\n<html lang="en"><head><title>Not found</title></head>\n'
    b"<body><h1>404 Not found</h1></body></html>\n"
)


@dataclass(frozen=True)
class _Entry:
    """One served page with the validators computed once at publish time."""

    content_type: str
    body: bytes
    etag: str
    last_modified: int  # seconds since the epoch


class SiteServer:
    """Serve a ``{path: (content_type, body)}`` dict on 127.0.0.1 from a daemon thread.

    The constructor binds the socket and starts serving, so ``base_url`` is known before the pages
    are rendered (they contain absolute URLs). Use it as a context manager, or call ``close()``.

    Attributes:
        hits: how many times each path (without query string) was requested, 404s included.
    """

    def __init__(
        self,
        pages: Mapping[str, tuple[str, bytes]] | None = None,
        *,
        port: int = 0,
        renderer: Callable[[Sequence[Any], str], Pages] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._renderer = renderer
        self.hits: Counter[str] = Counter()
        self.validators = True
        """Send ETag/Last-Modified and answer conditional requests with 304 (off: never)."""
        self.overrides: dict[str, tuple[int, str | None]] = {}
        """path -> (status, Location): answer this path with a bare status, e.g. (301, "/new/")
        for a moved page or (410, None) for a deleted one."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.site = self  # type: ignore[attr-defined]  # how the handler finds us
        if pages is not None:
            self.publish(pages)
        # Serve at once: a bound socket that nobody answers would make a client hang, not fail.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long shutdown() waits; the default is 0.5 s
            name=f"SiteServer:{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful when 0 was asked for)."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pages(self) -> Pages:
        """A copy of the pages currently served."""
        entries = self._entries
        return {path: (e.content_type, e.body) for path, e in entries.items()}

    def publish(self, pages: Mapping[str, tuple[str, bytes]]) -> None:
        """Atomically replace every served page (simulates the publisher editing the site).

        A page whose body did not change keeps its ``Last-Modified``; a changed page gets a
        ``Last-Modified`` strictly later than its previous one, so ``If-Modified-Since`` stays
        correct even when two publishes happen within the same second.
        """
        now = int(time.time())
        with self._lock:
            old = self._entries
            new: dict[str, _Entry] = {}
            for path, (content_type, body) in pages.items():
                etag = '"' + hashlib.sha256(body).hexdigest() + '"'
                previous = old.get(path)
                if previous is not None and previous.etag == etag:
                    modified = previous.last_modified
                elif previous is not None:
                    modified = max(now, previous.last_modified + 1)
                else:
                    modified = now
                new[path] = _Entry(content_type, body, etag, modified)
            self._entries = new  # one reference swap: handlers see the old site or the new one

    def publish_posts(self, posts: Sequence[Any]) -> None:
        """Re-render ``posts`` with this server's base URL and publish them (see ``serve_blog``)."""
        if self._renderer is None:
            raise RuntimeError("publish_posts() needs a server made by serve_blog()")
        self.publish(self._renderer(posts, self.base_url))

    def _lookup(self, path: str) -> _Entry | None:
        return self._entries.get(path)

    def _count_hit(self, path: str) -> None:
        with self._lock:
            self.hits[path] += 1

    def close(self) -> None:
        """Stop serving and release the socket; calling it twice is harmless."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _not_modified(entry: _Entry, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """Whether a conditional GET/HEAD can be answered with 304 (RFC 9110 section 13.2.2)."""
    if if_none_match is not None:
        # If-None-Match wins over If-Modified-Since; weak comparison is right for GET.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or entry.etag in tags
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # an unparsable date is ignored, as the RFC says
        if since.tzinfo is None:  # "-0000" parses as naive; HTTP dates are always UTC
            since = since.replace(tzinfo=timezone.utc)
        return entry.last_modified <= since.timestamp()
    return False


class _Handler(BaseHTTPRequestHandler):
    """Serves the owning SiteServer's pages; HTTP/1.0 so no connection outlives a request."""

    server_version = "PalimpsestDemo/1.0"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        site: SiteServer = self.server.site  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        path = parts.path or "/"
        site._count_hit(path)
        if path in site.overrides:
            status, location = site.overrides[path]
            target = (
                f"{site.base_url}{location}" if location and location.startswith("/") else location
            )
            self._send_simple(status, send_body, location=target)
            return
        entry = site._lookup(path)
        if entry is None and not path.endswith("/") and site._lookup(path + "/") is not None:
            query = f"?{parts.query}" if parts.query else ""
            self._send_simple(301, send_body, location=f"{site.base_url}{path}/{query}")
            return
        if entry is None:
            self._send_simple(404, send_body)
            return
        if site.validators and _not_modified(
            entry, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        ):
            self.send_response(304)
            self._send_validators(entry)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", entry.content_type)
        self.send_header("Content-Length", str(len(entry.body)))
        self._send_validators(entry)
        self.end_headers()
        if send_body:
            self.wfile.write(entry.body)

    def _send_validators(self, entry: _Entry) -> None:
        if not self.server.site.validators:  # type: ignore[attr-defined]
            return
        self.send_header("ETag", entry.etag)
        self.send_header("Last-Modified", formatdate(entry.last_modified, usegmt=True))

    def _send_simple(self, status: int, send_body: bool, location: str | None = None) -> None:
        body = _NOT_FOUND if status in (404, 410) else b""
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes every request to stderr, which drowns test output.
        logger.debug("%s " + format, self.address_string(), *args)
