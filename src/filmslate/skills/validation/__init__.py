"""The validation skills; importing this package registers them."""

from . import _validation

__all__ = ["_validation"]
