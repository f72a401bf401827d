"""``make bench``: how fast Palimpsest archives, against the extraction limit and the usual tools.

See bench/README.md. Nothing here is imported by the product; it imports the product.
"""
