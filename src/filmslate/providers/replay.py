"""Replay: authored answers served from files, offline and free.

``replay:<anything>`` (the part after the colon, e.g. the tier ``judgment``, is not used in the
lookup) answers a request from the project's replay folder, trying in order:

1. ``<project>/<replay_dir>/<skill>/<target>/<attempt>-<call>.json``: the n-th question of
   this revision, for skills that ask several in one run (script-breakdown asks once per
   scene, the lock skills once per subject);
2. ``<project>/<replay_dir>/<skill>/<target>/<attempt>.json``: this exact revision;
3. ``<project>/<replay_dir>/<skill>/<target>/any.json``: every revision of this target;
4. ``<project>/<replay_dir>/<skill>/any.json``: every target of this skill.

There is deliberately no fall-back to an earlier attempt's file: a revision loop that replays
attempt 1 for attempt 2 would never converge, and should fail loudly instead.

A file holds the JSON of the skill's output model, or that JSON wrapped as
``{"output": {...}, "usage": {"input_tokens": n, "output_tokens": n}, "cost": x}`` so an
authored answer can carry a simulated usage and cost (both default to zero). A file is read as
wrapped when it is an object with an ``"output"`` key and no keys besides ``output``, ``usage``,
``cost`` and ``images``.

A request may carry images (the frames and sheets qc-grader shows the vision tier). A wrapped
answer may say which it was written against, ``"images": ["take frame 1 of 6 (about 0.0 s)",
...]`` (the labels, in order): when the request's labels differ, the answer is refused naming
both, so an answer authored for six frames does not silently grade four.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pydantic

from ..core._errors import ProviderError
from ..engine._gateway import ProviderContext, TextProvider, TextRequest, TextResult, Usage

_WRAPPER_KEYS = frozenset({"output", "usage", "cost", "images"})


class ReplayProvider(TextProvider):
    """``replay:<tier>``: answers authored in ``<project>/<replay_dir>/``; offline, no key."""

    name: ClassVar[str] = "replay"
    offline: ClassVar[bool] = True

    def __init__(self, context: ProviderContext) -> None:
        self.root = context.project_root / context.settings.replay_dir

    def candidates(self, request: TextRequest) -> list[Path]:
        """The files tried for ``request``, in order."""
        skill, target = safe_part(request.skill), safe_part(request.target)
        attempt = int(request.attempt)
        return [
            self.root / skill / target / f"{attempt}-{int(request.call)}.json",
            self.root / skill / target / f"{attempt}.json",
            self.root / skill / target / "any.json",
            self.root / skill / "any.json",
        ]

    def complete(self, request: TextRequest) -> TextResult:
        """The first authored answer found for ``request``, validated."""
        candidates = self.candidates(request)
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            tried = "\n  ".join(str(p) for p in candidates)
            raise ProviderError(
                f"no replay answer for {request.skill} {request.target} attempt "
                f"{request.attempt} (question {request.call}); write one of:\n  {tried}",
                provider=self.name,
                skill=request.skill,
                target=request.target,
                attempt=request.attempt,
                looked_for=[str(p) for p in candidates],
            )
        return self._load(path, request)

    def _load(self, path: Path, request: TextRequest) -> TextResult:
        where = dict(
            provider=self.name,
            skill=request.skill,
            target=request.target,
            attempt=request.attempt,
            path=str(path),
        )
        data = read_json(path, where)
        wrapped = isinstance(data, dict) and "output" in data and set(data) <= _WRAPPER_KEYS
        body: dict[str, Any] = data if wrapped else {"output": data}
        self._check_images(body, request, path, where)
        try:
            output = request.output_type.model_validate(body["output"])
            usage = Usage(**{"input_tokens": 0, "output_tokens": 0, **body.get("usage", {})})
            cost = float(body.get("cost", 0.0))
        except (pydantic.ValidationError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"the replay answer {path} does not fit {request.output_type.__name__}: "
                f"{describe_error(exc)}",
                **where,
            ) from None
        return TextResult(output=output, usage=usage, cost=cost, model=request.model)

    def _check_images(
        self, body: dict[str, Any], request: TextRequest, path: Path, where: dict[str, Any]
    ) -> None:
        if "images" not in body:
            return
        sent = [image.label for image in request.images]
        if body["images"] != sent:
            raise ProviderError(
                f"the replay answer {path} was written for the images {body['images']}, but "
                f"the request carries {sent}; write the answer for what is sent",
                **where,
            )


def read_json(path: Path, where: dict[str, Any]) -> Any:
    """The JSON in ``path``; unreadable JSON is a ProviderError naming the file and position."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProviderError(f"{path} is not valid JSON: {exc}", **where) from None


def validation_problems(exc: pydantic.ValidationError) -> list[str]:
    """Each validation problem as ``field.path: message``."""
    return [
        f"{'.'.join(str(x) for x in e['loc']) or '(root)'}: {e['msg']}"
        for e in exc.errors(include_url=False)
    ]


def describe_error(exc: Exception) -> str:
    """A validation (or other) problem on one line."""
    if isinstance(exc, pydantic.ValidationError):
        return "; ".join(validation_problems(exc))
    return str(exc)


def safe_part(value: str) -> str:
    """``value`` as one path component; skill and target names never hold separators."""
    if not value or value in {".", ".."} or "/" in value or "\\" in value:
        raise ProviderError(
            f"{value!r} cannot name a file: skill and target names are single "
            "words such as story-architect or S03_SH02",
            value=value,
        )
    return value
