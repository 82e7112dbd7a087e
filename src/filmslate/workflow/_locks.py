"""Lock revisions: what changed between two versions, and the impact of a change.

A changed lock is a new version through the store. ``lock_diff`` says what changed between
two versions; ``impact`` lists every current artifact made (directly or through a chain) from
an older version of a lock, now stale, and what redoing it is projected to cost. The gates
are in ``filmslate.rules._locks``; adding a lock by hand is ``Project.add``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from ..core._errors import UserError
from ..core._names import HERO_VISUAL, LOCK_KINDS, ArtifactName, parse_stem, scene_of
from ..core._video_prices import video_cost, video_entry
from ..schemas import ShotList
from ..store._project import Project

RENDERED_KINDS = ("PROXY", "FINAL")  # priced per second of video by the price tables


# -- diffs ------------------------------------------------------------------------------------


def _flatten(model: BaseModel, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            out.update(_flatten(value, f"{path}."))
        elif isinstance(value, list):
            out[path] = "; ".join(str(v) for v in value) if value else "(none)"
        else:
            out[path] = "(none)" if value is None else str(value)
    return out


def lock_diff(old: BaseModel, new: BaseModel) -> list[tuple[str, str, str]]:
    """(field path, old value, new value) for every field that differs, in field order."""
    before, after = _flatten(old), _flatten(new)
    paths = list(after) + [p for p in before if p not in after]
    return [
        (p, before.get(p, "(none)"), after.get(p, "(none)"))
        for p in paths
        if before.get(p) != after.get(p)
    ]


def _lock_stem(name: str) -> tuple[str, str | None, int | None]:
    """(kind, subject, version or None) of ``CHAR_ALEX_LOCK`` or ``CHAR_ALEX_LOCK_v002.txt``."""
    text = name.strip()
    versioned = re.fullmatch(r"(.+)_v(\d{3})(?:\.\w+)?", text)
    if versioned:
        text, version = versioned.group(1), int(versioned.group(2))
    else:
        text, version = text.removesuffix(".txt"), None
    k, subject = parse_stem(text)
    if k.name not in LOCK_KINDS:
        raise UserError(
            f"{name} is not a lock: expected e.g. CHAR_ALEX_LOCK or "
            "SET_ABANDONED_WAREHOUSE_LOCK_v002.txt",
            name=name,
        )
    return k.name, subject, version


def _version_number(text: str) -> int:
    match = re.fullmatch(r"(?:.*_)?v?(\d{1,3})(?:\.\w+)?", text.strip())
    if match is None:
        raise UserError(f"{text!r} is not a version: use v001, v002, ...", version=text)
    return int(match.group(1))


def diff_versions(project: Project, name: str, old: str, new: str) -> list[tuple[str, str, str]]:
    """``slate lock diff NAME v001 v002``: what changed between two versions of a lock."""
    k, subject, _ = _lock_stem(name)
    models = [project.store.load(ArtifactName(k, subject, _version_number(v))) for v in (old, new)]
    return lock_diff(models[0], models[1])


# -- impact -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactRow:
    """One stale artifact: what it was made from and what redoing it is projected to cost."""

    artifact: str
    made_from: str
    est_cost: float
    basis: str


@dataclass(frozen=True)
class ImpactReport:
    """Everything made from older versions of a lock, and the projected cost to redo it."""

    lock: str
    current: str
    rows: tuple[ImpactRow, ...]
    currency: str = "USD"

    @property
    def total(self) -> float:
        """The projected cost of redoing every stale artifact."""
        return round(sum(r.est_cost for r in self.rows), 6)


def impact(project: Project, lock_name: str) -> ImpactReport:
    """Every current artifact made (transitively) from a version of the lock older than the
    latest (or than the version named), with its projected redo cost.

    Superseded artifact versions are history, not work, so only the latest version of each
    stem is listed. Renders (PROXY, FINAL) are priced from their shot-list row: duration x
    price per second of the hero tier's visual model x the regen multiplier of the shot's
    risk. Other artifacts are projected at what the run that made them cost (deterministic
    and hand-made ones: 0).
    """
    k, subject, version = _lock_stem(lock_name)
    store = project.store
    current = (
        store.record(ArtifactName(k, subject, version)) if version else store.latest(k, subject)
    )
    if current is None:
        raise UserError(f"no version of {lock_name} yet", name=lock_name)
    found: dict[str, str] = {}
    for older in reversed(range(1, current.name.version)):
        made_from = ArtifactName(k, subject, older)
        for dependent in store.dependents(made_from, transitive=True):
            if dependent.filename not in found and _is_latest(project, dependent):
                found[dependent.filename] = made_from.filename
    rows = tuple(
        ImpactRow(name, src, *_redo_cost(project, ArtifactName.parse(name)))
        for name, src in sorted(found.items())
    )
    return ImpactReport(current.name.stem, current.filename, rows, project.config.budget.currency)


def _is_latest(project: Project, name: ArtifactName) -> bool:
    latest = project.store.latest(name.kind, name.subject)
    return latest is not None and latest.name.version == name.version


def _redo_cost(project: Project, name: ArtifactName) -> tuple[float, str]:
    if name.kind in RENDERED_KINDS and name.subject:
        return _render_cost(project, name.kind, name.subject)
    return _recorded_cost(project, name)


def _render_cost(project: Project, kind_name: str, shot: str) -> tuple[float, str]:
    shotlist = project.store.latest("SHOTLIST", scene_of(shot))
    loaded = project.store.load(shotlist.name) if shotlist else None
    rows = loaded.rows if isinstance(loaded, ShotList) else []
    row = next((r for r in rows if r.shot_id == shot), None)
    if row is None:
        return 0.0, f"no shot-list row for {shot}: not priced"
    config = project.config
    model = str(getattr(config.visual, HERO_VISUAL[row.hero_tier]))
    resolution = "proxy" if kind_name == "PROXY" else "final"
    clip = video_cost(config, model, resolution, row.duration_s)  # as the render reserves it
    multiplier = config.regen.multiplier(row.regen_risk_estimate)
    cost = round(clip * multiplier, 6)
    entry = video_entry(config, model)
    priced = (
        f"{row.duration_s:g}s as a {entry.snap_duration(row.duration_s):g}s clip at {clip:g}"
        if entry is not None
        else f"{row.duration_s:g}s x {clip / row.duration_s:g}/s"
    )
    return cost, (
        f"{priced} ({model}, {resolution}, hero "
        f"{row.hero_tier}) x {multiplier:g} ({row.regen_risk_estimate} regen risk)"
    )


def _recorded_cost(project: Project, name: ArtifactName) -> tuple[float, str]:
    run_id = project.store.record(name).run_id
    conn = project.store.conn
    spent = conn.execute(
        "SELECT coalesce(sum(CAST(actual_cost AS REAL)), 0) FROM runlog "
        "WHERE event = 'spend' AND run_id = ?",
        (run_id,),
    ).fetchone()[0]
    if not spent:
        return 0.0, "deterministic or hand-made: no model cost"
    outputs = conn.execute("SELECT count(*) FROM artifacts WHERE run_id = ?", (run_id,)).fetchone()[
        0
    ]
    share = round(float(spent) / max(1, int(outputs)), 6)
    return share, f"what the run that made it cost ({outputs} output(s) shared {spent:g})"
