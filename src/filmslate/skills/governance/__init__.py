"""The governance skills; importing this package registers them."""

from . import _governance

__all__ = ["_governance"]
