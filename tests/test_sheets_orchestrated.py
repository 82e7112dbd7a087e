"""Reference sheets in an orchestrated production (synthetic film, real runner and store):
a person's own sheet added mid-production is used by the shots that show the character and is
never written over by the sheets step."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from filmslate.core._names import ArtifactName
from filmslate.schemas import ShotList
from filmslate.store._project import Project
from filmslate.synthetic import synthetic_project
from filmslate.workflow._orchestrator import Orchestrator


def latest(project: Project, kind: str) -> dict[str, int]:
    return {r.name.subject or "": r.name.version for r in project.store.latest_of_each(kind)}


def showing(project: Project, character: str) -> set[str]:
    shots = set()
    for record in project.store.latest_of_each("SHOTLIST"):
        shotlist = project.store.load(record.name)
        assert isinstance(shotlist, ShotList)
        shots |= {row.shot_id for row in shotlist.rows if character in row.char_ids}
    return shots


def test_a_persons_sheet_is_used_by_the_characters_shots_and_never_overwritten(
    tmp_path: Path,
) -> None:
    runner, _ = synthetic_project(tmp_path / "film", 2, 2)
    assert Orchestrator(runner).run().status == "complete"
    project = runner.project
    sheets = latest(project, "CHAR_REF")
    assert set(sheets) == set(latest(project, "CHAR_LOCK")) and set(sheets.values()) == {1}
    character = next(c for c in sorted(sheets) if showing(project, c))
    boards = latest(project, "STORYBOARD")
    drawing = tmp_path / f"CHAR_{character}_REF.png"  # as `slate add` takes it
    Image.new("RGB", (900, 600), (10, 120, 60)).save(drawing)
    assert project.add(drawing, reason="the costume designer's sheet").name.version == 2
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    assert "reference-sheets" not in {r.skill for r in outcome.ran}
    assert latest(project, "CHAR_REF") == {**sheets, character: 2}  # the person's, kept
    redone = {s for s, v in latest(project, "STORYBOARD").items() if v != boards[s]}
    assert redone == showing(project, character)
    shot = sorted(redone)[0]
    board = ArtifactName("STORYBOARD", shot, latest(project, "STORYBOARD")[shot])
    used = {n.filename for n in project.store.lineage(board)}
    assert f"CHAR_{character}_REF_v002.png" in used
    assert project.verify() == []
