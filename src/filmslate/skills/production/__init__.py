"""The production skills; importing this package registers them."""

from . import _production, _qc, _render

__all__ = ["_production", "_qc", "_render"]
