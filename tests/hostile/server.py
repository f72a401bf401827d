"""An adversarial HTTP server for the tests: it stalls, drips, resets, lies and loops, on 127.0.0.1 only.

Each route is a function that gets the ``Exchange`` (the request and its socket) and writes whatever
bytes it likes. Every loop in a route is bounded and stops when the server closes, so no test can hang
on it. Every request is logged with its headers (``hits``), and every route's bytes actually written
are counted (``sent``), so tests can assert on what the crawler fetched and how much it read.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from typing_extensions import Self  # typing.Self needs Python 3.11

    Route = Callable[["Exchange"], None]

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024
MAX_STALL = 30.0  # seconds a stalling route waits at most, whatever the test asked


@dataclass(frozen=True)
class Hit:
    """One request the server received."""

    at: float
    """``time.monotonic()`` when the request line had been read."""
    method: str
    target: str
    """Path and query as requested."""
    path: str
    query: str
    headers: dict[str, str]
    """Header names in lower case."""


class Exchange:
    """What a route gets: the request, and ways to answer it (or not) on the raw socket."""

    def __init__(self, handler: _Handler, server: HostileServer, hit: Hit) -> None:
        self._handler = handler
        self.server = server
        self.hit = hit
        self.path = hit.path
        self.query = dict(parse_qsl(hit.query, keep_blank_values=True))

    # -- ordinary answers --------------------------------------------------------------------

    def send(
        self,
        body: bytes | str = b"",
        *,
        status: int = 200,
        content_type: str | None = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        """A whole response; ``length`` overrides the Content-Length sent (to lie about it)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.head(
            status,
            content_type=content_type,
            headers={
                "Content-Length": str(len(data) if length is None else length),
                **(headers or {}),
            },
        )
        self.write(data)

    def html(self, body: str, **kwargs: Any) -> None:
        self.send(body, **kwargs)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send(b"", status=status, headers={"Location": location})

    # -- raw control --------------------------------------------------------------------------

    def head(
        self, status: int, *, content_type: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """The status line and headers, nothing else (the body is up to the route)."""
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Whatever')}", "Connection: close"]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), count=False)

    def write(self, data: bytes, *, count: bool = True) -> bool:
        """Write bytes; False once the client has gone away."""
        try:
            self._handler.wfile.write(data)
            self._handler.wfile.flush()
        except OSError:
            return False
        if count:
            self.server.count_sent(self.path, len(data))
        return True

    def stream(self, chunks: Iterable[bytes]) -> None:
        """Write chunks until they run out or the client hangs up."""
        for chunk in chunks:
            if self.server.stopping.is_set() or not self.write(chunk):
                return

    def wait(self, seconds: float) -> None:
        """Sleep, but wake up when the server shuts down."""
        self.server.stopping.wait(min(seconds, MAX_STALL))

    def reset(self) -> None:
        """Abort the connection with a TCP RST instead of a clean close."""
        sock = self._handler.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._handler.close_connection = True
        with contextlib.suppress(OSError):  # the client may have gone already
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    @property
    def url(self) -> str:
        return self.server.base_url + self.hit.target


class HostileServer:
    """A threaded HTTP server on ``host`` (a loopback address) whose routes misbehave on purpose.

    ``routes`` maps a path to a route; a key ending in ``*`` matches every path with that prefix
    (the longest prefix wins). Unknown paths get a 404.
    """

    def __init__(self, routes: dict[str, Route] | None = None, *, host: str = LOOPBACK) -> None:
        if not host.startswith("127."):
            raise ValueError("the hostile server only listens on loopback addresses")
        self.routes: dict[str, Route] = dict(routes or {})
        self.hits: list[Hit] = []
        self.sent: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hostile = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, target: str) -> str:
        return self.base_url + target

    def log(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def count_sent(self, path: str, n: int) -> None:
        with self._lock:
            self.sent[path] += n

    def hits_for(self, path: str) -> list[Hit]:
        """Requests for ``path`` (query strings ignored)."""
        return [hit for hit in self.hits if hit.path == path]

    def targets(self) -> list[str]:
        return [hit.target for hit in self.hits]

    def find_route(self, path: str) -> Route | None:
        if path in self.routes:
            return self.routes[path]
        prefixes = [key for key in self.routes if key.endswith("*") and path.startswith(key[:-1])]
        return self.routes[max(prefixes, key=len)] if prefixes else None

    def close(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Hostile/1.0"

    def do_GET(self) -> None:
        server: HostileServer = self.server.hostile  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        hit = Hit(
            at=time.monotonic(),
            method=self.command,
            target=self.path,
            path=parts.path or "/",
            query=parts.query,
            headers={name.lower(): value for name, value in self.headers.items()},
        )
        server.log(hit)
        self.close_connection = True  # one request per connection keeps every route simple
        route = server.find_route(hit.path)
        exchange = Exchange(self, server, hit)
        if route is None:
            exchange.send("<html><body><h1>Not found</h1></body></html>", status=404)
            return
        route(exchange)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the hit log instead


_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


# -- bodies ------------------------------------------------------------------------------------


def gzip_bytes(data: bytes) -> bytes:
    """``data`` as one gzip member (fast: level 1 is plenty for repetitive test bodies)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def deflate_bytes(data: bytes) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def bomb(encoding: str, size: int, filler: bytes = b" ") -> bytes:
    """An HTML page of ``size`` bytes compressed with ``encoding``, built without holding it whole."""
    head = b"<!DOCTYPE html><html><head><title>Bomb</title></head><body><p>"
    block = filler * CHUNK
    if encoding == "br":
        import brotli

        compressor = brotli.Compressor(quality=1)
        out = [compressor.process(head)]
        out += [compressor.process(block) for _ in range(size // CHUNK)]
        return b"".join([*out, compressor.finish()])
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    out = [compressor.compress(head)]
    out += [compressor.compress(block) for _ in range(size // CHUNK)]
    return b"".join([*out, compressor.flush()])
