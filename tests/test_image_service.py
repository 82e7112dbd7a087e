"""The image service (issue 12 §3-4, §7-8): images routed by use from [images], reserved at
the catalogue's worst case and settled at its price, the payload recorded before the call,
a repeated job fetched and never paid twice, a refusal never sent again, a lost download
fetched again without paying; the runner hands it to skills that declare ``uses_images``.

Driven through the real runner, store and ledger; the provider is a small in-test
ImageProvider that speaks to nothing networked.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image

from filmslate import Project
from filmslate.core._errors import HardStop, ProviderError, RenderRefused
from filmslate.core._gate import Gate
from filmslate.engine._image_service import ImageService
from filmslate.engine._images import ImageJob, ImageMaker, ImageProvider
from filmslate.engine._override import record_override
from filmslate.engine._render import RenderService
from filmslate.engine._render_jobs import COLUMN_NAMES
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Context, Layer, Media, Need, Registry, Skill
from filmslate.engine._video import JobStatus, Reference

FLUX = "fal:fal-ai/flux/dev"  # $0.025 per megapixel, rounded up
SHEET = ImageJob("CHAR_NELL_REF", "Nell, front and side, grey coat", 1280, 720, seed=7)


def png(width: int = 64, height: int = 36) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 60)).save(out, format="PNG")
    return out.getvalue()


class HostedImages(ImageProvider):
    """A hosted image model stand-in: counts submissions, records what render_jobs' image
    table held when each was sent; refuses or loses downloads on request."""

    name: ClassVar[str] = "fal"

    def __init__(self, index: Path) -> None:
        self.index = index
        self.jobs: list[ImageJob] = []
        self.recorded: list[tuple[str, str]] = []
        self.status = JobStatus("done")
        self.lost_downloads = 0

    def payload(self, job: ImageJob) -> dict[str, object]:
        return {
            "prompt": job.prompt,
            "image_size": {"width": job.width, "height": job.height},
            "seed": job.seed,
            "image_urls": [ref.data for ref in job.references],  # bytes: written as sha256
        }

    def submit(self, job: ImageJob) -> str:
        with sqlite3.connect(self.index) as conn:
            self.recorded.append(
                conn.execute(
                    "SELECT state, payload FROM image_jobs WHERE reference = ?", (job.reference,)
                ).fetchone()
            )
        self.jobs.append(job)
        return f"img-{len(self.jobs)}"

    def poll(self, job_id: str) -> JobStatus:
        return self.status

    def download(self, job_id: str) -> bytes:
        if self.lost_downloads:
            self.lost_downloads -= 1
            raise ProviderError("fal: the CDN did not answer", failure="download")
        return png()


def configure_images(root: Path, lines: str) -> None:
    toml = root / "filmslate.toml"
    toml.write_text(toml.read_text().replace('model = "offline"', lines))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as project:
        found = project.root
    configure_images(found, f'model = "{FLUX}"\nstoryboard = "offline"')
    return found


def service(root: Path) -> tuple[ImageService, HostedImages]:
    project = Project(root)
    provider = HostedImages(root / ".filmslate" / "index.sqlite")
    providers: dict[str, ImageProvider] = {"fal": provider, "custom": provider}
    return ImageService(project, providers=providers, poll_interval_s=0.0), provider


def spends(images: ImageService) -> list[tuple[float, float]]:
    rows = images.store.conn.execute(
        "SELECT estimated_cost, actual_cost FROM runlog WHERE event = 'spend' ORDER BY seq"
    ).fetchall()
    return [(float(e), float(a)) for e, a in rows]


def test_each_use_is_routed_by_the_images_section(root: Path) -> None:
    images, _ = service(root)
    assert isinstance(images, ImageMaker)
    assert not images.offline("sheet") and not images.offline("first_frame")
    assert images.offline("storyboard")
    with pytest.raises(Exception, match="no image model serves 'storyboard'"):
        images.image(ImageJob("S01_SH01", "a frame", 640, 360, use="storyboard"))


def test_a_paid_image_is_reserved_recorded_settled_and_never_paid_twice(root: Path) -> None:
    images, provider = service(root)
    sheet = ImageJob(
        SHEET.key, SHEET.prompt, 1280, 720, seed=7, references=(Reference("lock", png()),)
    )
    data = images.image(sheet, skill="reference-sheets")
    assert Image.open(io.BytesIO(data)).size == (64, 36)
    assert spends(images) == [(0.025, 0.025)]  # 1280x720 is one megapixel, rounded up
    state, payload = provider.recorded[0]
    assert state == "intent"  # recorded before the call
    sent = json.loads(payload)
    assert sent["image_urls"][0].startswith("sha256:")  # never the image itself
    assert provider.jobs[0].model == FLUX and provider.jobs[0].reference
    assert images.image(sheet) == data  # the same job: fetched, not made again
    assert len(provider.jobs) == 1 and spends(images) == [(0.025, 0.025)]
    bigger = ImageJob(SHEET.key, SHEET.prompt, 1920, 1080, seed=7)
    images.image(bigger)
    assert len(provider.jobs) == 2 and spends(images)[-1] == (0.05, 0.05)
    assert images.ledger.open_reservations() == 0


def test_a_refused_image_is_never_asked_for_again_unchanged(root: Path) -> None:
    images, provider = service(root)
    provider.status = JobStatus("failed", "content policy", "refusal")
    with pytest.raises(RenderRefused, match="CHAR_NELL_REF: fal:fal-ai/flux/dev refused"):
        images.image(SHEET)
    provider.status = JobStatus("done")
    with pytest.raises(RenderRefused, match="reword the prompt"):
        images.image(SHEET)
    assert len(provider.jobs) == 1 and spends(images) == []
    assert images.ledger.open_reservations() == 0
    images.image(ImageJob(SHEET.key, "Nell in a grey coat", 1280, 720, seed=7))  # reworded
    assert len(provider.jobs) == 2


def test_a_lost_download_is_fetched_again_without_paying_again(root: Path) -> None:
    images, provider = service(root)
    provider.lost_downloads = 1
    with pytest.raises(ProviderError, match="CDN did not answer"):
        images.image(SHEET)
    again, provider2 = service(root)
    assert again.image(SHEET).startswith(b"\x89PNG")
    assert provider2.jobs == [] and spends(again) == [(0.025, 0.025)]


def test_a_paid_model_outside_the_catalogue_is_refused_before_any_spend(root: Path) -> None:
    toml = root / "filmslate.toml"
    toml.write_text(toml.read_text().replace(FLUX, "custom:pictures"))
    try:
        images, provider = service(root)
    except Exception as exc:  # the config load refuses a name no provider or entry knows
        assert "custom:pictures" in str(exc)
        return
    with pytest.raises(ProviderError, match="not in the catalogue"):
        images.image(SHEET)
    assert provider.jobs == [] and spends(images) == []


class SheetMaker(Skill):
    """A skill that asks the runner's image service for one sheet."""

    name: ClassVar[str] = "sheet-maker"
    layer: ClassVar[Layer] = "production"
    needs: ClassVar[tuple[Need, ...]] = ()
    produces: ClassVar[tuple[str, ...]] = ("CHAR_REF",)
    target_scope: ClassVar[Any] = "project"
    uses_images: ClassVar[bool] = True
    summary: ClassVar[str] = "test: one sheet through ctx.params['images']"

    def produce(self, ctx: Context) -> list[Any]:
        images = ctx.params["images"]
        assert isinstance(images, ImageMaker) and "render" not in ctx.params
        return [Media("CHAR_REF", "NELL", images.image(SHEET, skill=self.name))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        return Gate("PASS")


def test_the_runner_hands_its_image_service_to_skills_that_use_images(root: Path) -> None:
    project = Project(root)
    registry = Registry()
    registry.register(SheetMaker)
    r = Runner(project, registry)
    provider = HostedImages(root / ".filmslate" / "index.sqlite")
    r.image_service().providers["fal"] = provider
    result = r.run("sheet-maker", "PROJECT")
    assert result.gate.passed and result.records[0].filename == "CHAR_NELL_REF_v001.png"
    assert len(provider.jobs) == 1 and r.ledger.open_reservations() == 0


def test_older_job_tables_get_the_new_columns(tmp_path: Path) -> None:
    with Project.init(tmp_path / "film", name="film") as project:
        root = project.root
    index = root / ".filmslate" / "index.sqlite"
    with sqlite3.connect(index) as conn:  # render_jobs as it was before references
        conn.execute("DROP TABLE IF EXISTS render_jobs")
        conn.execute(
            "CREATE TABLE render_jobs (shot_id TEXT NOT NULL, resolution TEXT NOT NULL, "
            "genpack_sha TEXT NOT NULL, provider TEXT NOT NULL, job_id TEXT NOT NULL DEFAULT '',"
            " state TEXT NOT NULL, reservation_id INTEGER, tier TEXT NOT NULL DEFAULT '', "
            "PRIMARY KEY (shot_id, resolution, genpack_sha))"
        )
        conn.execute(
            "INSERT INTO render_jobs VALUES ('S01_SH01', 'proxy', 'abc', 'animatic', 'j1', "
            "'done', NULL, 'visual_low')"
        )
    render = RenderService(Project(root))
    columns = [row[1] for row in render.store.conn.execute("PRAGMA table_info(render_jobs)")]
    assert set(COLUMN_NAMES) <= set(columns)
    row = render.job("S01_SH01", "proxy", "abc")
    assert row is not None and (row.job_id, row.payload, row.roll, row.failure) == ("j1", "", 0, "")


def test_the_services_are_exported_by_the_engine_package() -> None:
    import filmslate.engine as engine

    assert engine.ImageService is ImageService and engine.RenderService is RenderService
    with pytest.raises(AttributeError):
        engine.NotAService  # noqa: B018


# -- a run killed after the image job reached the provider, before its id was recorded ---------

KILL = "FILMSLATE_TEST_KILL_IN_IMAGE_SUBMIT"
REPO = Path(__file__).resolve().parents[1]


class FileImages(ImageProvider):
    """A hosted image model whose jobs live in files (they survive the killed process); kills
    its own process right after a job arrived when KILL is set; finds jobs by reference when
    ``finding``."""

    name: ClassVar[str] = "fal"

    def __init__(self, folder: Path, finding: bool) -> None:
        self.folder = folder
        self.finding = finding
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def finds_by_reference(self) -> bool:  # type: ignore[override]
        return self.finding

    @property
    def submits(self) -> int:
        return len(list(self.folder.glob("ref-*")))

    def submit(self, job: ImageJob) -> str:
        job_id = f"img-{self.submits + 1}"
        (self.folder / f"ref-{job.reference}").write_text(job_id)
        if os.environ.get(KILL):
            os.kill(os.getpid(), signal.SIGKILL)
        return job_id

    def find(self, reference: str) -> str | None:
        found = self.folder / f"ref-{reference}"
        return found.read_text() if found.exists() else None

    def poll(self, job_id: str) -> JobStatus:
        return JobStatus("done")

    def download(self, job_id: str) -> bytes:
        return png()


def image_child(root: str, folder: str) -> None:
    """The first run (a separate process, killed inside submit)."""
    provider = FileImages(Path(folder), finding=False)
    ImageService(Project(Path(root)), providers={"fal": provider}).image(SHEET)


def killed_image_run(root: Path) -> Path:
    folder = root.parent / "images"
    code = f"import test_image_service as t; t.image_child({str(root)!r}, {str(folder)!r})"
    env = {**os.environ, KILL: "1", "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO / 'tests'}"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, check=False, capture_output=True
    )
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    return folder


def test_a_killed_image_submission_is_found_by_its_reference(root: Path) -> None:
    folder = killed_image_run(root)
    provider = FileImages(folder, finding=True)
    images = ImageService(Project(root), providers={"fal": provider}, poll_interval_s=0.0)
    assert images.image(SHEET).startswith(b"\x89PNG")
    assert provider.submits == 1 and spends(images) == [(0.025, 0.025)]
    assert images.ledger.open_reservations() == 0


def test_a_killed_image_submission_that_cannot_be_found_stops_for_a_person(root: Path) -> None:
    folder = killed_image_run(root)
    provider = FileImages(folder, finding=False)
    images = ImageService(Project(root), providers={"fal": provider}, poll_interval_s=0.0)
    with pytest.raises(ProviderError, match="not submitted again blindly"):
        images.image(SHEET)
    assert spends(images) == [(0.025, 0.025)]  # charged at worst case: it may be billed
    with pytest.raises(HardStop, match="slate override PROJECT"):
        images.image(SHEET)
    assert provider.submits == 1
    record_override(images.project, "PROJECT", "checked fal's request history: none", 0.0)
    assert images.image(SHEET).startswith(b"\x89PNG")
    assert provider.submits == 2 and images.ledger.open_reservations() == 0
