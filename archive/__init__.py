"""Palimpsest's archive: the SQLite store, diffs, the CLI and the Datasette plugin.

This package never imports Scrapy, so the CLI, cron jobs and Datasette can use it without a reactor.
"""

__version__ = "0.1.0"
