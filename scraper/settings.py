"""Scrapy settings for Palimpsest. Polite by default; every value can be overridden with ``-s``."""

from scrapy.settings import default_settings

from archive import __version__

BOT_NAME = "palimpsest"
SPIDER_MODULES = ["scraper.spiders"]
NEWSPIDER_MODULE = "scraper.spiders"

# Who we are: the User-Agent names the project and a URL where site owners can reach the operator.
# USER_AGENT is built from these unless set explicitly.
PALIMPSEST_CONTACT_URL = "https://github.com/palimpsest-archive/palimpsest"
PALIMPSEST_VERSION = __version__

# Politeness.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
COOKIES_ENABLED = False  # an archive wants the page everyone sees, not a session

# Limits.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_TIMES = 2
DEPTH_LIMIT = 25  # pagination chains count as depth; feeds and sitemaps reach the rest
REDIRECT_MAX_TIMES = 10
DOWNLOAD_FAIL_ON_DATALOSS = True  # a body shorter than its Content-Length is a failure, not a page
BLOG_MAX_PAGES = 0  # articles archived per crawl, 0 = no limit (palimpsest crawl --max-pages)
DISCOVERY_QUEUE_SIZE = 1000  # sitemap URLs handed to the scheduler at a time; the rest wait as URLs
# Items of one response processed at once. Scrapy starts this many tasks for every response, and
# a page yields one item: its default of 100 costs more CPU than a page's fetch.
CONCURRENT_ITEMS = 4

# Scrapy's remote-control and telnet servers are not wanted on a cron box.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# A hostile web (see README "Settings" and scraper/middlewares.py).
DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt (100) and everything else: nothing off-site, no trap, within the budget.
    "scraper.middlewares.ScopeGuardMiddleware": 40,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scraper.middlewares.RetryAfterMiddleware": 550,
    # Sees responses after decompression (590) and meta refresh (580), before retries (550).
    "scraper.middlewares.BodyGuardMiddleware": 560,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "scraper.middlewares.StrictHttpCompressionMiddleware": 590,
}
SCOPE_ENABLED = True  # only http(s) URLs on the crawled sites, redirects included
SCOPE_TRAPS_ENABLED = True  # skip calendars, repeated segments, deep pagination; strip session ids
SCOPE_MAX_REQUESTS_PER_SITE = 100_000  # per crawl; 0 = no limit
SCOPE_MAX_PAGE_NUMBER = 1000  # ?page=N and /page/N/ beyond this are a trap
RETRY_AFTER_ENABLED = True  # a retried 429/503 waits as long as its Retry-After says…
RETRY_AFTER_MAX = 60.0  # …up to this many seconds; a longer wait is not retried but recorded
STRICT_COMPRESSION_ENABLED = True  # a truncated gzip/deflate/br/zstd body is a failure
BODY_GUARD_ENABLED = True  # empty, binary or cut-off HTML is never a page; fix wrong charsets

ITEM_PIPELINES = {
    "pipelines.versioning.VersioningPipeline": 500,
    "pipelines.storage.StoragePipeline": 800,
}
EXTENSIONS = {
    "scraper.progress.ProgressExtension": 500,
    "scraper.memory.MallocTrimExtension": 510,
}
# Scrapy imports every extension it lists, even a disabled one, and the remote-control module
# imports aiohttp's web server: 0.1 s of every crawl's start-up, a third of a quick recrawl's.
# Leave it out of the base list (a `None` in EXTENSIONS would still import it). To use it, set
# REMOTE_CONTROL_ENABLED and add "scrapy.extensions.remote_control.RemoteControl" to EXTENSIONS.
EXTENSIONS_BASE = {
    path: order
    for path, order in default_settings.EXTENSIONS_BASE.items()
    if path != "scrapy.extensions.remote_control.RemoteControl"
}

# Archive and extraction (see README "Settings").
ARCHIVE_ENABLED = True
ARCHIVE_DB_PATH = "archive.db"
ARCHIVE_COMMIT_EVERY = 200  # captures per transaction at most…
ARCHIVE_COMMIT_SECONDS = 1.0  # …and a commit at least this often while captures arrive
EXTRACT_WORKERS = 0  # 0 = one worker process per CPU core
EXTRACT_TIMEOUT = 30.0  # seconds one page may take to extract
EXTRACT_INCLUDE_COMMENTS = False
EXTRACT_FAVOR_PRECISION = False
EXTRACT_FAVOR_RECALL = False
EXTRACT_FAST = True  # no fallback extractors: less CPU, and F1 0.9639 vs 0.9632 on the corpus
MALLOC_TRIM_INTERVAL = 5.0  # seconds between malloc_trim(0) calls (glibc); 0 = never
PROGRESS_ENABLED = True  # a progress line on stderr, only when it is a terminal

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
