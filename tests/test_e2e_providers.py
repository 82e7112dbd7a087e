"""Issue 12's Done-when, for fal, ComfyUI and Replicate: a whole small production (2 scenes,
4 shots) through the real `slate run`, its pictures from a local vendor on 127.0.0.1.

Each project routes ``[images]`` and ``[visual]`` to one vendor's catalogue models, points
``[providers.<name>]`` at the local server (filmslate.testing) and gives the key in the
environment of the `slate` process only. The text models are the synthetic film's answers
(tests/e2e_film.py). From what the server recorded, the project's files and its index:

- a reference sheet per character and set (CHAR_*_REF / SET_*_REF), each sent as a reference;
- each shot's storyboard sent as the first frame of its proxy and of its final clip;
- the forbidden drift sent as the negative prompt where the model takes one, and never as
  prompt text;
- every prompt within the model's limit (a project override makes the limit bite), every
  duration from the model's allowed set (the plan snapped up);
- the clips the vendor returned (1280x720, 5 s) kept as RAW_*, conformed to the spec size
  and the planned length, and the cut made of them;
- the spend equal to the catalogue's price of everything sent, in the ledger and `slate status`;
- the key string in no file under the project folder, the SQLite index included.
"""

from __future__ import annotations

import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e_film import files_containing, make_film, plugin_env, query, slate
from e2e_vendors import Sent, comfyui_sent, fal_sent, replicate_sent
from filmslate import Project
from filmslate.core._catalogue import Catalogue, load_catalogue
from filmslate.rules._media import probe
from filmslate.schemas import ShotList
from filmslate.testing._media_server import MediaServer
from filmslate.testing.comfyui_server import ComfyUIServer
from filmslate.testing.fal_server import FalServer
from filmslate.testing.replicate_server import ReplicateServer

SCENES, SHOTS = 2, 2
KEY = "sk-e2e-0123456789abcdef-never-written"
FINAL = (256, 144)  # the synthetic project's final spec (proxy 128x72)
RAW = (1280, 720)  # what the local vendors return, 5 s long
TIERS = {"A": "premium", "B": "mid", "C": "low"}  # hero tier -> visual tier
LIMIT = 900  # a project's own prompt limit for one video model: the synthetic prompts pass it

SEEDREAM_REPLICATE = """
[catalogue."replicate:bytedance/seedream-4"]
kind = "image"
title = "Seedream 4 on Replicate, image from reference images"

[catalogue."replicate:bytedance/seedream-4".input]
prompt = "prompt"
references = "image_input"
max_references = 10
aspect_ratio = "aspect_ratio"
aspect_ratios = ["match_input_image", "16:9", "9:16", "1:1"]
fixed = { size = "1K", max_images = 1, sequential_image_generation = "disabled" }

[catalogue."replicate:bytedance/seedream-4".billing]
unit = "per_image"
price = 0.03
failed_jobs_charged = false
source = "replicate.com/bytedance/seedream-4 (per output image)"
as_of = 2026-12-01
"""


@dataclass(frozen=True)
class Vendor:
    """How a project points at one vendor, and how to read what its server received."""

    name: str
    server: Callable[[], MediaServer]
    sent: Callable[[Any, Catalogue], list[Sent]]
    key_env: str
    visual: dict[str, str]  # hero tier -> model
    images: dict[str, str]  # use -> model
    catalogue: str  # [catalogue] overrides appended to filmslate.toml

    def settings(self, url: str) -> dict[tuple[str, str], str]:
        values = {("visual", tier): f'"{model}"' for tier, model in self.visual.items()}
        values.update({("images", use): f'"{model}"' for use, model in self.images.items()})
        values[(f"providers.{self.name}", "base_url")] = f'"{url}"'
        values[(f"providers.{self.name}", "api_key_env")] = f'"{self.key_env}"'
        return values


def limit(model: str) -> str:
    return f'\n[catalogue."{model}"]\nmax_prompt_chars = {LIMIT}\n'


KLING3 = "fal:fal-ai/kling-video/v3/pro/image-to-video"  # first frame, elements, per second
KLING21 = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"  # first frame, per clip
WAN = "comfyui:wan2.2-i2v-14b"
KLING_REPLICATE = "replicate:kwaivgi/kling-v2.1"

VENDORS = {
    "fal": Vendor(
        "fal",
        lambda: FalServer(queued_polls=0, running_polls=0, timeout_s=300),
        fal_sent,
        "FAL_KEY",
        {"premium": KLING3, "mid": KLING3, "low": KLING21},
        {"model": "fal:fal-ai/flux/dev", "storyboard": "fal:fal-ai/bytedance/seedream/v4/edit"},
        limit(KLING3),
    ),
    "comfyui": Vendor(
        "comfyui",
        lambda: ComfyUIServer(polls_to_finish=1, timeout_s=300),
        comfyui_sent,
        "COMFYUI_TOKEN",  # a ComfyUI behind an authenticating gateway
        {"premium": WAN, "mid": WAN, "low": WAN},
        {"model": "comfyui:flux-dev", "storyboard": "comfyui:flux-kontext-dev"},
        limit(WAN),
    ),
    "replicate": Vendor(
        "replicate",
        lambda: ReplicateServer(polls_to_finish=1, timeout_s=300),
        replicate_sent,
        "REPLICATE_API_TOKEN",
        {"premium": KLING_REPLICATE, "mid": KLING_REPLICATE, "low": KLING_REPLICATE},
        {
            "model": "replicate:black-forest-labs/flux-dev",
            "storyboard": "replicate:bytedance/seedream-4",
        },
        SEEDREAM_REPLICATE + limit(KLING_REPLICATE),
    ),
}


@dataclass
class Production:
    """A finished production and what its vendor received."""

    vendor: Vendor
    root: Path
    env: dict[str, str]
    sent: list[Sent]
    server: MediaServer
    catalogue: Catalogue
    seconds: float  # how long `slate run` took

    @property
    def videos(self) -> list[Sent]:
        return [s for s in self.sent if s.entry.kind == "video"]

    @property
    def images(self) -> list[Sent]:
        return [s for s in self.sent if s.entry.kind == "image"]


@pytest.fixture(
    scope="module",
    params=[
        "fal",
        pytest.param("comfyui", marks=pytest.mark.slow),
        pytest.param("replicate", marks=pytest.mark.slow),
    ],
)
def produced(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Production]:
    vendor = VENDORS[request.param]
    folder = tmp_path_factory.mktemp(vendor.name)
    root = folder / "film"
    with vendor.server() as server:
        make_film(root, SCENES, SHOTS, vendor.settings(server.url))
        with open(root / "filmslate.toml", "a", encoding="utf-8") as config:
            config.write(vendor.catalogue)
        env = plugin_env(folder / "site", SCENES, SHOTS, {vendor.key_env: KEY})
        started = time.monotonic()
        out = slate(root, env, "run")
        seconds = time.monotonic() - started
        assert "production complete" in out, out
        catalogue = load_catalogue(
            tomllib.loads((root / "filmslate.toml").read_text())["catalogue"]
        )
        sent = vendor.sent(server, catalogue)
        yield Production(vendor, root, env, sent, server, catalogue, seconds)


def latest(project: Project, kind: str) -> dict[str, bytes]:
    """The latest version of each subject of ``kind``: subject -> bytes."""
    return {
        r.name.subject or "": project.store.read(r.name) for r in project.store.latest_of_each(kind)
    }


def sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def shot_rows(project: Project) -> list[Any]:
    rows = []
    for record in project.store.latest_of_each("SHOTLIST"):
        shotlist = project.store.load(record.name)
        assert isinstance(shotlist, ShotList)
        rows.extend(shotlist.rows)
    return rows


def test_the_production_reaches_a_cut_and_verifies(produced: Production) -> None:
    assert slate(produced.root, produced.env, "verify").startswith("clean")
    with Project(produced.root) as project:
        assert project.store.latest("CUT", "PROJECT") is not None
        assert len(shot_rows(project)) == SCENES * SHOTS
    assert len(produced.videos) == 2 * SCENES * SHOTS  # a proxy and a final each, none twice
    print(f"{produced.vendor.name}: slate run took {produced.seconds:.1f}s")


def test_reference_sheets_are_made_and_sent_as_references(produced: Production) -> None:
    with Project(produced.root) as project:
        characters = {c for row in shot_rows(project) for c in row.char_ids}
        sets = {r.name.subject for r in project.store.latest_of_each("SET_LOCK")}
        sheets = latest(project, "CHAR_REF") | latest(project, "SET_REF")
    assert set(sheets) >= characters | sets
    boards = [s for s in produced.images if s.references]
    assert len(boards) == SCENES * SHOTS  # every storyboard frame drew on the shot's sheets
    sent_as_references = {d for s in produced.sent for d in s.references}
    assert sent_as_references == {sha(data) for data in sheets.values()}


def test_each_storyboard_is_the_first_frame_of_its_clips(produced: Production) -> None:
    with Project(produced.root) as project:
        boards = latest(project, "STORYBOARD")
    assert len(boards) == SCENES * SHOTS
    firsts = Counter(s.first for s in produced.videos)
    assert firsts == Counter({sha(data): 2 for data in boards.values()})  # proxy and final


def test_the_drift_is_the_negative_prompt_and_never_prompt_text(produced: Production) -> None:
    drift = {
        item.strip()
        for s in produced.videos
        if s.negative
        for item in str(s.negative).split(",")
        if item.strip()
    }
    assert drift, "no video request carried a negative prompt"
    for sent in produced.sent:
        if sent.entry.input.negative_prompt:
            assert sent.negative, f"{sent.model}: no negative prompt sent"
        assert not [d for d in drift if d in sent.prompt], f"{sent.model}: drift in the prompt"


def test_prompts_fit_and_durations_come_from_the_allowed_set(produced: Production) -> None:
    for sent in produced.sent:
        cap = sent.entry.max_prompt_chars
        assert cap is None or len(sent.prompt) <= cap, (sent.model, len(sent.prompt), cap)
    capped = [s for s in produced.videos if s.entry.max_prompt_chars == LIMIT]
    assert capped, "the project's prompt limit reached no request"
    for sent in produced.videos:
        assert sent.seconds in sent.entry.allowed_durations(), (sent.model, sent.duration)
    catalogue = {s.model: s.entry for s in produced.videos}
    with Project(produced.root) as project:
        routed = [(TIERS[row.hero_tier], row.duration_s) for row in shot_rows(project)]
    plan: Counter[tuple[str, float]] = Counter()
    for tier, seconds in routed:  # the plan snapped up to the routed model's next length
        model = produced.vendor.visual[tier]
        plan[(model, catalogue[model].snap_duration(seconds))] += 2  # proxy and final
    assert Counter((s.model, s.seconds) for s in produced.videos) == plan


def test_the_cut_is_made_of_conformed_takes(produced: Production) -> None:
    with Project(produced.root) as project:
        planned = {row.shot_id: row.duration_s for row in shot_rows(project)}
        finals, raws = latest(project, "FINAL"), latest(project, "RAW_FINAL")
        cut = project.store.read(project.store.latest("CUT", "PROJECT").name)  # type: ignore[union-attr]
    for shot, seconds in planned.items():
        take, raw = probe(finals[shot]), probe(raws[shot])
        assert (take.width, take.height) == FINAL and abs(take.duration_s - seconds) < 0.2
        assert (raw.width, raw.height) == RAW and raw.duration_s > seconds + 0.5
    whole = probe(cut)
    assert (whole.width, whole.height) == FINAL
    assert abs(whole.duration_s - sum(planned.values())) <= 0.5


def test_the_spend_is_the_catalogue_price_of_what_was_sent(produced: Production) -> None:
    expected = sum(s.price() for s in produced.sent)
    [(spent,)] = query(
        produced.root,
        "SELECT sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend'",
    )
    assert spent == pytest.approx(expected, abs=1e-6)
    status = slate(produced.root, produced.env, "status")
    assert f"{expected:.2f}" in status.split("PROJECT", 1)[1].split("\n", 1)[0]


def test_the_key_is_never_written_in_the_project(produced: Production) -> None:
    assert files_containing(produced.root, KEY) == []
    api = [
        r for r in produced.server.received if "/cdn/" not in r.path and "/delivery/" not in r.path
    ]
    assert api and all(r.auth for r in api)  # the key was given, as a header


def spent(root: Path) -> float:
    [(total,)] = query(
        root, "SELECT sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend'"
    )
    return float(total)


def test_the_cost_floor_is_the_video_spend(produced: Production) -> None:
    video = sum(s.price() for s in produced.videos)
    report = slate(produced.root, produced.env, "cost")
    [film] = [line.split() for line in report.splitlines() if line.startswith("FILM ")]
    # scope, accepted, seconds, floor, video spent, ratio, all spent
    assert float(film[3]) == pytest.approx(video, abs=0.005)
    assert float(film[4]) == pytest.approx(video, abs=0.005)
    assert film[5] == ("1.00" if video else "-")  # your own GPU: no ratio of nothing


def test_running_again_sends_nothing_and_pays_nothing(produced: Production) -> None:
    before = spent(produced.root)
    out = slate(produced.root, produced.env, "run")
    assert produced.vendor.sent(produced.server, produced.catalogue) == produced.sent, out
    assert spent(produced.root) == pytest.approx(before, abs=1e-9)
