"""Input loading: resolve a skill's declared needs for one target and load them.

Every input is checked before a skill sees it: it must exist, be fresh (no input it was made
from has a newer version) and have passed its gate. A refusal names what to run instead.
"""

from __future__ import annotations

from typing import Any

from ..core._episodes import episode_of
from ..core._errors import InputNotReady
from ..core._names import SHOT_RE, format_stem, kind, lock_subject, scene_of
from ..core._scene_ids import earlier_in, in_order, ordered, previous_in
from ..store._project import Project
from ..store._store import Record
from ._readiness import reopened_by
from ._skill import Inputs, Need, Registry, Skill
from ._stops import gate_of
from ._story_inputs import scene_set_subjects, set_subject, state_base

# Subject forms that name a scene or a shot (an episode's target reads only its own).
SCENE_SUBJECTS = ("scene", "shot", "scene_or_run")
# Scopes that load one version per subject into ``Inputs.many``.
MANY_SCOPES = ("all", "within", "adjacent", "cast", "scene_set")


class InputLoader:
    """Loads the declared inputs of a skill for a target from one project's store."""

    def __init__(self, project: Project, registry: Registry) -> None:
        self.project = project
        self.store = project.store
        self.registry = registry

    def load(self, skill: Skill, target: str) -> Inputs:
        """Load every declared input, refusing missing, stale or failed ones."""
        inputs = Inputs()
        for need in skill.needs:
            if need.scope in MANY_SCOPES:
                for record in self._many(need, target):
                    self._check_usable(record, need)
                    inputs.many.setdefault(need.kind, {})[record.name.subject or ""] = self._load(
                        record
                    )
                    if need.lineage:
                        inputs.names.append(record.filename)
                continue
            latest = self._one(need, target, tracks=need.kind in skill.produces)
            if latest is None:
                if need.optional:
                    continue
                raise self._missing(need, target)
            self._check_usable(latest, need)
            inputs.one[need.kind] = self._load(latest)
            if need.lineage:
                inputs.names.append(latest.filename)
        return inputs

    def _one(self, need: Need, target: str, tracks: bool = False) -> Record | None:
        """The single version a one-subject need resolves to (None: there is none)."""
        if need.scope == "before_scene":
            # optional means the first scene may start with no initial state; a later
            # scene whose predecessor is untracked is refused (order matters), for a check
            # once the project tracks its world state at all, for the tracker always
            return self._state_before(target, strict=tracks or bool(self.store.latest(need.kind)))
        if need.scope == "previous":
            return self._previous_scene(need.kind, target)
        return self.store.latest(need.kind, subject_for(need, target))

    def _many(self, need: Need, target: str) -> list[Record]:
        """Records of a many-subject need: every subject, or just the target's cast / set."""
        if need.scope == "all" or not scene_of(target):
            # a whole-story target (PROJECT, an act) has everyone as its cast; an episode
            # reads its own scenes' and shots' versions (its cut is made from its takes)
            return self._of_episode(self.store.latest_of_each(need.kind), target)
        if need.scope == "within" and kind(need.kind).subject == "shot":
            return self._scene_shots(need.kind, target)  # a scene's takes, in shot-list order
        if need.scope in ("within", "adjacent"):
            scenes = [scene_of(target)]
            if need.scope == "adjacent":
                scenes.insert(0, previous_in(self.scene_order(), scenes[0]) or "")
            near = [self.store.latest(need.kind, s) for s in scenes if s]
            return [r for r in near if r is not None]
        cast, location = self._cast_and_set(target)
        subjects = cast if need.scope == "cast" else self._set_subjects(need, target, location)
        found = []
        for subject in subjects:
            record = self.store.latest(need.kind, subject)
            if record is None and not need.optional:
                raise self._missing(Need(need.kind, "target"), target, subject)
            if record is not None:
                found.append(record)
        return found

    @staticmethod
    def _of_episode(records: list[Record], target: str) -> list[Record]:
        """Records of an episode target's scenes and shots (any other target: all)."""
        if episode_of(target) != target:
            return records
        return [
            r
            for r in records
            if r.name.spec.subject not in SCENE_SUBJECTS
            or episode_of(r.name.subject or "") == target
        ]

    def _scene_shots(self, kind_name: str, target: str) -> list[Record]:
        """The latest version of a shot kind for each shot of the target's SHOTLIST."""
        if SHOT_RE.fullmatch(target):
            record = self.store.latest(kind_name, target)
            return [record] if record else []
        shots = self.store.latest("SHOTLIST", scene_of(target))
        rows = getattr(self.store.load(shots.name), "rows", []) if shots else []
        found = (self.store.latest(kind_name, row.shot_id) for row in rows)
        return [r for r in found if r is not None]

    def _cast_and_set(self, target: str) -> tuple[list[str], str]:
        """Characters and set of a scene (from SCENES) or a shot (from its SHOTLIST row)."""
        scene = scene_of(target)
        if SHOT_RE.fullmatch(target):
            shots = self.store.latest("SHOTLIST", scene)
            for row in getattr(self.store.load(shots.name), "rows", []) if shots else []:
                if row.shot_id == target:
                    return list(row.char_ids), str(row.set_id)
            return [], ""
        for row in self._scene_rows():
            if row.scene_id == scene:  # lock subjects are canonical: "Old Mill" -> OLD_MILL
                return (
                    [lock_subject(c) for c in row.characters_present],
                    lock_subject(str(row.location)),
                )
        return [], ""

    def _state_before(self, target: str, strict: bool = True) -> Record | None:
        """The WORLD_STATE as it stood before the target's scene: the latest state after the
        previous scene (the initial state for the first), so tracking later scenes does not
        make this scene's inputs stale."""
        scene = scene_of(target)
        known = "SELECT DISTINCT after_scene FROM world_states WHERE after_scene != ''"
        previous = previous_in(self._order_for(scene, known), scene)
        previous = state_base(self._scene_rows(), scene, previous)  # story time (flashbacks)
        state = self.store.state_after(previous or "")
        if state is None and previous is not None and strict:
            raise InputNotReady(
                f"no WORLD_STATE after {previous}: run `slate run "
                f"world-state-tracker --scene {previous}` first",
                input=f"WORLD_STATE after {previous}",
            )
        return state

    def _set_subjects(self, need: Need, target: str, location: str) -> list[str]:
        """A scene's or shot's SET lock subjects, resolved by the sets' declared places (a
        scene's continuous move from another place adds that place's, when there is one)."""
        if not location:
            return []
        if SHOT_RE.fullmatch(target):
            return [set_subject(self.store, location)]
        rows = self._scene_rows()
        own, *ends = scene_set_subjects(self.store, rows, scene_of(target)) or [location]
        return [own, *(s for s in ends if self.store.latest(need.kind, s) is not None)]

    def _previous_scene(self, kind_name: str, target: str) -> Record | None:
        """The latest version of ``kind`` for the nearest earlier scene (in story order)
        that has one."""
        scene = scene_of(target)
        known = "SELECT DISTINCT subject FROM artifacts WHERE kind = ?"
        for earlier in earlier_in(self._order_for(scene, known, kind_name), scene):
            record = self.store.latest(kind_name, earlier)
            if record is not None:
                return record
        return None

    def scene_order(self) -> list[str]:
        """The scene ids in story order: the rows of the latest SCENES (empty: none yet)."""
        return [row.scene_id for row in self._scene_rows()]

    def _order_for(self, scene: str, known: str, *args: str) -> list[str]:
        """The story order, plus the scenes the ``known`` query finds when ``scene`` is not
        in SCENES (a project without one: its ids are the only order it has)."""
        order = self.scene_order()
        if not scene or in_order(order, scene) is not None:
            return order
        extra = [str(row[0]) for row in self.store.conn.execute(known, args) if row[0]]
        return ordered([*order, *extra], order)

    def _scene_rows(self) -> list[Any]:
        scenes = self.store.latest("SCENES")
        return list(getattr(self.store.load(scenes.name), "rows", [])) if scenes else []

    def _load(self, record: Record) -> Any:
        if record.name.spec.binary:
            return self.store.read(record.name)
        return self.store.load(record.name)

    def _missing(self, need: Need, target: str, subject: str | None = None) -> InputNotReady:
        subject = subject or subject_for(need, target)
        stem = format_stem(need.kind, subject)
        producer = self.registry.producer_of(need.kind)
        how = (
            f"run `slate run {producer.name}{target_flag(producer, target)}`"
            if producer
            else f"add it by hand with `slate add {stem}.{kind(need.kind).extension}`"
        )
        return InputNotReady(f"missing input {stem}: {how}", input=stem)

    def _check_usable(self, record: Record, need: Need) -> None:
        if need.history:
            return
        # a scene's input is judged as its scene judges it: a lock of someone not in that
        # scene does not reopen it (a voice revision leaves the other scenes' checks standing)
        scene = scene_of(record.name.subject or "")
        stale = (
            reopened_by(self.project, record, scene)
            if scene
            else self.store.stale_inputs(record.name)
        )
        if stale:
            old, new = stale[0]
            raise InputNotReady(
                f"input {record.filename} is stale: it was made from {old}, "
                f"now {new}; rerun what produces {need.kind}",
                input=record.filename,
            )
        verdict = gate_of(self.project, record.filename)
        if verdict in ("FAIL", "FIX"):
            raise InputNotReady(
                f"input {record.filename} failed its gate ({verdict}): revise "
                "it first; nothing runs downstream of a failed gate",
                input=record.filename,
            )


def subject_for(need: Need, target: str) -> str | None:
    """The subject a one-subject need names for a target (None: a project-wide kind)."""
    if need.scope == "project":
        return None
    if need.scope == "scene":
        return scene_of(target) or target
    return target


def target_flag(skill: type[Skill], target: str) -> str:
    """The ``slate run`` flag that points a skill at a target (`` --scene S03``)."""
    return {
        "project": "",
        "scene": f" --scene {scene_of(target) or target}",
        "shot": f" --shot {target}",
        "target": f" --target {target}",
    }[skill.target_scope]
