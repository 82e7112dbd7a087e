"""scene-revision reads the report whose findings it answers (issue 14 §1/§5): a
dialogue-consistency-check FAIL routes to scene-revision, so its DIALOGUE_CHECK is among the
revision's inputs (in its lineage, as revision notes), like PLAUS, TRUTH, CULTURE and PSYCH.
Through the real runner and store, with the scripted model.
"""

from __future__ import annotations

from pathlib import Path

from filmslate import Project
from filmslate.engine._gateway import TextRequest
from filmslate.engine._skill import REGISTRY
from filmslate.schemas import DialogueCheck, SceneRow, Scenes, ScriptScene
from filmslate.skills.narrative import SceneRevisionAnswer
from filmslate.testing import scripted_runner
from test_runtime import configure

ROW = SceneRow(
    scene_id="S01",
    summary="Nell and Tom argue over the dead lamp.",
    goal="Nell wants Tom to climb the tower and relight the lamp tonight",
    conflict="Tom refuses to climb in the storm and says the lamp is finished",
    outcome="Tom climbs the tower after Nell hands him her own lantern",
    location="LIGHTHOUSE",
    characters_present=["NELL", "TOM"],
)
SCRIPT = "INT. LIGHTHOUSE - NIGHT\n\nNELL\nClimb.\n\nTOM\nClimb.\n"
FINDING = "TOM: distinctiveness 1 is below the minimum 3: their lines could be another speaker's"


def check() -> DialogueCheck:
    voice = {
        "voice_assessment": "Flat.",
        "vocabulary_consistency": "Same words.",
        "tone_alignment": "Same tone.",
        "emotional_authenticity": "Thin.",
        "distinctiveness": 1,
    }
    return DialogueCheck(
        scene_id="S01",
        characters=[{"character": c, **voice} for c in ("NELL", "TOM")],  # type: ignore[misc]
    )


def revised(request: TextRequest) -> SceneRevisionAnswer:
    text = "INT. LIGHTHOUSE - NIGHT\n\nNELL\nClimb, Tom.\n\nTOM\nNot in this weather, not me.\n"
    return SceneRevisionAnswer(row=ROW, script=text, changes=["Tom now refuses in his own words"])


def test_scene_revision_declares_every_report_routed_to_it() -> None:
    kinds = {need.kind for need in REGISTRY.get("scene-revision").needs}
    assert {"TRUTH", "PLAUS", "CULTURE", "PSYCH", "DIALOGUE_CHECK"} <= kinds


def test_a_dialogue_finding_revision_has_the_check_in_its_lineage(tmp_path: Path) -> None:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    runner, _ = scripted_runner(root, revised, REGISTRY)
    store = runner.store
    store.write("SCENES", None, Scenes(rows=[ROW]))
    store.write("SCRIPT", "S01", ScriptScene(scene_id="S01", text=SCRIPT))
    made_from = ["SCRIPT_S01_v001.txt"]  # a check judges the scene's script slice
    store.write("DIALOGUE_CHECK", "S01", check(), made_from)
    result = runner.run("scene-revision", "S01", feedback=(FINDING,))
    assert result.gate.passed, result.gate.reasons
    names = {r.filename for r in result.records}
    assert names == {"SCENES_v002.csv", "SCRIPT_S01_v002.txt"}
    for made in names:
        assert "DIALOGUE_CHECK_S01_v001.md" in {n.filename for n in store.lineage(made)}
    # the check's next version judges the revision: it does not make the revision stale
    store.write("DIALOGUE_CHECK", "S01", check(), ["SCRIPT_S01_v002.txt"])
    assert not store.is_stale("SCENES_v002.csv")
