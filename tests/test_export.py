"""`slate export` (issue 15 §5): the cut handed to an editor as OTIO, FCP 7 XML, CMX 3600 EDL
and subtitles, read back through the same OpenTimelineIO adapters an editor's tools use."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]
import pytest

from conftest import SRC, run_slate
from filmslate import Project
from filmslate.core._errors import UserError
from filmslate.core._names import KINDS, ArtifactName
from filmslate.rules._media import probe
from filmslate.synthetic import Settings, synthetic_project
from filmslate.workflow._export_otio import (
    Cue,
    Edit,
    Shot,
    Sound,
    heard,
    render_all,
    srt,
    timeline_payload,
    vtt,
)
from filmslate.workflow._orchestrator import Orchestrator

FOLDER = Path("exports") / "EXPORT_PROJECT_v001"
RATE = 24  # a timecode rate: FCP XML and EDL speak timecode
FAST = Settings(proxy=(128, 72, RATE), final=(256, 144, RATE))


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small production, complete to its cut: two scenes of two shots, offline."""
    root = tmp_path_factory.mktemp("export") / "film"
    runner, _ = synthetic_project(root, scenes=2, shots_per_scene=2, settings=FAST)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    return root


@pytest.fixture()
def copy(film: Path, tmp_path: Path) -> Path:
    """The production, copied: for tests that add to it."""
    root = tmp_path / "film"
    shutil.copytree(film, root)
    return root


def shots_in_order(root: Path) -> list[str]:
    with Project(root) as project:
        scenes = project.store.load(project.store.latest("SCENES").name)  # type: ignore[union-attr]
        order = [row.scene_id for row in scenes.rows]  # type: ignore[attr-defined]
        lists = {r.name.subject: r for r in project.store.latest_of_each("SHOTLIST")}
        return [
            row.shot_id
            for scene in order
            for row in project.store.load(lists[scene].name).rows  # type: ignore[attr-defined]
        ]


def cut_frames(root: Path) -> int:
    with Project(root) as project:
        cut = project.store.latest("CUT", "PROJECT")
        assert cut is not None
        return probe(project.store.read(cut.name)).frames


def video_clips(timeline: Any) -> list[Any]:
    return [c for track in timeline.video_tracks() for c in track.find_clips()]


def slate(root: Path, *args: str) -> str:
    return run_slate(*args, cwd=root, check=True).stdout


@pytest.mark.slow
def test_the_otio_reads_back_with_the_cuts_clips_order_and_length(film: Path) -> None:
    output = slate(film, "export", "--format", "otio")
    assert "production/EXPORT_PROJECT_v001.otio (" in output and "): 4 clip(s)" in output
    timeline = otio.adapters.read_from_file(str(film / FOLDER / "EXPORT_PROJECT_v001.otio"))
    clips = video_clips(timeline)
    assert [c.name for c in clips] == shots_in_order(film)
    total = sum(c.source_range.duration.value for c in clips)
    assert abs(total - cut_frames(film)) <= 1
    assert all(c.source_range.duration.rate == RATE for c in clips)
    # the stored artifact is the same timeline, and names the same media beside it
    stored = film / "production" / "EXPORT_PROJECT_v001.otio"
    assert stored.read_bytes() == (film / FOLDER / "EXPORT_PROJECT_v001.otio").read_bytes()
    for clip in clips:
        url = clip.media_reference.target_url
        assert "/" not in url and (film / FOLDER / url).is_file()
        assert (film / FOLDER / url).read_bytes() == (film / "production" / url).read_bytes()


@pytest.mark.slow
def test_markers_carry_shot_genpack_version_and_qc_verdict(film: Path) -> None:
    slate(film, "export")
    timeline = otio.adapters.read_from_file(str(film / FOLDER / "EXPORT_PROJECT_v001.otio"))
    with Project(film) as project:
        for clip in video_clips(timeline):
            (marker,) = clip.markers
            facts = marker.metadata["filmslate"]
            take = project.store.record(facts["take"])
            pack = next(n for n in project.store.lineage(take.name) if n.kind == "GENPACK")
            assert facts["shot_id"] == clip.name == take.name.subject
            assert (facts["genpack"], facts["genpack_version"]) == (pack.filename, pack.version)
            assert facts["qc_verdict"] == "PASS"
            assert marker.name == f"{clip.name} GENPACK v{pack.version:03d} QC PASS"
            assert marker.color == otio.schema.MarkerColor.GREEN


@pytest.mark.slow
def test_the_export_is_an_artifact_made_from_the_cut_and_its_takes(film: Path) -> None:
    slate(film, "export", "--format", "otio")
    again = slate(film, "export", "--format", "otio")
    assert "EXPORT_PROJECT_v001.otio (unchanged, reused)" in again
    with Project(film) as project:
        assert [r.name.version for r in project.store.versions("EXPORT", "PROJECT")] == [1]
        used = {n.kind: n for n in project.store.lineage("EXPORT_PROJECT_v001.otio")}
        cut = project.store.latest("CUT", "PROJECT")
        assert cut is not None and used["CUT"] == cut.name
        kinds = {n.kind for n in project.store.lineage("EXPORT_PROJECT_v001.otio")}
        assert {"CUT", "FINAL", "GENPACK", "QC_BATCH"} <= kinds
    assert "clean" in slate(film, "verify")  # the exports folder and its copies are allowed


@pytest.mark.slow
def test_fcp_xml_and_edl_read_back_with_the_same_clips(film: Path) -> None:
    slate(film, "export", "-f", "otio", "-f", "fcpxml", "-f", "edl")
    shots = shots_in_order(film)
    for extension in ("xml", "edl"):
        timeline = otio.adapters.read_from_file(
            str(film / FOLDER / f"EXPORT_PROJECT_v001.{extension}")
        )
        clips = video_clips(timeline)
        assert [c.name for c in clips] == shots, extension
        total = sum(c.source_range.duration.value for c in clips)
        assert abs(total - cut_frames(film)) <= 1, extension
    xml = otio.adapters.read_from_file(str(film / FOLDER / "EXPORT_PROJECT_v001.xml"))
    stored = otio.adapters.read_from_file(str(film / FOLDER / "EXPORT_PROJECT_v001.otio"))
    sounds = [len(list(t.find_clips())) for t in stored.audio_tracks() if len(t)]
    assert [len(list(t.find_clips())) for t in xml.audio_tracks() if len(t)] == sounds
    with Project(film) as project:  # each rendering is an artifact made from the timeline
        for kind, extension in (("EXPORT_FCP", "xml"), ("EXPORT_EDL", "edl")):
            record = project.store.latest(kind, "PROJECT")
            assert record is not None
            assert [str(n) for n in project.store.lineage(record.name)] == [
                "EXPORT_PROJECT_v001.otio"
            ]
            bundled = film / FOLDER / f"EXPORT_PROJECT_v001.{extension}"
            assert project.store.read(record.name) == bundled.read_bytes()
    edl = (film / FOLDER / "EXPORT_PROJECT_v001.edl").read_text()
    assert edl.count("GENPACK V001 QC PASS") == len(shots)  # the markers as LOC comments


@pytest.mark.slow
def test_the_audio_track_holds_each_shots_dialogue_audio(film: Path) -> None:
    slate(film, "export")
    timeline = otio.adapters.read_from_file(str(film / FOLDER / "EXPORT_PROJECT_v001.otio"))
    (audio,) = timeline.audio_tracks()
    with Project(film) as project:  # the sound the cut was made from, in shot order
        cut = project.store.latest("CUT", "PROJECT")
        assert cut is not None
        used = {n.subject: n.filename for n in project.store.lineage(cut.name) if n.kind == "AUDIO"}
    expected = [used[shot] for shot in shots_in_order(film) if shot in used]
    clips = list(audio.find_clips())
    assert [c.media_reference.target_url for c in clips] == expected
    assert all((film / FOLDER / name).is_file() for name in expected)
    assert audio.duration().value <= cut_frames(film) + 1


@pytest.mark.slow
@pytest.mark.skipif("DIALOGUE" not in KINDS, reason="no DIALOGUE kind yet")
def test_subtitles_have_one_cue_per_dialogue_line(copy: Path, tmp_path: Path) -> None:
    from filmslate.schemas import schema_for

    header = "shot_id,line_order,character,text,parenthetical,extension,on_screen,source_line"
    lines = ["S01_SH01,1,ADA,Who's there?,,,yes,0", "S01_SH02,2,BRAM,Only the tide.,,,yes,0"]
    table = tmp_path / "DIALOGUE_S01.csv"
    table.write_text("\n".join([header, *lines]) + "\n")
    schema_for("DIALOGUE").parse(table.read_bytes())  # the table as the kind expects it
    slate(copy, "add", str(table))
    slate(copy, "export", "--format", "srt", "--format", "vtt")
    srt = (copy / FOLDER / "EXPORT_PROJECT_v001.srt").read_text()
    assert srt.count(" --> ") == 2
    assert srt.startswith("1\n00:00:00,000 --> ") and "Who's there?" in srt
    vtt = (copy / FOLDER / "EXPORT_PROJECT_v001.vtt").read_text()
    assert vtt.startswith("WEBVTT\n") and vtt.count(" --> ") == 2
    first_shot = 3.0  # the second line is spoken in the second shot, after the first one
    second_start = srt.split("2\n", 1)[1].split(" --> ")[0]
    assert second_start >= f"00:00:0{first_shot:.0f},000"


@pytest.mark.slow
def test_nothing_to_subtitle_is_said_and_all_skips_it(film: Path) -> None:
    if "DIALOGUE" in KINDS:
        with Project(film) as project:
            records = project.store.latest_of_each("DIALOGUE")
            if any(project.store.load(r.name).rows for r in records):  # type: ignore[attr-defined]
                pytest.skip("this production has dialogue")
    result = run_slate("export", "--format", "srt", cwd=film)
    assert result.returncode == 2
    assert "nothing to subtitle" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (film / FOLDER / "EXPORT_PROJECT_v001.srt").exists()
    output = slate(film, "export", "--all")
    assert "skipped srt and vtt" in output
    assert (film / FOLDER / "EXPORT_PROJECT_v001.edl").is_file()


# -- bad input ----------------------------------------------------------------------------------


def test_export_before_a_cut_says_to_run_first_and_writes_nothing(project: Project) -> None:
    root = project.root
    result = run_slate("export", "--format", "otio", cwd=root)
    assert result.returncode == 2
    assert "no cut of PROJECT" in result.stderr and "`slate run`" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (root / "exports").exists()
    assert not list((root / "production").iterdir())


def test_export_of_a_scene_that_does_not_exist_says_so(project: Project) -> None:
    """It said to run `slate run assemble-cut --target S09`, which cannot make one."""
    root = project.root
    result = run_slate("export", "--scene", "S09", cwd=root)
    assert result.returncode == 2
    assert result.stderr.startswith("error: S09 is not a scene with shots"), result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (root / "exports").exists()


def test_an_unknown_format_lists_the_formats(project: Project) -> None:
    root = project.root
    result = run_slate("export", "--format", "mov", cwd=root)
    assert result.returncode == 2
    assert "unknown export format 'mov'; formats: otio, fcpxml, edl, srt, vtt" in result.stderr
    assert not (root / "exports").exists()


def test_without_opentimelineio_the_error_names_the_extra(project: Project, tmp_path: Path) -> None:
    root = project.root
    blocker = tmp_path / "blocked" / "opentimelineio"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = {"PYTHONPATH": f"{blocker.parent}:{SRC}"}
    result = run_slate("export", cwd=root, env=env)
    assert result.returncode == 2
    assert "pip install 'filmslate[editor]'" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def an_edit(rate: float) -> Edit:
    take = ArtifactName("FINAL", "S01_SH01", 1)
    shot = Shot("S01_SH01", take, 36, ArtifactName("GENPACK", "S01_SH01", 2), "FIX", None)
    return Edit("PROJECT", "Film", ArtifactName("CUT", "PROJECT", 1), rate, 36, (shot,))


def test_xml_and_edl_need_a_timecode_rate_and_say_so() -> None:
    edit = an_edit(12.0)  # the default proxy rate: a proxy-only cut
    payload = timeline_payload(edit)
    assert render_all(edit, payload, [], ["otio"])["otio"] == payload.render().decode()
    for fmt in ("fcpxml", "edl"):
        with pytest.raises(UserError, match=rf"{fmt} needs a timecode frame rate .* 12 fps"):
            render_all(edit, payload, [], [fmt])
    marker = video_clips(otio.adapters.read_from_string(payload.render().decode()))[0].markers[0]
    assert (marker.name, marker.color) == ("S01_SH01 GENPACK v002 QC FIX", "YELLOW")


def test_subtitle_files_are_numbered_srt_and_headed_vtt() -> None:
    cues = [Cue(0.0, 1.5, "Who's there?"), Cue(61.25, 3723.5, "Only the tide.")]
    assert srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,500\nWho's there?\n\n"
        "2\n00:01:01,250 --> 01:02:03,500\nOnly the tide.\n"
    )
    assert vtt(cues) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nWho's there?\n\n"
        "00:01:01.250 --> 01:02:03.500\nOnly the tide.\n"
    )


@pytest.mark.slow
def test_an_exports_path_that_is_not_a_folder_is_refused_before_anything_is_stored(
    copy: Path,
) -> None:
    shutil.rmtree(copy / "exports", ignore_errors=True)
    (copy / "exports").write_text("in the way\n")
    with Project(copy) as project:
        before = project.store.versions("EXPORT", "PROJECT")
    result = run_slate("export", "--format", "edl", cwd=copy)
    assert result.returncode == 2
    assert "cannot write the export into" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    with Project(copy) as project:
        assert project.store.versions("EXPORT", "PROJECT") == before


def a_trimmed_edit() -> Edit:
    """Two shots at 24 fps: the first played from 0.5 s to 2.5 s with a half-second L cut,
    the second whole (3 s) with a J cut its in point leaves no room for."""
    shots = (
        Shot(
            "S01_SH01",
            ArtifactName("FINAL", "S01_SH01", 1),
            48,
            None,
            "PASS",
            None,
            12,
            96,
            0.0,
            0.5,
        ),
        Shot("S01_SH02", ArtifactName("FINAL", "S01_SH02", 1), 72, None, "PASS", None, 0, 72, 0.25),
    )
    sounds = (
        Sound("S01_SH01", ArtifactName("AUDIO", "S01_SH01", 1), 4.0),
        Sound("S01_SH02", ArtifactName("AUDIO", "S01_SH02", 1), 3.0),
    )
    return Edit("PROJECT", "Film", ArtifactName("CUT", "PROJECT", 1), 24.0, 120, shots, sounds)


def test_trims_and_overlaps_are_laid_as_the_cut_plays_them() -> None:
    edit = a_trimmed_edit()
    # the L cut runs the first shot's sound 12 frames under the second picture
    assert [(h.at, h.first, h.frames) for h in heard(edit)] == [(0, 12, 60), (48, 0, 72)]
    stored = otio.adapters.read_from_string(timeline_payload(edit).render().decode())
    first, _ = video_clips(stored)
    assert (first.source_range.start_time.value, first.source_range.duration.value) == (12, 48)
    assert first.media_reference.available_range.duration.value == 96
    assert first.markers[0].marked_range.start_time.value == 12  # on the clip's first frame
    assert stored.video_tracks()[0].duration().value == 120
    a1, a2 = stored.audio_tracks()  # the overlap goes to a second track (checkerboard)
    assert [c.source_range.duration.value for c in a1.find_clips()] == [60]
    assert [(type(i).__name__, i.source_range.duration.value) for i in a2] == [
        ("Gap", 48),
        ("Clip", 72),
    ]
    xml = render_all(edit, timeline_payload(edit), [], ["fcpxml"])["fcpxml"]
    again = otio.adapters.read_from_string(xml, "fcp_xml")
    assert [c.source_range.start_time.value for c in video_clips(again)] == [12, 0]
    assert sum(len(list(t.find_clips())) for t in again.audio_tracks()) == 2
