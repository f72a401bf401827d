"""Spiders. ``blog`` discovers and fetches the articles of one or more sites."""
