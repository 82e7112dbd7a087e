"""`slate import`: a Fountain screenplay into SCENES, BREAKDOWN and per-scene SCRIPT slices.

Everything written here is extracted, never invented: ids, locations and times from scene
headings, characters from dialogue cues and the names the action uses (how an off-screen or
voice-over speaker is heard noted in BREAKDOWN), props from the capitalised-noun convention
(candidates, the import's log rows say), first appearances from order. Goal, conflict and
outcome are left empty for scene-goals, implicit state changes for script-breakdown (which
also confirms or rejects the prop candidates), and the import says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core._episodes import check_film_import
from ..core._errors import ProjectError, SchemaError
from ..rules._fountain import Screenplay, parse_fountain
from ..rules._script_tables import breakdown_table, scenes_table, script_slices
from ..schemas import Breakdown, Scenes, ScriptScene
from ..store import _runlog
from ..store._project import Project
from ..store._store import Batch, Record, Staged, Store
from ._episode_import import (
    check_episode_import,
    merged_breakdown,
    merged_scenes,
    same_episode,
    scoped,
)

# Also the import's mark on its props: candidates, until script-breakdown (which names each
# prop's owner, or rejects a candidate that is not a thing) writes the next BREAKDOWN.
PENDING = (
    "goal, conflict and outcome: pending scene-goals; implicit state changes: pending "
    "script-breakdown; props_used are candidates (capitalised nouns in the action) until "
    "script-breakdown confirms or rejects them"
)


@dataclass
class ImportResult:
    """What an import wrote (or found unchanged) and what it left for the model."""

    screenplay: Screenplay
    records: list[Record] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # an episode's scenes a re-import replaced


def import_screenplay(
    project: Project, path: Path, aliases: dict[str, str] | None = None, episode: str = ""
) -> ImportResult:
    """Parse a Fountain file and store SCENES, BREAKDOWN and SCRIPT_<SCENE> versions; with
    ``episode``, as that episode's scenes (``workflow._episode_import``)."""
    declared = project.config.series.episodes
    if episode:
        check_episode_import(episode, declared)
    else:
        check_film_import(declared)  # a series' scenes name their episode
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"{path} not found", path=str(path)) from None
    except OSError as exc:  # a folder, a file without read permission
        raise ProjectError(
            f"{path} cannot be read ({exc.strerror}): give the path of a Fountain file",
            path=str(path),
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SchemaError(
            f"{path}:{line}: not UTF-8 text (byte "
            f"0x{data[exc.start]:02x}); a Fountain screenplay is plain text: save it as UTF-8",
            path=str(path),
        ) from None
    play = parse_fountain(text, aliases=aliases, source=Path(path).name)
    if episode:
        play = scoped(play, episode)
    result = ImportResult(play, flagged=[PENDING])
    run_id = _runlog.new_run_id()
    store = project.store
    tables: tuple[Scenes, Breakdown] = (scenes_table(play), breakdown_table(play))
    kept: list[Record] = []  # the latest tables, when they hold this episode's screenplay
    if episode:
        tables, result.replaced, kept = _episode_tables(store, tables, episode, declared)
    # One batch: every slice, SCENES and BREAKDOWN are published together or not at all,
    # so an import killed half-way never leaves slices without their tables.
    with store.batch() as batch:
        slices = [_stage(store, batch, run_id, s, [], path) for s in script_slices(text, play)]
        staged: list[Record | Staged] = []
        if kept and all(isinstance(s, Record) for s in slices):
            staged = list(kept)  # the same screenplay: what scene-goals filled is kept
        else:
            staged = [_stage(store, batch, run_id, table, slices, path) for table in tables]
    if isinstance(staged[0], Record):  # SCENES unchanged: the same screenplay again
        result.replaced = []
    result.records = [i if isinstance(i, Record) else i.published for i in (*slices, *staged)]
    return result


def _episode_tables(
    store: Store, tables: tuple[Scenes, Breakdown], episode: str, declared: Sequence[str]
) -> tuple[tuple[Scenes, Breakdown], list[str], list[Record]]:
    """The episode's tables merged into the latest SCENES and BREAKDOWN (read once each),
    the scenes they replace, and the latest two themselves when SCENES already has the
    episode's scenes as the screenplay writes them (model-filled fields aside; else [])."""
    latest = [store.latest(kind) for kind in ("SCENES", "BREAKDOWN")]
    scenes_now, breakdown_now = (store.load(r.name) if r else None for r in latest)
    assert scenes_now is None or isinstance(scenes_now, Scenes)
    assert breakdown_now is None or isinstance(breakdown_now, Breakdown)
    scenes, replaced = merged_scenes(scenes_now, tables[0], episode, declared)
    breakdown = merged_breakdown(breakdown_now, tables[1], episode, declared)
    kept: list[Record] = []
    if latest[0] and latest[1] and same_episode(scenes_now, tables[0], episode):
        kept = [latest[0], latest[1]]
    return (scenes, breakdown), replaced, kept


def _stage(
    store: Store,
    batch: Batch,
    run_id: str,
    payload: Scenes | Breakdown | ScriptScene,
    inputs: list[Record | Staged],
    path: Path,
) -> Record | Staged:
    """The unchanged latest version, or the payload staged as the next one."""
    subject = payload.subject
    names = [i.filename for i in inputs if isinstance(i, Record)]
    if len(names) == len(inputs):  # a changed slice makes new tables
        same = store.same_as_latest(payload.KIND, subject, payload, names)
        if same is not None:
            return same  # re-importing the same script changes nothing
    entry = _runlog.LogEntry(
        run_id=run_id,
        skill_name="import",
        event="write",
        outcome="PASS",
        model_used="builtin",
        tier="throughput",
        target=subject or "PROJECT",
        scene_id=subject or "",
        notes=f"imported from {Path(path).name}; {PENDING}",
    )
    staged = [i.name if isinstance(i, Record) else i for i in inputs]
    return batch.add(payload.KIND, subject, payload, inputs=staged, entry=entry)
