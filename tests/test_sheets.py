"""reference-sheets and the storyboard frames that use them, through the real runner and store."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image

from filmslate import Project
from filmslate.core._errors import ProviderError, RunError
from filmslate.core._names import ArtifactName
from filmslate.engine._images import ImageJob, ImageProvider
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Media, Registry
from filmslate.engine._video import JobStatus
from filmslate.rules._sheets import draw_char_sheet, draw_set_sheet, sheet_mark
from filmslate.schemas import ShotList
from filmslate.skills.production import (
    PromptPackager,
    ReferenceSheets,
    ShotPlanner,
    StoryboardGenerator,
)
from filmslate.testing import scripted_runner
from test_compose import make_film
from test_skills_production import ALEX, GOOD, MILL, put

STEMS = ("CHAR_ALEX_REF", "CHAR_MIRA_REF", "CHAR_BEN_REF", "SET_OLD_MILL_REF")


FLUX = "fal:fal-ai/flux/dev"  # an image model for sheets
SEEDREAM = "fal:fal-ai/bytedance/seedream/v4/edit"  # takes reference images: storyboards


class Hosted(ImageProvider):
    """A hosted image model at the network boundary: a real JPEG per job, every job kept."""

    name: ClassVar[str] = "fal"

    def __init__(self, answer: bytes | None = None) -> None:
        self.jobs: list[ImageJob] = []
        self.answer = answer

    def submit(self, job: ImageJob) -> str:
        self.jobs.append(job)
        return f"img-{len(self.jobs)}"

    def poll(self, job_id: str) -> JobStatus:
        return JobStatus("done")

    def download(self, job_id: str) -> bytes:
        if self.answer is not None:
            return self.answer
        job = self.jobs[int(job_id.split("-")[1]) - 1]
        out = io.BytesIO()  # a square, as many models answer whatever size was asked
        Image.new("RGB", (job.width, job.width), (40, 90, 160)).save(out, format="JPEG")
        return out.getvalue()


def serve_images(root: Path, **uses: str) -> None:
    """Route [images] uses to models (``sheet=FLUX``); the rest stay offline."""
    toml = root / "filmslate.toml"
    lines = "\n".join(f'{use} = "{model}"' for use, model in uses.items())
    toml.write_text(toml.read_text().replace('model = "offline"', f'model = "offline"\n{lines}'))


@pytest.fixture
def film(tmp_path: Path) -> Path:
    return make_film(tmp_path / "film")


def registry() -> Registry:
    reg = Registry()
    for skill in (ShotPlanner, PromptPackager, StoryboardGenerator, ReferenceSheets):
        reg.register(skill)
    return reg


def runner(root: Path, script: Any = (), provider: Hosted | None = None) -> Runner:
    r = scripted_runner(root, script, registry())[0]
    if provider is not None:
        images = r.image_service()
        images.providers["fal"] = provider
        images.poll_interval_s = 0.0
    return r


def sheets(root: Path, provider: Hosted | None = None, target: str = "S01") -> list[str]:
    result = runner(root, provider=provider).run("reference-sheets", target, force=True)
    assert result.gate.passed, result.gate.reasons
    return [r.filename for r in result.records]


def lineage(root: Path, name: str) -> list[str]:
    store = Project(root).store
    return sorted(n.filename for n in store.lineage(ArtifactName.parse(name)))


def latest(root: Path, stem: str) -> str:
    store = Project(root).store
    kind = "SET_REF" if stem.startswith("SET_") else "CHAR_REF"
    subject = stem.removeprefix("SET_" if kind == "SET_REF" else "CHAR_").removesuffix("_REF")
    record = store.latest(kind, subject)
    assert record is not None, stem
    return record.filename


def test_a_scene_gets_a_schematic_sheet_per_lock_made_from_that_lock_only(film: Path) -> None:
    made = sheets(film)
    assert sorted(made) == sorted(f"{stem}_v001.png" for stem in STEMS)
    assert lineage(film, "CHAR_ALEX_REF_v001.png") == ["CHAR_ALEX_LOCK_v001.txt"]
    assert lineage(film, "SET_OLD_MILL_REF_v001.png") == ["SET_OLD_MILL_LOCK_v001.txt"]
    data = Project(film).store.read(ArtifactName.parse("CHAR_ALEX_REF_v001.png"))
    drawn, shown = draw_char_sheet(ALEX, "CHAR_ALEX_LOCK_v001.txt")
    assert data == drawn  # deterministic
    for line in ("- age 30-35", "- scar over left eyebrow", "- navy peacoat", "- alex anchor"):
        assert line in shown.lines  # appearance, marks, wardrobe, signature identifiers
    assert shown.palette == ("#1B2A41", "#C0392B")
    _, room = draw_set_sheet(MILL, "SET_OLD_MILL_LOCK_v001.txt")
    assert "- 1. millstone" in room.lines and "- one long room" in room.lines
    assert "- 3200K, window light from the left" in room.lines
    assert sheet_mark(data) == "schematic CHAR_ALEX_LOCK_v001.txt"
    assert Image.open(io.BytesIO(data)).size == (640, 360)
    assert sheets(film) == []  # nothing to redo


def test_an_image_model_makes_the_sheets_and_replaces_the_schematics(film: Path) -> None:
    sheets(film)
    serve_images(film, sheet=FLUX)
    hosted = Hosted()
    made = sheets(film, hosted)
    assert sorted(made) == sorted(f"{stem}_v002.png" for stem in STEMS)
    alex = next(job for job in hosted.jobs if job.key == "CHAR_ALEX_REF")
    assert alex.use == "sheet" and (alex.width, alex.height) == (1280, 720)
    assert "alex anchor" in alex.prompt and "navy peacoat" in alex.prompt
    assert alex.negative_prompt == "beard" and "beard" not in alex.prompt
    data = Project(film).store.read(ArtifactName.parse("CHAR_ALEX_REF_v002.png"))
    assert data.startswith(b"\x89PNG")  # the model's JPEG, stored as the PNG kind
    assert sheet_mark(data) == "image CHAR_ALEX_LOCK_v001.txt"
    assert alex.model == FLUX
    assert sheets(film, hosted) == [] and len(hosted.jobs) == 4  # a real sheet is kept
    spent = (
        Project(film)
        .store.conn.execute(
            "SELECT sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend'"
        )
        .fetchone()[0]
    )
    assert spent == pytest.approx(4 * 0.025)  # one megapixel each, at the catalogue's price


def test_an_answer_that_is_not_an_image_is_refused_and_nothing_stored(film: Path) -> None:
    serve_images(film, sheet=FLUX)
    with pytest.raises(ProviderError, match="CHAR_ALEX_REF"):
        sheets(film, Hosted(answer=b"<html>rate limited</html>"))
    assert Project(film).store.latest("CHAR_REF", "ALEX") is None


def test_a_persons_sheet_wins_until_its_lock_is_revised(film: Path, tmp_path: Path) -> None:
    from conftest import run_slate

    drawing = tmp_path / "CHAR_ALEX_REF.png"
    Image.new("RGB", (800, 600), (200, 30, 30)).save(drawing)
    added = run_slate("add", str(drawing), cwd=film)
    assert added.returncode == 0, added.stderr
    assert lineage(film, "CHAR_ALEX_REF_v001.png") == ["CHAR_ALEX_LOCK_v001.txt"]
    assert "CHAR_ALEX_REF_v001.png" not in sheets(film)  # kept: the others are made
    serve_images(film, sheet=FLUX)
    assert "CHAR_ALEX_REF_v002.png" not in sheets(film, Hosted())  # not even by a model
    assert latest(film, "CHAR_ALEX_REF") == "CHAR_ALEX_REF_v001.png"
    # the lock is revised: the drawing shows the old look, so a sheet of the new lock is made
    put(Project(film), "CHAR_LOCK", "ALEX", ALEX.model_copy(update={"voice_profile": "Quiet."}))
    assert sheets(film, Hosted()) == ["CHAR_ALEX_REF_v002.png"]
    assert lineage(film, "CHAR_ALEX_REF_v002.png") == ["CHAR_ALEX_LOCK_v002.txt"]
    # still the right look? the person adds the drawing again, for the revised lock: it wins
    assert run_slate("add", str(drawing), cwd=film).returncode == 0
    assert lineage(film, "CHAR_ALEX_REF_v003.png") == ["CHAR_ALEX_LOCK_v002.txt"]
    assert sheets(film, Hosted()) == []


def test_a_storyboard_frame_from_the_image_model_is_given_the_shots_sheets(film: Path) -> None:
    serve_images(film, storyboard=SEEDREAM)
    hosted = Hosted()
    r = runner(film, [GOOD], hosted)
    assert r.run("shot-planner", "S01").gate.passed
    sheets(film)  # offline: schematic sheets
    result = r.run("storyboard-generator", "S01_SH02")
    assert result.gate.passed
    (job,) = hosted.jobs
    assert [ref.label for ref in job.references] == [
        "CHAR_ALEX_REF_v001",
        "CHAR_MIRA_REF_v001",
        "SET_OLD_MILL_REF_v001",
    ]
    assert job.use == "storyboard" and job.model == SEEDREAM
    assert (job.width, job.height) == (640, 360)
    assert "Alex steps toward Mira (2)." in job.prompt and "medium shot" in job.prompt
    assert "beard" in job.negative_prompt and "beard" not in job.prompt
    names = [rec.filename for rec in result.records]
    store = Project(film).store
    frame = Image.open(io.BytesIO(store.read(ArtifactName.parse(names[0]))))
    assert frame.size == (640, 360)  # the model's square, centre-cropped to the frame's shape
    report = store.read(ArtifactName.parse(names[1])).decode()
    assert "frame: from the image model, given CHAR_ALEX_REF_v001" in report
    board = lineage(film, names[0])
    assert "CHAR_ALEX_REF_v001.png" in board and "CHAR_BEN_REF_v001.png" not in board


@pytest.mark.slow  # the real `slate` command, eleven times
def test_revising_a_character_lock_redoes_exactly_its_sheet_and_its_shots(
    film: Path, tmp_path: Path
) -> None:
    from conftest import run_slate

    put(Project(film), "SHOTLIST", "S01", ShotList.model_validate(GOOD))
    shots = [f"S01_SH0{n}" for n in range(1, 5)]  # ALEX is in SH02 and SH04

    def slate(*args: str) -> str:
        done = run_slate(*args, cwd=film)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    slate("run", "reference-sheets", "--scene", "S01")
    for shot in shots:
        slate("run", "storyboard-generator", "--shot", shot)
    revised = tmp_path / "CHAR_ALEX_LOCK.txt"
    wardrobe = ALEX.wardrobe.model_copy(update={"default_outfit": "grey raincoat"})
    revised.write_bytes(ALEX.model_copy(update={"wardrobe": wardrobe}).render())
    slate("lock", "add", str(revised))
    assert "CHAR_ALEX_REF_v002.png" in slate("run", "reference-sheets", "--scene", "S01")
    assert [latest(film, stem) for stem in STEMS] == [
        "CHAR_ALEX_REF_v002.png",
        "CHAR_MIRA_REF_v001.png",
        "CHAR_BEN_REF_v001.png",
        "SET_OLD_MILL_REF_v001.png",
    ]
    redone = [
        shot
        for shot in shots
        if "up to date" not in slate("run", "storyboard-generator", "--shot", shot)
    ]
    assert redone == ["S01_SH02", "S01_SH04"]
    assert "CHAR_ALEX_REF_v002.png" in lineage(film, "STORYBOARD_S01_SH02_v002.png")
    assert "CHAR_ALEX_REF_v001.png" in lineage(film, "STORYBOARD_S01_SH04_v001.png")


def test_a_run_stands_only_while_every_sheet_it_made_is_fresh(film: Path) -> None:
    r = runner(film)
    first = r.run("reference-sheets", "S01")
    assert first.records[0].filename == "CHAR_ALEX_REF_v001.png"
    assert r.run("reference-sheets", "S01").status == "up_to_date"
    mira = Project(film).store.load(ArtifactName.parse("CHAR_MIRA_LOCK_v001.txt"))
    put(Project(film), "CHAR_LOCK", "MIRA", mira.model_copy(update={"voice_profile": "Dry."}))
    again = r.run("reference-sheets", "S01")  # its first output is still fresh; MIRA's is not
    assert again.status == "done"
    assert [rec.filename for rec in again.records] == ["CHAR_MIRA_REF_v002.png"]


class Overclaims(ReferenceSheets):
    """A sheet skill that names, as its sheet's lineage, a lock it never read."""

    name: ClassVar[str] = "overclaiming-sheets"

    def produce(self, ctx: Any) -> list[Any]:
        (sheet,) = [o for o in super().produce(ctx) if o.subject == "BEN"]
        return [Media(sheet.KIND, sheet.subject, sheet.data, inputs=("CHAR_ZOE_LOCK_v001.txt",))]


def test_an_output_cannot_claim_an_input_its_run_did_not_read(film: Path) -> None:
    reg = registry()
    reg.register(Overclaims)
    r = scripted_runner(film, (), reg)[0]
    with pytest.raises(RunError, match=r"names CHAR_ZOE_LOCK_v001\.txt as an input it did not"):
        r.run_once("overclaiming-sheets", "S01")
    assert Project(film).store.latest("CHAR_REF", "BEN") is None
