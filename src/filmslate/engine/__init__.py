"""engine: the skill contract, the runner, and the metered services for paid media.

The services and the provider interfaces a project or a plugin uses are importable from here
(``filmslate.engine.RenderService(project)``); each is imported on first use, so importing one
engine module does not load the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._image_service import ImageService
    from ._images import ImageJob, ImageMaker, ImageProvider, ImageUse
    from ._render import RenderService
    from ._video import ClipRenderer, JobStatus, Reference, VideoJob, VideoProvider

_WHERE = {
    "ClipRenderer": "._video",
    "ImageJob": "._images",
    "ImageMaker": "._images",
    "ImageProvider": "._images",
    "ImageService": "._image_service",
    "ImageUse": "._images",
    "JobStatus": "._video",
    "Reference": "._video",
    "RenderService": "._render",
    "VideoJob": "._video",
    "VideoProvider": "._video",
}

__all__ = [
    "ClipRenderer",
    "ImageJob",
    "ImageMaker",
    "ImageProvider",
    "ImageService",
    "ImageUse",
    "JobStatus",
    "Reference",
    "RenderService",
    "VideoJob",
    "VideoProvider",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(where, __name__), name)
