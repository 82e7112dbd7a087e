"""The production office (`slate serve`): budget, review room, production board and run log
in a browser, over one project folder. It reads the project with the library functions the
CLI calls and writes only a person's verdict on a take, and only when started with
``--review``. Needs the ``web`` extra (starlette, jinja2, uvicorn)."""

from __future__ import annotations

from ._app import Office, office_app

__all__ = ["Office", "office_app"]
