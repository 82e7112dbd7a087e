"""`slate mcp`: the project as an MCP server (stdio) for agents.

Every tool calls the same library code as the matching `slate` command, so an agent meets the
same gates, budget, run lock and log as a person at the terminal: `run` is `slate run`,
`submit` is `slate submit`, `verify` is `slate verify`. Each call opens the project afresh
(nothing is held between calls, so a `slate` command in another terminal sees the same
state), and an error a user could cause comes back as a tool error with the CLI's one-line
message, never a traceback.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from ..core._errors import FilmslateError, UserError
from ..store._project import Project
from ._common import runner_for

F = TypeVar("F", bound=Callable[..., Any])
TEXT_LIMIT = 200_000  # characters of an artifact returned inline; larger text is cut

INSTRUCTIONS = (
    "filmslate: a gated, versioned, budgeted AI film production. `status` first; `run` "
    "without a skill runs the whole production; when it waits, `inbox` lists the tasks "
    "(system text, prompt, JSON schema, images) and `submit` answers one and continues. "
    "Every rule of the CLI holds: gates, budget caps, hard stops, the run log."
)


def build_server(root: Path) -> Any:
    """The MCP server for the project at ``root``, with every tool registered."""
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError as exc:
        raise UserError(
            f"slate mcp needs the mcp extra: pip install 'filmslate[mcp]' ({exc.name} is missing)"
        ) from None

    server = MCPServer("filmslate", instructions=INSTRUCTIONS)
    tools = ProjectTools(root)
    for name in TOOLS:
        method = getattr(tools, name)
        server.tool(name=name, description=method.__doc__)(method)
    return server


def _clean_errors(method: F) -> F:
    """A FilmslateError becomes the tool error the agent reads (its message, no traceback)."""

    @wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        from mcp.server.mcpserver.exceptions import ToolError

        try:
            return method(*args, **kwargs)
        except FilmslateError as exc:
            raise ToolError(f"error: {exc}") from None

    return call  # type: ignore[return-value]


class ProjectTools:
    """The tools, one method each; the docstrings are what the agent is shown."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def _project(self) -> Iterator[Project]:
        with Project(self.root) as project:
            yield project

    @contextmanager
    def _running(self, command: str) -> Iterator[Project]:
        from ..store._runlock import run_lock

        with self._project() as project, run_lock(project.root, command):
            yield project

    @_clean_errors
    def status(self) -> dict[str, Any]:
        """The project: artifacts by kind, run-log rows, spend, every cap and open hard stop."""
        from ..engine._stops import all_open_hard_stops
        from ..store._ledger import Ledger

        with self._project() as p:
            s = p.status()
            caps = [
                {"level": c.level, "scope": c.scope, "cap": c.cap, "committed": c.committed}
                | {"percent": round(c.percent, 1), "state": c.state}
                for c in Ledger(p.store, p.config).states()
            ]
            stops = [
                {"kind": h.kind, "target": h.target, "reason": h.reason, "run_id": h.run_id}
                for h in all_open_hard_stops(p)
            ]
            return {
                "project": s.name,
                "artifacts": {k: {"stems": n, "versions": v} for k, (n, v) in s.counts.items()},
                "log_rows": s.log_rows,
                "spend": s.spend,
                "last_run": s.last_run,
                "caps": caps,
                "hard_stops": stops,
                "problems": list(s.problems),
            }

    @_clean_errors
    def inbox(self) -> list[dict[str, Any]]:
        """The handoff tasks waiting for an answer: skill, target, instructions, system text,
        prompt, the answer's JSON schema, and the images to look at (absolute paths)."""
        from ..engine._runner import provider_settings
        from ..providers.handoff import ANSWER_SUFFIX, TASK_SUFFIX, inbox_of

        with self._project() as p:
            folder = inbox_of(p.root, provider_settings(p))
            waiting = []
            for path in sorted(folder.glob(f"*{TASK_SUFFIX}")) if folder.is_dir() else []:
                stem = path.name.removesuffix(TASK_SUFFIX)
                if (folder / f"{stem}{ANSWER_SUFFIX}").exists():
                    continue
                task = json.loads(path.read_text(encoding="utf-8"))
                for image in task.get("images", []):
                    image["path"] = str(folder / image["file"])
                waiting.append(task)
            return waiting

    @_clean_errors
    def submit(self, task: str, answer: dict[str, Any]) -> dict[str, Any]:
        """Answer one inbox task (its `task` name and the JSON object its schema asks for);
        the answer is checked against the schema, then the waiting skill runs on."""
        from ..engine._runner import provider_settings
        from ..providers.handoff import submit_answer

        with self._running("slate mcp submit") as p, tempfile.TemporaryDirectory() as tmp:
            wrapped = Path(tmp) / "answer.json"
            wrapped.write_text(json.dumps({"task": task, "output": answer}), encoding="utf-8")
            stored = submit_answer(p.root, provider_settings(p), wrapped)
            skill, target, _attempt = stored.name.split(".", 1)[0].split("__")
            with closing(runner_for(p)) as runner:
                return _result(runner.run(skill, target))

    @_clean_errors
    def run(self, skill: str | None = None, target: str = "PROJECT") -> dict[str, Any]:
        """Run one skill or loop (see `skills`) on a target to PASS; with no skill, run the
        whole production: everything missing or stale, in loop order."""
        from ..workflow._dbos_jobs import run_engine
        from ..workflow._loops import LOOPS, run_loop
        from ..workflow._orchestrator import Orchestrator
        from ..workflow._vision_preflight import refuse_blind_vision

        with (
            self._running(f"slate mcp run {skill or ''}".strip()) as p,
            run_engine(p, None) as attach,  # [run] engine, as `slate run` without --engine
            closing(attach(runner_for(p))) as runner,
        ):
            if skill is None:
                refuse_blind_vision(runner)  # before any sheet, storyboard or proxy is paid
                outcome = Orchestrator(runner).run()
                ended = {"status": outcome.status, "summary": outcome.describe()}
                if outcome.status == "waiting":  # the summary speaks of `slate submit`
                    return ended | {"next": "answer the task with `submit`, then `run` again"}
                return ended
            if skill in LOOPS:
                done = run_loop(runner, skill, target)
                passed = "passed" if done.passed else "not passed"
                return {"status": passed, "summary": done.describe()}
            return _result(runner.run(skill, target))

    @_clean_errors
    def skills(self) -> list[dict[str, Any]]:
        """Every registered skill: name, layer, tier, loop, inputs and outputs."""
        from ..engine._skill import load_skills

        return [
            {"name": s.name, "layer": s.layer, "tier": s.tier if s.uses_model else "builtin"}
            | {"loop": s.loop, "needs": [n.describe() for n in s.needs]}
            | {"produces": list(s.produces)}
            for s in load_skills()
        ]

    @_clean_errors
    def impact(self, lock: str) -> dict[str, Any]:
        """What a revised lock makes stale (every current artifact made from an older
        version) and the projected cost of redoing it, before running anything."""
        from ..workflow._locks import impact

        with self._project() as p:
            report = impact(p, lock)
            rows = [
                {"artifact": r.artifact, "made_from": r.made_from, "est_cost": r.est_cost}
                for r in report.rows
            ]
            return {"lock": report.current, "stale": rows, "total": report.total}

    @_clean_errors
    def verify(self) -> dict[str, Any]:
        """Check the whole project; any violation is a hard stop until resolved."""
        with self._project() as p:
            problems = [str(v) for v in p.verify()]
            versions = sum(v for _, v in p.store.counts().values())
            return {"clean": not problems, "violations": problems, "versions": versions}

    @_clean_errors
    def artifacts(self, kind: str | None = None) -> list[str]:
        """The latest version of every artifact (of one kind when given)."""
        with self._project() as p:
            if kind is None:
                return [r.name.filename for r in p.store.artifacts()]
            return [r.name.filename for r in p.store.latest_of_each(kind)]

    @_clean_errors
    def read_artifact(self, name: str) -> dict[str, Any]:
        """One artifact version (or the latest, named without a version): its text, hash,
        inputs and path; media (png, mp4, wav) give their path and size instead of text."""
        with self._project() as p:
            record, data = p.show(name)
            found: dict[str, Any] = {
                "name": record.name.filename,
                "sha256": record.sha256,
                "path": str(p.root / record.name.relpath),
                "inputs": [n.filename for n in p.store.lineage(record.name)],
                "size": len(data),
            }
            if record.name.spec.extension in ("png", "mp4", "wav"):
                return found
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise UserError(f"{name} is not text; read the file at {found['path']}") from None
            return found | {"text": text[:TEXT_LIMIT], "cut": len(text) > TEXT_LIMIT}


TOOLS = (
    "status",
    "inbox",
    "submit",
    "run",
    "skills",
    "impact",
    "verify",
    "artifacts",
    "read_artifact",
)


def _result(result: Any) -> dict[str, Any]:
    """A skill run as the CLI prints it: waiting for a task, up to date, or the verdict."""
    found: dict[str, Any] = {"skill": result.skill, "target": result.target}
    found["status"] = result.status
    if result.status == "waiting":
        return found | {"task": str(result.task_path), "next": "answer it with `submit`"}
    if result.status == "up_to_date":
        return found
    return found | {
        "verdict": result.gate.verdict,
        "reasons": list(result.gate.reasons),
        "artifacts": [r.filename for r in result.records],
        "attempt": result.attempt,
        "cost": result.actual_cost,
    }
