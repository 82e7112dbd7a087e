"""Lineage and staleness: which versions an artifact was made from, what was made from it,
and whether any of its inputs has moved on (DESIGN §3: freshness is lineage)."""

from __future__ import annotations

from ..core._names import ArtifactName
from ._catalog import Catalog
from ._index import Record


class Lineage(Catalog):
    """The catalog plus the lineage queries: inputs, dependents, staleness."""

    def lineage(self, name: str | ArtifactName) -> list[ArtifactName]:
        """The exact input versions an artifact was made from."""
        rec = self.record(name)
        rows = self.conn.execute(
            "SELECT input FROM lineage WHERE artifact = ? ORDER BY input", (rec.filename,)
        ).fetchall()
        return [ArtifactName.parse(r[0]) for r in rows]

    def dependents(self, name: str | ArtifactName, transitive: bool = False) -> list[ArtifactName]:
        """Artifacts made from this version (directly, or through any chain)."""
        start = self.record(name).filename
        seen: set[str] = set()
        frontier = [start]
        while frontier:
            marks = ",".join("?" for _ in frontier)
            rows = self.conn.execute(
                f"SELECT DISTINCT artifact FROM lineage WHERE input IN ({marks})", frontier
            ).fetchall()
            frontier = [r[0] for r in rows if r[0] not in seen]
            seen.update(frontier)
            if not transitive:
                break
        return sorted(ArtifactName.parse(n) for n in seen)

    def stale_inputs(self, name: str | ArtifactName) -> list[tuple[ArtifactName, ArtifactName]]:
        """(input used, newer version available) for every input that has moved on.

        Revision notes are the exception: a report read by a revision of the work it judged
        (REDTEAM_PROJECT_v001, made from BEATS_v001, read by BEATS_v002) is feedback, and
        its newer versions judge the revision itself, so they never make the revision stale.
        """
        out = []
        for used in self.lineage(name):
            newest = self._current(used)
            if newest is not None and newest.version > used.version:
                out.append((used, newest))
        return [pair for pair in out if not self._feedback(name, pair[0])] if out else out

    def _feedback(self, name: str | ArtifactName, used: ArtifactName) -> bool:
        """True when ``used`` was made from an earlier version of a stem that ``name``'s run
        wrote (and is not itself of such a stem: a predecessor is not feedback)."""
        record = self.record(name)
        rows = self.conn.execute(
            "SELECT stem, version FROM artifacts WHERE run_id = ?", (record.run_id,)
        ).fetchall()
        written = {str(stem): int(version) for stem, version in rows} or {
            record.name.stem: record.name.version
        }
        if used.stem in written:
            return False
        return any(
            made.stem in written and made.version < written[made.stem]
            for made in self.lineage(used)
        )

    def _current(self, used: ArtifactName) -> ArtifactName | None:
        """What replaces ``used`` today. WORLD_STATE versions form a timeline (one per scene),
        so a state is superseded only by a newer state after the same scene."""
        if used.kind != "WORLD_STATE":
            newest = self.latest(used.kind, used.subject)
            return newest.name if newest else None
        row = self.conn.execute(
            "SELECT after_scene FROM world_states WHERE name = ?", (used.filename,)
        ).fetchone()
        state = self.state_after(row[0]) if row else None
        return state.name if state else used

    def state_after(self, scene: str) -> Record | None:
        """The latest WORLD_STATE that is the state after ``scene`` ('' = the initial one)."""
        row = self.conn.execute(
            "SELECT name FROM world_states WHERE after_scene = ? ORDER BY version DESC LIMIT 1",
            (scene,),
        ).fetchone()
        return self.record(row[0]) if row else None

    def written_at(self, filename: str) -> int:
        """The run-log sequence number of a version's write (0 when there is none): what
        happened after it, the log says."""
        row = self.conn.execute(
            "SELECT max(seq) FROM runlog WHERE event = 'write' AND artifact_output = ?", (filename,)
        ).fetchone()
        return int(row[0] or 0)

    def is_stale(self, name: str | ArtifactName) -> bool:
        """True when any input of this version has a newer version."""
        return bool(self.stale_inputs(name))
