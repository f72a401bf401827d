"""Crawler add-ons that try a proposed product change without changing the product.

For experiments only, e.g. what memory would a crawl use if the spider did not keep each page's
parsed tree while the page waits for extraction::

    python -m bench memory --size 2000 --results /tmp/probe \\
        -s 'SPIDER_MIDDLEWARES={"bench.probes.DropSelectorMiddleware": 950}'
"""

from __future__ import annotations

from typing import Any


class DropSelectorMiddleware:
    """Forget a response's cached lxml tree once the spider callback has finished with it.

    ``response.selector`` caches the parsed page on the response, and Scrapy keeps the response
    until every item it produced has left the pipelines, i.e. until extraction and storage are
    done; with a queue of pages waiting for the extraction workers, that is many trees.
    """

    def process_spider_output(self, response: Any, result: Any) -> Any:
        yield from result
        _forget_tree(response)

    async def process_spider_output_async(self, response: Any, result: Any) -> Any:
        async for item in result:
            yield item
        _forget_tree(response)


def _forget_tree(response: Any) -> None:
    if getattr(response, "_cached_selector", None) is not None:
        response._cached_selector = None
