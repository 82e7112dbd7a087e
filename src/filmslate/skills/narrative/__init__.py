"""The narrative skills; importing this package registers them."""

from . import _narrative

__all__ = ["_narrative"]
