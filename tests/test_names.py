"""Every naming rule of SPEC §3-4, accepted and refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filmslate import KINDS, ArtifactName, ArtifactNameError
from filmslate.core._names import parse_unversioned

GOOD = {
    "BEATS_v001.md": ("BEATS", None, 1, "narrative"),
    "SCENES_v002.csv": ("SCENES", None, 2, "narrative"),
    "PSYCH_S03_v001.md": ("PSYCH", "S03", 1, "narrative"),
    "DIALOGUE_CHECK_S12_v004.md": ("DIALOGUE_CHECK", "S12", 4, "narrative"),
    "TRUTH_S01_v001.md": ("TRUTH", "S01", 1, "validation"),
    "REDTEAM_ACT_1_v001.md": ("REDTEAM", "ACT_1", 1, "validation"),
    "AUDIENCE_PROJECT_v003.md": ("AUDIENCE", "PROJECT", 3, "validation"),
    "AUDIENCE_E01_v001.md": ("AUDIENCE", "E01", 1, "validation"),
    "CHAR_ALEX_LOCK_v001.txt": ("CHAR_LOCK", "ALEX", 1, "continuity"),
    "SET_ABANDONED_WAREHOUSE_LOCK_v002.txt": ("SET_LOCK", "ABANDONED_WAREHOUSE", 2, "continuity"),
    "VOICE_MRS_HALE_LOCK_v001.txt": ("VOICE_LOCK", "MRS_HALE", 1, "continuity"),
    "STYLE_NOIR_LOCK_v001.txt": ("STYLE_LOCK", "NOIR", 1, "continuity"),
    "WORLD_STATE_v010.json": ("WORLD_STATE", None, 10, "continuity"),
    "STATE_DIFF_S04_v001.json": ("STATE_DIFF", "S04", 1, "continuity"),
    "CONTINUITY_REPORT_PROJECT_v001.md": ("CONTINUITY_REPORT", "PROJECT", 1, "continuity"),
    "SHOTLIST_S03_v001.csv": ("SHOTLIST", "S03", 1, "production"),
    "GENPACK_S03_SH02_v001.txt": ("GENPACK", "S03_SH02", 1, "production"),
    "GENPACK_S103_SH102_v001.txt": ("GENPACK", "S103_SH102", 1, "production"),
    "CHAR_NELL_REF_v001.png": ("CHAR_REF", "NELL", 1, "production"),
    "SET_LIGHTHOUSE_LAMP_ROOM_REF_v002.png": ("SET_REF", "LIGHTHOUSE_LAMP_ROOM", 2, "production"),
    # one way only: the suffix decides, whatever the subject ends with
    "CHAR_X_REF_LOCK_v001.txt": ("CHAR_LOCK", "X_REF", 1, "continuity"),
    "CHAR_X_LOCK_REF_v001.png": ("CHAR_REF", "X_LOCK", 1, "production"),
    "SET_REF_LOCK_v001.txt": ("SET_LOCK", "REF", 1, "continuity"),
    "SET_LOCK_REF_v001.png": ("SET_REF", "LOCK", 1, "production"),
    "STORYBOARD_S03_SH02_v001.png": ("STORYBOARD", "S03_SH02", 1, "production"),
    "STORYBOARD_REPORT_S03_SH02_v001.md": ("STORYBOARD_REPORT", "S03_SH02", 1, "production"),
    "QC_BATCH_S03_v001.csv": ("QC_BATCH", "S03", 1, "production"),
    "QC_BATCH_RUN_0007_v001.csv": ("QC_BATCH", "RUN_0007", 1, "production"),
    "REGEN_RULES_v001.md": ("REGEN_RULES", None, 1, "production"),
    "COST_REPORT_S03_v001.md": ("COST_REPORT", "S03", 1, "governance"),
    "ROUTING_DECISION_S03_SH02_QC_v001.md": ("ROUTING_DECISION", "S03_SH02_QC", 1, "governance"),
    "BUDGET_STATUS_v001.md": ("BUDGET_STATUS", None, 1, "governance"),
    "RUN_LOG_v001.csv": ("RUN_LOG", None, 1, "logs"),
}

BAD = {
    "scenes_v001.csv": "uppercase",
    "Scenes_v001.csv": "uppercase",
    "SCENES_v1.csv": "three digits",
    "SCENES_v0001.csv": "three digits",
    "SCENES_final.csv": "not a version",
    "SCENES_v001_final.csv": "not a version",
    "CHAR_ALEX_LOCK_new.txt": "not a version",
    "SCENES_latest.csv": "not a version",
    "SCENES_updated.csv": "not a version",
    "SCENES.csv": "no version",
    "SCENES_v000.csv": "out of range",
    "PSYCH_S3_v001.md": "S03",
    "PSYCH_SCENE3_v001.md": "S03",
    "GENPACK_S03_v001.txt": "S03_SH02",
    "GENPACK_S03_SH2_v001.txt": "S03_SH02",
    "REDTEAM_ACT1_v001.md": "PROJECT",
    "SCENES_v001.md": ".csv",
    "CHAR_ALEX_LOCK_v001.md": ".txt",
    "STORYBOARD_S01_SH01_v001.jpg": ".png",
    "CHAR_NELL_REF_v001.jpg": ".png",
    "CHAR_NELL_REF_v001.txt": ".png",
    "CHAR__REF_v001.png": "needs a subject",
    "narrative/SCENES_v001.csv": "bare file name",
    "../SCENES_v001.csv": "bare file name",
    "SCENES..v001.csv": "bare file name",
    "CHAR__LOCK_v001.txt": "needs a subject",
    "CHAR_ALEX_FINAL_LOCK_v001.txt": "not a valid",
    "BEATS_S01_v001.md": "no subject",
    "SHOTS_v001.csv": "not a known artifact",
    "": "empty",
    "CHAR_alex_LOCK_v001.txt": "uppercase",
    "QC_BATCH_S1_v001.csv": "not a valid",
}


@pytest.mark.parametrize("filename", sorted(GOOD))
def test_valid_names_parse_and_format_back(filename: str) -> None:
    name = ArtifactName.parse(filename)
    kind, subject, version, layer = GOOD[filename]
    assert (name.kind, name.subject, name.version, name.spec.layer) == (
        kind,
        subject,
        version,
        layer,
    )
    assert name.filename == filename
    assert name.relpath == f"{layer}/{filename}"


@pytest.mark.parametrize("filename", sorted(BAD))
def test_invalid_names_are_refused_with_the_expected_form(filename: str) -> None:
    with pytest.raises(ArtifactNameError) as info:
        ArtifactName.parse(filename)
    assert BAD[filename] in str(info.value)


def test_every_kind_has_an_example_that_parses() -> None:
    for kind in KINDS.values():
        assert ArtifactName.parse(kind.example()).kind == kind.name


def test_unversioned_names_for_manual_add() -> None:
    kind, subject = parse_unversioned("CHAR_ALEX_LOCK.txt")
    assert (kind.name, subject) == ("CHAR_LOCK", "ALEX")
    kind, subject = parse_unversioned("CHAR_NELL_REF.png")  # a person's own sheet
    assert (kind.name, subject) == ("CHAR_REF", "NELL")
    with pytest.raises(ArtifactNameError, match="already carries a version"):
        parse_unversioned("SCENES_v002.csv")
    with pytest.raises(ArtifactNameError, match="no extension"):
        parse_unversioned("SCENES")


def test_version_above_999_is_refused() -> None:
    with pytest.raises(ArtifactNameError, match="v001 to v999"):
        ArtifactName("SCENES", None, 1000)


scene_ids = st.integers(1, 999).map(lambda n: f"S{n:02d}")
shot_ids = st.tuples(scene_ids, st.integers(1, 999)).map(lambda t: f"{t[0]}_SH{t[1]:02d}")
words = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6)
tokens = (
    st.lists(words, min_size=1, max_size=3)
    .map("_".join)
    .filter(
        lambda t: (
            t.rsplit("_", 1)[-1]
            not in {"FINAL", "NEW", "LATEST", "UPDATED", "OLD", "COPY", "BACKUP"}
        )
    )
)
SUBJECTS = {
    "scene": scene_ids,
    "shot": shot_ids,
    "name": tokens,
    "task": tokens,
    "target": st.one_of(scene_ids, st.just("PROJECT"), st.integers(1, 9).map(lambda n: f"ACT_{n}")),
    "scene_or_run": scene_ids,
    "stop_target": st.one_of(scene_ids, shot_ids),
}


@st.composite
def names(draw: st.DrawFn) -> ArtifactName:
    kind = draw(st.sampled_from(sorted(KINDS)))
    spec = KINDS[kind]
    subject = draw(SUBJECTS[spec.subject]) if spec.subject else None
    return ArtifactName(kind, subject, draw(st.integers(1, 999)))


@settings(deadline=None)
@given(names())
def test_format_then_parse_is_identity(name: ArtifactName) -> None:
    assert ArtifactName.parse(name.filename) == name
