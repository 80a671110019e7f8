"""Shared building blocks for product-catalog chains.

Kept import-light on purpose: `heavy` (numpy/torch) is only imported where needed.
"""

__version__ = "0.3.0"
