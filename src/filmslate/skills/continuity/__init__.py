"""The continuity skills; importing this package registers them."""

from . import _locks, _supervisor, _world

__all__ = ["_locks", "_world", "_supervisor"]
