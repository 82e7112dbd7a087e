"""The production office: a Starlette app over one project folder.

Every request opens the project afresh (the files and the index are the truth, nothing is
kept in memory) and reads it with the library functions the CLI calls. It writes only with
``review=True``, and then only a person's verdict on a take (``workflow._review``), through a
form that carries the office's CSRF token. With an access token, every request must carry
it: ``?token=`` once (it is then kept in a same-site cookie), or ``Authorization: Bearer``.
Without one, only requests addressed to 127.0.0.1 or localhost are answered, so a web page
that rebinds its own name to 127.0.0.1 cannot read the project.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..core._errors import ArtifactNameError, ArtifactNotFound, FilmslateError
from ..core._names import ArtifactName
from ..store._project import Project
from . import _board, _budget, _charts, _log, _room

__all__ = ["COOKIE", "Office", "cookie_name", "office_app"]

HERE = Path(__file__).parent
COOKIE = "slate_office_token"
MEDIA_TYPES = {"mp4": "video/mp4", "png": "image/png", "wav": "audio/wav", "mov": "video/mp4"}
SAFETY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",  # no-referrer would make a form's Origin "null"
    "X-Content-Type-Options": "nosniff",
}
LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
MAX_FORM = 16_384  # bytes: a verdict form is a reason and two tokens


@dataclass(frozen=True)
class Office:
    """How the office was started: its project, whether it may write, its tokens."""

    root: Path
    review: bool = False
    token: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @contextmanager
    def project(self) -> Iterator[Project]:
        """The project, opened for one request."""
        with Project(self.root) as project:
            yield project


def office_app(root: Path, *, review: bool = False, token: str | None = None) -> Starlette:
    """The office's ASGI app for the project at ``root``."""
    office = Office(Path(root).resolve(), review, token or None)
    with office.project():
        pass  # a folder that is not a project fails here, before the server starts
    templates = Jinja2Templates(directory=HERE / "templates")
    pages = Pages(office, templates)
    routes = [
        Route("/", lambda request: RedirectResponse("/budget", 303)),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/budget", pages.budget),
        Route("/review", pages.room),
        Route("/review/{shot}", pages.shot),
        Route("/review/{shot}", pages.verdict, methods=["POST"]),
        Route("/board", pages.board),
        Route("/log", pages.log),
        Route("/verify", pages.verify),
        Route("/media/{name}", pages.media),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(TokenCheck, token=office.token)],
        exception_handlers={
            FilmslateError: pages.refused,
            HTTPException: pages.http_error,
        },
    )
    app.state.office = office
    return app


class TokenCheck(BaseHTTPMiddleware):
    """With an access token, refuse (401) every request that does not carry it; without one,
    every request not addressed to this machine's own names (403). Every answer forbids
    framing (a verdict button cannot be clicked through another site's page)."""

    def __init__(self, app: Any, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await self._checked(request, call_next)
        response.headers.update(SAFETY_HEADERS)
        return response

    async def _checked(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if self.token is None:
            if _host_of(request) not in LOCAL_NAMES:  # a rebound DNS name reads nothing
                return PlainTextResponse(
                    "this office answers only to 127.0.0.1 or localhost; to serve other "
                    "names, start it with --token",
                    status_code=403,
                )
            return await call_next(request)
        given = request.query_params.get("token")
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if given and _matches(given, self.token):
            # kept in a cookie for the pages' links, takes and forms; gone from the address
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            query = "?" + urlencode(rest) if rest else ""
            moved = RedirectResponse(request.url.path + query, 303)
            moved.set_cookie(cookie_name(request), self.token, httponly=True, samesite="strict")
            return moved
        kept = request.cookies.get(cookie_name(request))
        if any(_matches(c, self.token) for c in (bearer, kept)):
            return await call_next(request)
        return PlainTextResponse(
            "this office needs its access token: open the address `slate serve` printed "
            "(it ends in ?token=...), or send 'Authorization: Bearer TOKEN'",
            status_code=401,
        )


def cookie_name(request: Request) -> str:
    """The token's cookie, named by the office's port: a browser sends a host's cookies to
    every port, so two offices on one machine would otherwise overwrite each other's."""
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    return f"{COOKIE}_{port}"


def _matches(candidate: str | None, token: str) -> bool:
    return bool(candidate) and hmac.compare_digest(str(candidate).encode(), token.encode())


class Pages:
    """The office's pages: each opens the project, reads it, renders a template."""

    def __init__(self, office: Office, templates: Jinja2Templates) -> None:
        self.office = office
        self.templates = templates

    def _page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.update(request=request, office=self.office, charts=_charts)
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def budget(self, request: Request) -> Response:
        with self.office.project() as p:
            page = _budget.budget_page(p)
        return self._page(request, "budget.html", page=page, active="budget")

    def room(self, request: Request) -> Response:
        with self.office.project() as p:
            scenes, page, pages = _room.room_scenes(p, _page_number(request))
        return self._page(
            request, "room.html", scenes=scenes, page=page, pages=pages, active="review"
        )

    def shot(self, request: Request) -> Response:
        with self.office.project() as p:
            view = _room.shot_view(p, request.path_params["shot"])
        done = request.query_params.get("done", "")
        return self._page(request, "shot.html", view=view, done=done, active="review")

    async def verdict(self, request: Request) -> Response:
        """Approve or reject the shot's latest take (only with --review; CSRF-checked)."""
        if not self.office.review:
            raise HTTPException(
                403, "read-only: start `slate serve --review` to approve or reject takes"
            )
        body = await request.body()
        if len(body) > MAX_FORM:
            raise HTTPException(413, "the form is too large")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if not hmac.compare_digest(form.get("csrf", "").encode(), self.office.csrf.encode()):
            raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page")
        if not _same_origin(request):
            raise HTTPException(403, "a verdict must come from the office's own page")
        shot = request.path_params["shot"]
        verdict = form.get("verdict", "")
        from starlette.concurrency import run_in_threadpool

        review = await run_in_threadpool(self._review, shot, verdict, form.get("reason", ""))
        return RedirectResponse(f"/review/{shot}?done={review.record.filename}", 303)

    def _review(self, shot: str, verdict: str, reason: str) -> Any:
        from ..workflow._review import review_take

        with self.office.project() as p:
            return review_take(p, shot, verdict, reason)  # type: ignore[arg-type]

    def board(self, request: Request) -> Response:
        asked = request.query_params.get("impact", "").strip()
        with self.office.project() as p:
            facts = _board.board(p, _page_number(request), asked)
        return self._page(request, "board.html", board=facts, active="board")

    def log(self, request: Request) -> Response:
        chosen = {k: request.query_params.get(k, "") for k in ("skill", "scene", "status")}
        with self.office.project() as p:
            page = _log.log_page(p, chosen)
        return self._page(request, "log.html", page=page, active="log")

    def verify(self, request: Request) -> Response:
        with self.office.project() as p:
            problems = _log.verify_problems(p)
            versions = sum(v for _, v in p.store.counts().values())
        return self._page(
            request, "verify.html", problems=problems, versions=versions, active="log"
        )

    def media(self, request: Request) -> Response:
        """A stored picture, take or sound, with its content type (Range requests served)."""
        name = ArtifactName.parse(request.path_params["name"])
        if not name.spec.binary:
            raise ArtifactNotFound(f"{name.filename} is not a picture, take or sound")
        with self.office.project() as p:
            record = p.store.record(name)
        path = self.office.root / record.name.relpath
        media_type = MEDIA_TYPES.get(path.suffix.lstrip("."), "application/octet-stream")
        return FileResponse(path, media_type=media_type)

    def refused(self, request: Request, exc: Exception) -> Response:
        """A bad id or input: 404 for what does not exist, 400 for the rest, never a trace."""
        status = 404 if isinstance(exc, ArtifactNotFound | ArtifactNameError) else 400
        message = str(exc).replace("give --reason", "give a reason")  # the page has no flags
        return self._page(request, "error.html", status, message=message, code=status)

    def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return self._page(
            request, "error.html", exc.status_code, message=exc.detail, code=exc.status_code
        )


def _page_number(request: Request) -> int:
    page = request.query_params.get("page", "1")
    return int(page) if page.isdigit() and len(page) < 9 else 1


def _host_of(request: Request) -> str:
    """The name the browser asked for (the Host header without its port)."""
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _same_origin(request: Request) -> bool:
    """A browser's POST names its origin: it must be this office's own host."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return origin.split("://", 1)[-1] == request.headers.get("host", "")
