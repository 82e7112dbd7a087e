"""What every command group of the `slate` command shares: the consoles, the common options
and the way to a project and a runner.

Nothing heavy is imported here at module level: `slate --help` and the start of every command
pay only for typer. rich's console, the store and the runner are imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core._errors import HardStop, UserError

if TYPE_CHECKING:
    from rich.console import Console

    from ..engine._runner import Runner
    from ..store._project import Project


class LazyConsole:
    """A rich Console made on first use (importing rich.console costs about as much as typer)."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False)
        return self._console

    def print(self, *objects: Any, **options: Any) -> None:
        self.console.print(*objects, **options)


out = LazyConsole()
err = LazyConsole(stderr=True)


def plain(text: object) -> str:
    """``text`` with rich markup escaped, to print inside a markup string.

    Messages quote filmslate.toml (``[prices]``, ``[visual]``) and lists (``[in, out]``),
    which rich would otherwise read as style tags and drop from the line. Every error,
    gate reason and stop reason the CLI prints goes through this."""
    from rich.markup import escape

    return escape(str(text))


ProjectOpt = Annotated[
    Path | None,
    typer.Option(
        "--project", "-C", help="Project folder (default: the current folder or a parent)."
    ),
]
SceneOpt = Annotated[str | None, typer.Option("--scene", help="A scene id, e.g. S03.")]
ShotOpt = Annotated[str | None, typer.Option("--shot", help="A shot id, e.g. S03_SH02.")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="PROJECT, a scene, ACT_1 or E01.")]


def open_project(project: Path | None) -> Project:
    from ..store._project import Project

    return Project.find(project)


def runner_for(p: Project) -> Runner:  # imported lazily: model SDK glue is slow to import
    """A runner, after checking the project: SPEC §6 makes an integrity violation (an
    overwritten artifact, a missing log entry) a hard stop for any further work."""
    problems = p.verify()
    if problems:
        listing = "\n  ".join(str(v) for v in problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise HardStop(
            f"the project fails `slate verify` ({len(problems)} violation(s)); no "
            f"work runs until it is clean:\n  {listing}{more}"
        )
    from ..engine._runner import Runner

    return Runner(p)


def target_of(scene: str | None, shot: str | None, target: str | None) -> str:
    given = [t for t in (scene, shot, target) if t]
    if len(given) > 1:
        raise UserError("give one of --scene, --shot or --target")
    return given[0] if given else "PROJECT"
