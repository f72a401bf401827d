"""Downloader middlewares that keep a crawl safe on a hostile web.

- ``ScopeGuardMiddleware``: only http(s) URLs on the crawled sites are fetched, redirects and
  robots.txt included; crawler traps are skipped; each site has a URL budget.
- ``RetryAfterMiddleware``: Scrapy's retries, waiting as long as ``Retry-After`` asks (up to a bound).
- ``StrictHttpCompressionMiddleware``: a truncated gzip/deflate/br/zstd body is a failure, not a page.
- ``BodyGuardMiddleware``: empty, binary and cut-off bodies never reach the pipelines as pages;
  a wrong declared charset is corrected.

A rejected response raises ``ResponseRejected``: the request's errback sees a failure (the spider
records it as a capture with an error) and nothing is extracted or versioned.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import TextResponse
from scrapy.utils.asyncio import sleep
from scrapy.utils.response import response_status_message

from archive.urls import host_of, is_http_url
from scraper.content import (
    CorruptStream,
    TooLarge,
    TruncatedStream,
    corrected_encoding,
    decompress,
    html_ends,
    sniff_binary,
)
from scraper.scope import strip_session_ids, trap

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
_STAT_NAMES = {TruncatedStream: "truncated", TooLarge: "too_large", CorruptStream: "corrupt"}


class ResponseRejected(Exception):
    """A response that must not be archived as a page (empty, binary, truncated, too large)."""


# -- scope ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeConfig:
    """``SCOPE_*`` settings, read once."""

    traps: bool
    max_requests_per_site: int
    max_page_number: int

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ScopeConfig:
        return cls(
            traps=settings.getbool("SCOPE_TRAPS_ENABLED"),
            max_requests_per_site=settings.getint("SCOPE_MAX_REQUESTS_PER_SITE"),
            max_page_number=settings.getint("SCOPE_MAX_PAGE_NUMBER"),
        )


class ScopeGuardMiddleware:
    """Refuse every request that leaves the crawled sites, falls into a trap, or is over budget.

    It runs before robots.txt is consulted (so no robots.txt of a foreign host is fetched either)
    and sees every request, including each hop of a redirect. A site is a ``host[:port]`` as
    ``archive.urls.host_of`` says; the spider's ``sites`` lists them.
    """

    def __init__(self, crawler: Crawler, config: ScopeConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.fetched: Counter[str] = Counter()  # requests let through, per site
        self.spent: set[str] = set()  # sites whose budget is spent (warned about once)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScopeGuardMiddleware:
        if not crawler.settings.getbool("SCOPE_ENABLED"):
            raise NotConfigured("SCOPE_ENABLED is off")
        return cls(crawler, ScopeConfig.from_settings(crawler.settings))

    def process_request(self, request: Request) -> Request | None:
        url = request.url
        if not is_http_url(url):
            self._refuse(request, "scheme")
        site = host_of(url)
        sites = getattr(self.crawler.spider, "sites", None)  # host_of(start URL) -> start URL
        if sites is not None and site not in sites:
            self._refuse(request, "offsite")
        if not self.config.traps:
            self._count(request, site)
            return None
        clean = strip_session_ids(url)
        if clean != url:
            self.crawler.stats.inc_value("scope/session_id_stripped")
            return request.replace(url=clean)  # rescheduled, so the dupefilter sees the clean URL
        name = trap(url, max_page=self.config.max_page_number)
        if name is not None:
            self._refuse(request, f"trap/{name}")
        self._count(request, site)
        return None

    def _count(self, request: Request, site: str) -> None:
        if "retry_times" in request.meta:
            return  # a retry is the same URL again, already counted
        budget = self.config.max_requests_per_site
        if budget and self.fetched[site] >= budget:
            if site not in self.spent:
                self.spent.add(site)
                logger.warning("URL budget of %s requests spent for %s", budget, site)
            self._refuse(request, "budget")
        self.fetched[site] += 1

    def _refuse(self, request: Request, reason: str) -> None:
        self.crawler.stats.inc_value(f"scope/refused/{reason}")
        logger.debug("Not fetched (%s): %s", reason, request.url)
        raise IgnoreRequest(f"out of scope ({reason}): {request.url}")


# -- retries -------------------------------------------------------------------------------------


def retry_after(value: bytes | str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delay-seconds or HTTP-date), or None.

    >>> retry_after(b"120"), retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
    (120.0, 10.0)
    >>> retry_after(b"soon") is None, retry_after(b"-5")
    (True, 0.0)
    """
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.lstrip("-").isdigit():
        return max(0.0, float(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's ``RetryMiddleware``, but a retried 429/503/… waits for its ``Retry-After``.

    A wait longer than ``RETRY_AFTER_MAX`` is not worth holding the crawl for: the answer goes to
    the spider at once (it is recorded as an error, and the next crawl tries again). Retries stay
    bounded by ``RETRY_TIMES``. With ``RETRY_AFTER_ENABLED`` off this is Scrapy's middleware.
    """

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.honour_retry_after = settings.getbool("RETRY_AFTER_ENABLED")
        self.max_delay = settings.getfloat("RETRY_AFTER_MAX")

    # Scrapy 2.19 awaits a coroutine process_response; the base class's is a plain method.
    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        delay = retry_after(response.headers.get("Retry-After"))
        if (
            not self.honour_retry_after
            or delay is None
            or request.meta.get("dont_retry", False)
            or response.status not in self.retry_http_codes
        ):
            return super().process_response(request, response)
        stats = self.crawler.stats
        assert stats is not None
        if delay > self.max_delay:
            stats.inc_value("retry/retry_after_too_long")
            logger.warning(
                "Not retrying %s: Retry-After %.0fs is over RETRY_AFTER_MAX (%.0fs)",
                request.url,
                delay,
                self.max_delay,
            )
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        stats.inc_value("retry/retry_after_waits")
        logger.info("Waiting %.1fs (Retry-After) before retrying %s", delay, request.url)
        await sleep(delay)
        return retry


# -- bodies --------------------------------------------------------------------------------------


class StrictHttpCompressionMiddleware(HttpCompressionMiddleware):
    """``HttpCompressionMiddleware`` whose decoders fail on a truncated stream.

    Scrapy decodes as much of a cut-off gzip, deflate, br or zstd body as it can and returns that
    as the page. Here a body whose compressed stream does not end, or that decompresses past
    ``DOWNLOAD_MAXSIZE``, raises ``ResponseRejected``. ``STRICT_COMPRESSION_ENABLED`` off restores
    Scrapy's behaviour.
    """

    def __init__(self, stats: Any = None, *, crawler: Crawler | None = None) -> None:
        super().__init__(stats, crawler=crawler)
        self.strict = crawler is None or crawler.settings.getbool("STRICT_COMPRESSION_ENABLED")

    def _decode(self, body: bytes, encoding: bytes, max_size: int) -> bytes:  # type: ignore[override]
        if not self.strict:
            return super()._decode(body, encoding, max_size)
        try:
            return decompress(body, encoding.decode("latin-1"), max_size)
        except (TruncatedStream, TooLarge, CorruptStream) as exc:
            if self.stats:
                self.stats.inc_value(f"httpcompression/rejected/{_STAT_NAMES[type(exc)]}")
            raise ResponseRejected(f"{exc} ({len(body)} bytes received)") from exc


class BodyGuardMiddleware:
    """Reject HTML responses that are not whole pages; correct a charset the server got wrong.

    For 2xx answers that claim to be HTML (or say nothing): an empty or whitespace-only body, a
    binary file served as HTML (PDF, PNG, … recognised by its magic bytes), a body Twisted flagged
    as cut short
    (``dataloss``), or a connection-delimited body that stops before ``</body>``/``</html>`` (a
    reset mid-body looks just like the end of such a response) are retried while retries last,
    then rejected. A body that is valid in another charset than the declared one is re-labelled
    (see ``scraper.content.corrected_encoding``); the raw bytes are never changed.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BodyGuardMiddleware:
        if not crawler.settings.getbool("BODY_GUARD_ENABLED"):
            raise NotConfigured("BODY_GUARD_ENABLED is off")
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.method == "HEAD" or not 200 <= response.status < 300 or response.status == 204:
            return response
        if request.meta.get("dont_obey_robotstxt"):
            return response  # robots.txt itself: empty is a valid answer, whatever its type
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
        if content_type and not content_type.startswith(HTML_TYPES):
            return response
        # Undeclared, a binary is typed by Scrapy from its bytes (and a .xml.gz sitemap is fine).
        binary = sniff_binary(response.body) if content_type else None
        if binary:
            self._reject(request, "binary", f"a {binary} file served as {content_type}")
        problem = self._problem(response)
        if problem is not None:  # perhaps a passing hiccup: retried while retries last
            kind, reason = problem
            assert self.crawler.spider is not None
            retry = get_retry_request(request, spider=self.crawler.spider, reason=kind)
            if retry is not None:
                return retry
            self._reject(request, kind, reason)
        return self._fix_charset(response)

    def _problem(self, response: Response) -> tuple[str, str] | None:
        """(kind, reason) if the body is cut short or empty."""
        if "dataloss" in response.flags:
            return "truncated", "truncated body: shorter than its Content-Length or chunking said"
        if "partial" in response.flags and not html_ends(response.body):
            return "truncated", "truncated body: the connection closed before the page ended"
        blank = not response.body.strip()
        if blank or (isinstance(response, TextResponse) and not response.text.strip()):
            return "empty", "empty body"
        return None

    def _fix_charset(self, response: Response) -> Response:
        if not isinstance(response, TextResponse):
            return response
        # response.text is decoded already (the emptiness check above): not a second decode.
        encoding = corrected_encoding(response.body, response.encoding, response.text)
        if encoding is None:
            return response
        self.crawler.stats.inc_value("bodyguard/charset_corrected")
        logger.info(
            "Decoding %s as %s, not %s as declared", response.url, encoding, response.encoding
        )
        return response.replace(encoding=encoding)

    def _reject(self, request: Request, kind: str, reason: str) -> None:
        self.crawler.stats.inc_value(f"bodyguard/rejected/{kind}")
        logger.warning("Rejected %s: %s", request.url, reason)
        raise ResponseRejected(reason)
