"""What a crawl pays before its first request: no module it will not use.

A recrawl answered by 304s takes about two seconds for 1,000 pages, and start-up is a third of
that; these keep the two biggest avoidable imports out of it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scrapy.utils.conf import build_component_list

from tests.conftest import project_crawler

REPO = Path(__file__).resolve().parent.parent


def test_the_crawler_process_does_not_import_trafilatura():
    # Only the extraction workers extract; their forkserver imports trafilatura for them.
    modules = "scraper.run, scraper.spiders.blog, scraper.workers, pipelines.versioning, pipelines.storage"
    code = f"import sys, {modules}; print('trafilatura' in sys.modules, 'scraper.pagework' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True"]


def test_the_remote_control_extension_is_not_loaded_at_all():
    # Listed, it would be imported (and aiohttp's web server with it) only to say NotConfigured.
    extensions = build_component_list(project_crawler().settings.getwithbase("EXTENSIONS"))
    assert "scrapy.extensions.remote_control.RemoteControl" not in extensions
    assert "scrapy.extensions.corestats.CoreStats" in extensions  # the rest of the base list stays
    assert "scraper.progress.ProgressExtension" in extensions
