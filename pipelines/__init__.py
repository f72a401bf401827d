"""Item pipelines: extract (trafilatura in worker processes), version (fingerprint), store (SQLite)."""
