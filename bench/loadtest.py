"""How fast the benchmark server answers with nobody crawling: a keep-alive asyncio client.

The client is Python too and shares the machine's cores with the server, so the rates it finds
are a lower bound on what the server can do.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass

from bench.blog import post_path


@dataclass(frozen=True)
class LoadResult:
    """Requests answered per second, and the bytes they carried."""

    kind: str
    requests: int
    seconds: float
    body_bytes: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.body_bytes / self.seconds / 1e6


async def _client(
    port: int, posts: itertools.count, n: int, total: int, conditional: bool
) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = body_bytes = 0
    try:
        while (i := next(posts)) < total:
            post = i % n
            request = f"GET {post_path(post)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            if conditional:
                request += f'If-None-Match: "p{post}-o"\r\n'
            writer.write((request + "\r\n").encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            done, body_bytes = done + 1, body_bytes + length
    finally:
        writer.close()
    return done, body_bytes


async def _run(port: int, n: int, total: int, connections: int, conditional: bool) -> LoadResult:
    posts = itertools.count()
    start = time.perf_counter()
    results = await asyncio.gather(
        *(_client(port, posts, n, total, conditional) for _ in range(connections))
    )
    seconds = time.perf_counter() - start
    kind = "304 Not Modified" if conditional else "200 post pages"
    return LoadResult(kind, sum(r[0] for r in results), seconds, sum(r[1] for r in results))


def load_test(port: int, n: int, total: int = 3000, connections: int = 16) -> list[LoadResult]:
    """Fetch ``total`` posts over ``connections`` keep-alive connections, then as many 304s."""
    return [
        asyncio.run(_run(port, n, total, connections, conditional=False)),
        asyncio.run(_run(port, n, total, connections, conditional=True)),
    ]
