"""Handoff: a person or an outside agent answers, through files in the project's inbox.

``handoff:<tier>`` never calls a model. For a request it looks for
``<project>/<inbox_dir>/<skill>__<target>__<attempt>.answer.json``; when the answer is there
it is validated and returned (usage and cost zero). Otherwise it writes the task next to it,
``<skill>__<target>__<attempt>.task.json`` (everything needed to answer: system text, prompt,
the output's JSON schema, plain-language instructions) plus a ``.task.md`` copy for reading,
with the request's images written beside them (``<stem>.image-01.png``, ...; the task lists
each file with its label and sha256, and the ``.task.md`` shows them), and raises
:class:`~filmslate.engine._gateway.WaitingForHandoff`. That is not a failure: the run stops,
someone answers, and the same command run again picks the answer up.

:func:`submit_answer` checks an answer against its task before putting it in the inbox.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

import pydantic

from ..core._errors import (
    FilmslateError,
    ProviderError,
    SchemaError,
    UserError,
    WaitingForHandoff,
)
from ..engine._attachments import Attachment
from ..engine._gateway import (
    ProviderContext,
    ProviderSettings,
    TextProvider,
    TextRequest,
    TextResult,
    Usage,
)
from .replay import describe_error, read_json, safe_part, validation_problems

Refusal = Callable[[str], FilmslateError]

TASK_SUFFIX = ".task.json"
ANSWER_SUFFIX = ".answer.json"
TASK_FORMAT = 1


class HandoffProvider(TextProvider):
    """``handoff:<tier>``: a person or agent answers through ``<project>/<inbox_dir>/``."""

    name: ClassVar[str] = "handoff"
    offline: ClassVar[bool] = True

    def __init__(self, context: ProviderContext) -> None:
        self.inbox = inbox_of(context.project_root, context.settings)

    def complete(self, request: TextRequest) -> TextResult:
        """The answer from the inbox, or write the task and raise WaitingForHandoff."""
        stem = task_stem(request)
        answer = self.inbox / f"{stem}{ANSWER_SUFFIX}"
        if answer.is_file():
            return TextResult(
                output=self._read_answer(answer, request),
                usage=Usage(0, 0),
                cost=0.0,
                model=request.model,
            )
        task_path = self.inbox / f"{stem}{TASK_SUFFIX}"
        task = build_task(request, stem)
        files: list[tuple[Path, str | bytes]] = [
            (self.inbox / name, image.data) for name, image in image_files(request, stem)
        ]
        files += [
            (task_path, json.dumps(task, indent=2, ensure_ascii=False) + "\n"),
            (self.inbox / f"{stem}.task.md", render_markdown(task)),
        ]
        for path, text in files:  # the images first: a task on disk has its images
            if not write_once(path, text):
                raise ProviderError(
                    f"a different task is already waiting at {path} (the prompt changed since "
                    "it was written); answer it or delete it, then run again",
                    provider=self.name,
                    skill=request.skill,
                    target=request.target,
                    attempt=request.attempt,
                    path=str(path),
                )
        raise WaitingForHandoff(
            task_path,
            skill=request.skill,
            target=request.target,
            attempt=request.attempt,
            answer_path=answer,
        )

    def _read_answer(self, path: Path, request: TextRequest) -> pydantic.BaseModel:
        where = dict(
            provider=self.name,
            skill=request.skill,
            target=request.target,
            attempt=request.attempt,
            path=str(path),
        )
        data = load_answer(path, lambda message: ProviderError(message, **where))
        try:
            return request.output_type.model_validate(unwrap(data))
        except pydantic.ValidationError as exc:
            raise ProviderError(
                f"the answer {path} does not fit {request.output_type.__name__}: "
                f"{describe_error(exc)}; correct it (or delete it to be asked again)",
                **where,
            ) from None


def task_stem(request: TextRequest) -> str:
    """``<skill>__<target>__<attempt>``: the name shared by a task and its answer; a run that
    asks several questions names the second and later ``<attempt>-<call>``, so each question
    gets its own answer."""
    call = f"-{int(request.call)}" if request.call > 1 else ""
    return f"{safe_part(request.skill)}__{safe_part(request.target)}__{int(request.attempt)}{call}"


def build_task(request: TextRequest, stem: str) -> dict[str, Any]:
    """The task file's content: deterministic, so asking twice writes the same task."""
    output_type = request.output_type
    return {
        "filmslate_task": TASK_FORMAT,
        "task": f"{stem}{TASK_SUFFIX}",
        "answer_file": f"{stem}{ANSWER_SUFFIX}",
        "skill": request.skill,
        "target": request.target,
        "attempt": request.attempt,
        "model": request.model,
        "tier": request.model.partition(":")[2],
        "instructions": instructions(stem, output_type),
        "system": request.system,
        "prompt": request.prompt,
        "output_type": f"{output_type.__module__}:{output_type.__qualname__}",
        "output_schema": output_type.model_json_schema(),
        "max_output_tokens": request.max_output_tokens,
        **({"images": image_entries(request, stem)} if request.images else {}),
    }


def image_files(request: TextRequest, stem: str) -> list[tuple[str, Attachment]]:
    """The file name each of the request's images is written to, beside the task."""
    suffix = {"image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}
    return [
        (f"{stem}.image-{n:02d}{suffix.get(image.media_type, '.png')}", image)
        for n, image in enumerate(request.images, 1)
    ]


def image_entries(request: TextRequest, stem: str) -> list[dict[str, str]]:
    """What the task says of each image: its file, label, media type and sha256."""
    return [
        {
            "file": name,
            "label": image.label,
            "media_type": image.media_type,
            "sha256": hashlib.sha256(image.data).hexdigest(),
        }
        for name, image in image_files(request, stem)
    ]


def instructions(stem: str, output_type: type[pydantic.BaseModel]) -> str:
    """What the person or agent answering should do, in plain words."""
    return (
        f"You are answering one step of a film production for the skill in 'skill'. Read "
        f"'system' (your role and rules) and then 'prompt' (the material and the question). "
        f"Answer with a single JSON object that matches 'output_schema' (a "
        f"{output_type.__name__}): no prose around it, no comments. Save it as "
        f"{stem}{ANSWER_SUFFIX} in this folder, then run the same slate command again: it "
        f"checks the answer against the schema and continues from here."
    )


def render_markdown(task: dict[str, Any]) -> str:
    """A human-readable copy of a task."""
    schema = json.dumps(task["output_schema"], indent=2, ensure_ascii=False)
    return "\n".join(
        [
            f"# Task: {task['skill']} for {task['target']} (attempt {task['attempt']})",
            "",
            task["instructions"],
            "",
            f"- Answer file: `{task['answer_file']}`",
            f"- Tier: {task['tier']} ({task['model']})",
            "",
            "## System",
            "",
            task["system"],
            "",
            "## Prompt",
            "",
            task["prompt"],
            "",
            *_images_markdown(task),
            "## Output schema",
            "",
            "```json",
            schema,
            "```",
            "",
        ]
    )


def _images_markdown(task: dict[str, Any]) -> list[str]:
    images = task.get("images", [])
    if not images:
        return []
    lines = ["## Images", "", "Look at each image (in this folder) before answering:", ""]
    lines += [f"- {i['label']}: `{i['file']}`\n\n  ![{i['label']}]({i['file']})" for i in images]
    return [*lines, ""]


def unwrap(data: Any) -> Any:
    """The output inside ``{"task": ..., "output": ...}``, or ``data`` itself."""
    if isinstance(data, dict) and "output" in data and set(data) <= {"task", "output"}:
        return data["output"]
    return data


def write_once(path: Path, text: str | bytes) -> bool:
    """Write ``path`` atomically unless it exists; False if a *different* file is there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp_name, path)  # fails if the name exists: no overwrite, even in a race
        except FileExistsError:
            return path.read_bytes() == data
        return True
    finally:
        os.unlink(tmp_name)


def submit_answer(project_root: Path, settings: ProviderSettings, answer_file: Path) -> Path:
    """Check ``answer_file`` against its task and put it in the inbox; return its inbox path.

    The task is found from the file's name (``<skill>__<target>__<attempt>.answer.json``) or
    from a ``{"task": "<task file name>", "output": {...}}`` wrapper. An answer that breaks
    the task's schema raises SchemaError listing the problems, and nothing is written.
    """
    inbox = inbox_of(Path(project_root), settings)
    answer_file = Path(answer_file)
    data = _read_answer_file(answer_file)
    task_path = _find_task(inbox, answer_file, data)
    task = read_json(task_path, {"path": str(task_path)})
    output = unwrap(data)
    _validate(output, _import_output_type(task["output_type"], task_path), answer_file, task_path)
    target = inbox / str(task["answer_file"])
    if target.exists() and target.resolve() == answer_file.resolve():
        return target  # saved straight into the inbox: checked, nothing to copy
    if not write_once(target, json.dumps(output, indent=2, ensure_ascii=False) + "\n"):
        raise UserError(
            f"a different answer is already in {target}; delete it first to replace it",
            path=str(target),
        )
    return target


def inbox_of(project_root: Path, settings: ProviderSettings) -> Path:
    """The inbox folder, refused if it resolves outside the project (a link out of it)."""
    inbox = Path(project_root) / settings.inbox_dir
    root = Path(project_root).resolve()
    if not inbox.resolve().is_relative_to(root):
        raise UserError(
            f"the inbox {settings.inbox_dir!r} leads to {inbox.resolve()}, outside the project "
            f"{root}; make providers.inbox_dir in filmslate.toml a folder inside the project",
            path=str(inbox),
        )
    return inbox


def _read_answer_file(answer_file: Path) -> Any:
    def refuse(message: str) -> FilmslateError:
        return SchemaError(message, problems=[message], path=str(answer_file))

    return load_answer(answer_file, refuse)


class _NotFinite(ValueError):
    pass


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _refuse_constant(text: str) -> Any:
    raise _NotFinite(text)


def load_answer(path: Path, refuse: Refusal) -> Any:
    """The JSON value in an answer file. Whatever the file holds, a problem is ``refuse``'s
    error naming the file (and line) and what to do, never a traceback."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise refuse(f"{path} not found: give the path of the answer file you saved") from None
    except IsADirectoryError:
        raise refuse(f"{path} is a folder: give the answer file itself (.answer.json)") from None
    except OSError as exc:
        raise refuse(f"{path} cannot be read ({exc.strerror}); make it readable") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise refuse(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the answer "
            "as UTF-8 JSON"
        ) from None
    return _parse_answer(path, text, refuse)


def _parse_answer(path: Path, text: str, refuse: Refusal) -> Any:
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise refuse(
            f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno}); the answer "
            "is one JSON object"
        ) from None
    except _NotFinite as exc:
        raise refuse(
            f"{path}: the number {exc} is not finite; JSON answers hold finite numbers"
        ) from None
    except RecursionError:
        raise refuse(f"{path}: the JSON is nested too deeply to be an answer") from None
    try:  # a lone surrogate escape ("\ud800") parses, but no UTF-8 file can store it
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise refuse(
            f"{path}: a string holds the lone surrogate U+{ord(exc.object[exc.start]):04X}, "
            "which is not text; remove it"
        ) from None
    return value


def _validate(
    output: Any, output_type: type[pydantic.BaseModel], answer_file: Path, task_path: Path
) -> None:
    try:
        output_type.model_validate(output)
    except pydantic.ValidationError as exc:
        problems = validation_problems(exc)
        raise SchemaError(
            f"{answer_file} does not answer {task_path.name}: " + "; ".join(problems),
            problems=problems,
            task=str(task_path),
        ) from None


def _find_task(inbox: Path, answer_file: Path, data: Any) -> Path:
    name: str
    if isinstance(data, dict) and isinstance(data.get("task"), str) and "output" in data:
        name = data["task"] if data["task"].endswith(TASK_SUFFIX) else data["task"] + TASK_SUFFIX
    elif answer_file.name.endswith(ANSWER_SUFFIX):
        name = answer_file.name.removesuffix(ANSWER_SUFFIX) + TASK_SUFFIX
    else:
        raise UserError(
            f"cannot tell which task {answer_file} answers: name it "
            f"<skill>__<target>__<attempt>{ANSWER_SUFFIX}, or wrap the answer as "
            '{"task": "<task file name>", "output": {...}}',
            path=str(answer_file),
        )
    if Path(name).name != name or not (inbox / name).is_file():
        raise UserError(f"no task {name!r} is waiting in {inbox}", task=name)
    return inbox / name


# Task files written before the layer packages name answer types by their old modules; they
# keep loading from the package that now exports each type under the same class name.
MOVED_MODULES = {
    "filmslate.skills_narrative": "filmslate.skills.narrative",
    "filmslate.skills_validation": "filmslate.skills.validation",
    "filmslate.skills_locks": "filmslate.skills.continuity",
    "filmslate.skills_world": "filmslate.skills.continuity",
    "filmslate.skills_supervisor": "filmslate.skills.continuity",
    "filmslate.skills_production": "filmslate.skills.production",
    "filmslate.skills_qc": "filmslate.skills.production",
    "filmslate.skills_render": "filmslate.skills.production",
    "filmslate.skills_governance": "filmslate.skills.governance",
}


def _import_output_type(dotted: str, task_path: Path) -> type[pydantic.BaseModel]:
    module_name, _, qualname = dotted.partition(":")
    module_name = MOVED_MODULES.get(module_name, module_name)
    try:
        found: Any = import_module(module_name)
        for attr in qualname.split("."):
            found = getattr(found, attr)
    except (ImportError, AttributeError):
        raise UserError(
            f"cannot load the output model {dotted} named by {task_path}; is the "
            "package that defines it installed?",
            task=str(task_path),
        ) from None
    if not (isinstance(found, type) and issubclass(found, pydantic.BaseModel)):
        raise UserError(
            f"{dotted} named by {task_path} is not a pydantic model", task=str(task_path)
        )
    return found
