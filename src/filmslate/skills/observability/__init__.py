"""The observability skills; importing this package registers them."""

from . import _run_logger

__all__ = ["_run_logger"]
