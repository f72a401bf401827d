"""Item pipelines: version (fingerprint), store (SQLite). Extraction happens before, in the
spider's worker processes (``scraper.workers``), from the same parse that classifies the page."""
