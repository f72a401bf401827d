"""The tutorial pipeline: a sitemap spider, trafilatura inline, one sqlite-utils insert per page."""
