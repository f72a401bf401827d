"""Serve the benchmark blog on 127.0.0.1 from its own process: asyncio, HTTP/1.1 keep-alive.

``python -m bench.server --n 2000`` prints ``PORT <port>`` once it listens. The mode is switched
with ``GET /_bench/mode?validators=0|1&edited=0|1`` (robots.txt keeps crawlers out of /_bench/):

- validators=1: ETag and Last-Modified on every answer, 304 to a matching conditional request;
- validators=0: neither header, conditional requests ignored (a recrawl gets identical bodies);
- edited=1: every tenth post shows its revised sentence.

A hand-rolled protocol rather than ``http.server``: a thread per connection and HTTP/1.0 would
make the server, not the crawler, the thing being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import urlopen

from bench.blog import Blog, Resource
from bench.corpus import load_templates

_REASONS = {200: b"OK", 304: b"Not Modified", 400: b"Bad Request", 404: b"Not Found"}
_MAX_HEAD = 16_384


class BlogProtocol(asyncio.Protocol):
    """One client connection: parse GET/HEAD requests, write answers, keep the connection open."""

    def __init__(self, server: BlogServer) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                if len(self.buffer) > _MAX_HEAD:
                    self._write(400, [], b"", close=True)
                return
            self.buffer = rest
            self._handle(head)

    def _handle(self, head: bytes) -> None:
        request_line, *lines = head.decode("latin-1").split("\r\n")
        parts = request_line.split()
        if len(parts) != 3:
            self._write(400, [], b"", close=True)
            return
        method, target, version = parts
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
        status, extra, body = self.server.answer(target, headers)
        self._write(status, extra, body if method != "HEAD" else b"", close, len(body))

    def _write(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        close: bool = False,
        length: int | None = None,
    ) -> None:
        assert self.transport is not None
        lines = [b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"Error"))]
        lines += [f"{name}: {value}".encode("latin-1") for name, value in headers]
        if status != 304:
            lines.append(b"Content-Length: %d" % (len(body) if length is None else length))
        if close:
            lines.append(b"Connection: close")
        self.transport.writelines([b"\r\n".join(lines), b"\r\n\r\n", body])
        if close:
            self.transport.close()
            self.transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class BlogServer:
    """The blog and its mode; ``answer`` turns one request into (status, headers, body)."""

    def __init__(self, blog: Blog) -> None:
        self.blog = blog
        self.validators = True

    def answer(self, target: str, headers: dict[str, str]) -> tuple[int, list, bytes]:
        url = urlsplit(target)
        if url.path == "/_bench/mode":
            return self._set_mode(url.query)
        resource = self.blog.render(url.path)
        if resource is None:
            return 404, [("Content-Type", "text/plain")], b"not found\n"
        fields = [("Content-Type", resource.content_type)]
        if not self.validators:
            return 200, fields, resource.body
        validators = [("ETag", resource.etag), ("Last-Modified", resource.http_date())]
        if _not_modified(resource, headers):
            return 304, validators, b""
        return 200, fields + validators, resource.body

    def _set_mode(self, query: str) -> tuple[int, list, bytes]:
        args = parse_qs(query)
        if "validators" in args:
            self.validators = args["validators"][0] == "1"
        if "edited" in args:
            self.blog.edited = args["edited"][0] == "1"
        state = f"validators={int(self.validators)} edited={int(self.blog.edited)}\n"
        return 200, [("Content-Type", "text/plain")], state.encode()


def _not_modified(resource: Resource, headers: dict[str, str]) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or resource.etag in tags
    since = headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return resource.last_modified <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False


async def serve(n: int, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))  # the base URL (in links and sitemaps) needs the port first
    bound = sock.getsockname()[1]
    blog_server = BlogServer(Blog(load_templates(), n, f"http://127.0.0.1:{bound}"))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: BlogProtocol(blog_server), sock=sock, backlog=1024)
    print(f"PORT {bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("--n", type=int, required=True, help="number of posts")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.n, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())


class ServerProcess:
    """``python -m bench.server`` started from the bench: its URL, its mode, its CPU time."""

    def __init__(self, n: int) -> None:
        command = [sys.executable, "-m", "bench.server", "--n", str(n)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"bench server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}"

    def set_mode(self, *, validators: bool, edited: bool) -> None:
        query = urlencode({"validators": int(validators), "edited": int(edited)})
        with urlopen(f"{self.base_url}/_bench/mode?{query}", timeout=10) as response:
            response.read()

    def cpu_seconds(self) -> float:
        """User + system time the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def __enter__(self) -> ServerProcess:  # noqa: PYI034  # typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
