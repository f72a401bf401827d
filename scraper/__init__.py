"""Palimpsest's Scrapy project: settings, items and the ``blog`` spider (discovery only)."""
