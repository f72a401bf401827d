"""MallocTrimExtension: freed page buffers go back to the system during a crawl."""

from __future__ import annotations

import pytest
from scrapy.exceptions import NotConfigured

from scraper.memory import MallocTrimExtension, _malloc_trim
from tests.conftest import project_crawler


def test_trims_on_its_interval_and_can_be_switched_off():
    with pytest.raises(NotConfigured):
        MallocTrimExtension.from_crawler(project_crawler({"MALLOC_TRIM_INTERVAL": 0}))
    if _malloc_trim() is None:
        pytest.skip("no glibc malloc_trim on this system")
    crawler = project_crawler({"MALLOC_TRIM_INTERVAL": 2.5})
    extension = MallocTrimExtension.from_crawler(crawler)
    assert extension.interval == 2.5
    calls = []
    extension.trim = calls.append  # the real one returns memory; this one records the call
    extension.run()
    extension.run()
    assert calls == [0, 0]
    assert crawler.stats.get_value("memory/malloc_trim") == 2


def test_the_real_malloc_trim_runs():
    trim = _malloc_trim()
    if trim is None:
        pytest.skip("no glibc malloc_trim on this system")
    blocks = [bytearray(200_000) for _ in range(50)]  # heap blocks to hand back once freed
    del blocks
    assert trim(0) in (0, 1)  # 1: memory was released, 0: there was none to release
