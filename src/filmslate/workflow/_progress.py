"""Rich progress bars for `slate run` (the orchestrator's Progress)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from ..engine._runner import RunResult
from ._scheduler import JobCounts

COLOURS = {"PASS": "green", "FIX": "yellow", "FAIL": "red"}


class RichProgress:
    """One bar per phase; each skill that actually ran prints one line above the bars."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bars = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[dim]{task.fields[detail]}"),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop drawing (idempotent)."""
        self.bars.stop()

    def phase(self, name: str, total: int) -> None:
        """Finish the previous bar and start one for this phase."""
        if self.task is not None:
            self.bars.update(self.task, completed=self.bars.tasks[-1].total, detail="")
        self.task = self.bars.add_task(name, total=max(total, 1), detail="")

    def advance(self, detail: str) -> None:
        """One unit of the phase is done."""
        if self.task is not None:
            self.bars.update(self.task, advance=1, detail=detail)

    def jobs(self, counts: JobCounts) -> None:
        """``slate run --jobs N``: the phase's steps running, queued and done, and the
        provider waits in flight, in the current bar's detail."""
        if self.task is None:
            return
        waits = ", ".join(f"{name} {n}" for name, n in sorted(counts.waiting.items()))
        detail = f"{counts.running} running, {counts.queued} queued, {counts.done} done"
        self.bars.update(self.task, detail=detail + (f"; waiting on {waits}" if waits else ""))

    def stopping(self, running: int) -> None:
        """Ctrl-C under ``--jobs``: the steps in flight finish first (``_scheduler``)."""
        self.bars.console.print(
            f"[yellow]stopping[/]: {running} step(s) in flight finish first and are stored "
            "(a paid job is never abandoned half-recorded); kill -9 stops at once and is safe"
        )

    def ran(self, result: RunResult) -> None:
        """Print the step that ran, its verdict and cost."""
        if result.status == "waiting":
            self.bars.console.print(f"  {result.skill} {result.target}: [yellow]waiting[/]")
            return
        for attempt, gate in result.earlier:  # revisions inside the run: show what was fixed
            self.bars.console.print(
                f"  {result.skill} {result.target}: attempt {attempt} "
                f"[{COLOURS[gate.verdict]}]{gate.verdict}[/]: "
                f"{'; '.join(gate.reasons)} [dim](revised)[/]"
            )
        verdict = result.gate.verdict if result.status == "done" else "up to date"
        colour = COLOURS.get(verdict, "dim")
        names = ", ".join(r.filename for r in result.records) or "-"
        self.bars.console.print(
            f"  {result.skill} {result.target}: [{colour}]{verdict}[/] "
            f"-> {names} [dim](attempt {result.attempt}, cost "
            f"{result.actual_cost:.4f})[/]"
        )
