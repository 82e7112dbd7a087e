"""The governance skills; importing this package registers them."""

from . import _governance, _model_router

__all__ = ["_governance", "_model_router"]
