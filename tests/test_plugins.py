"""Third-party skills are first class: a package installed with entry points brings a skill and
its own artifact kind, and `slate run` runs it with the same naming, versioning, lineage,
gate and log as a built-in one. A declaration typo fails loudly at load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import SEED_SKILLS, SRC, run_slate

PLUGIN = '''
from typing import Any, ClassVar

from filmslate import ArtifactKind, Context, Gate, Need, Skill
from filmslate.schemas import DocumentArtifact, Item


class TitleCard(DocumentArtifact):
    """The opening title card of a film."""

    KIND: ClassVar[str] = "TITLE_CARD"
    EXTENSION: ClassVar[str] = "md"

    title: Item
    credits: list[Item]


class TitleCardSkill(Skill):
    name: ClassVar[str] = "title-card"
    layer: ClassVar[Any] = "LAYER"
    tier: ClassVar[Any] = "throughput"
    uses_model: ClassVar[bool] = False
    needs: ClassVar[tuple[Need, ...]] = (Need("PREMISE"),)
    produces: ClassVar[tuple[str, ...]] = ("TITLE_CARD",)

    def produce(self, ctx: Context) -> list[Any]:
        premise = ctx.inputs.get("PREMISE")
        return [TitleCard(title=premise.title.upper(), credits=list(premise.characters))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        return Gate.from_failures([] if outputs[0].credits else ["a title card credits someone"])


KIND = ArtifactKind("TITLE_CARD", None, "md", "production", schema=TitleCard)
'''

PREMISE = """# PREMISE

## Title
The Last Keeper

## Logline
A keeper relights a dead lighthouse.

## Genre
drama

## Tone
tense

## Length
short

## Theme
duty

## Characters
- NELL
"""


def install_plugin(site: Path, layer: str = "production") -> dict[str, str]:
    """A distribution on sys.path with a ``filmslate.skills`` entry point, as pip leaves it."""
    package = site / "titlecard_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN.replace("LAYER", layer))
    info = site / "titlecard_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: titlecard-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[filmslate.kinds]\ntitle-card = titlecard_plugin:KIND\n"
        "[filmslate.skills]\ntitle-card = titlecard_plugin:TitleCardSkill\n"
    )
    return {"PYTHONPATH": os.pathsep.join([str(SRC), str(site)])}


@pytest.fixture
def film(tmp_path: Path) -> Path:
    run_slate("init", str(tmp_path / "film"), check=True)
    return tmp_path / "film"


def test_a_plugin_skill_with_its_own_kind_runs_through_slate_run(
    film: Path, tmp_path: Path
) -> None:
    env = install_plugin(tmp_path / "site")
    listed = run_slate("skills", cwd=film, env=env, check=True)
    assert "title-card" in listed.stdout and "TITLE_CARD" in listed.stdout

    refused = run_slate("run", "title-card", cwd=film, env=env)
    assert refused.returncode != 0 and "PREMISE" in refused.stdout + refused.stderr

    (tmp_path / "PREMISE.md").write_text(PREMISE)
    run_slate("add", str(tmp_path / "PREMISE.md"), cwd=film, env=env, check=True)
    done = run_slate("run", "title-card", cwd=film, env=env, check=True)
    assert "PASS" in done.stdout
    card = film / "production" / "TITLE_CARD_v001.md"
    assert "THE LAST KEEPER" in card.read_text() and "NELL" in card.read_text()

    shown = run_slate("show", "TITLE_CARD", cwd=film, env=env, check=True)
    assert "THE LAST KEEPER" in shown.stdout
    logged = run_slate("log", "--skill", "title-card", cwd=film, env=env, check=True)
    assert "TITLE_CARD_v001.md" in logged.stdout
    assert run_slate("verify", cwd=film, env=env).returncode == 0

    again = run_slate("run", "title-card", cwd=film, env=env, check=True)
    assert "up to date" in again.stdout
    assert not (film / "production" / "TITLE_CARD_v002.md").exists()


def test_a_bad_kind_name_for_the_plugin_kind_is_refused_with_its_form(
    film: Path, tmp_path: Path
) -> None:
    env = install_plugin(tmp_path / "site")
    bad = tmp_path / "TITLE_CARD_final.md"
    bad.write_text("# TITLE_CARD\n")
    refused = run_slate("add", str(bad), cwd=film, env=env)
    assert refused.returncode == 2 and "TITLE_CARD" in refused.stderr


def test_a_typo_in_a_plugin_layer_fails_loudly(film: Path, tmp_path: Path) -> None:
    env = install_plugin(tmp_path / "site", layer="prodution")
    listed = run_slate("skills", cwd=film, env=env)
    assert listed.returncode == 2
    assert "title-card" in listed.stderr and "prodution" in listed.stderr
    assert "production" in listed.stderr  # the valid layers are named
    assert "Traceback" not in listed.stderr


def test_the_23_skills_of_the_seed_are_listed(film: Path) -> None:
    listed = run_slate("skills", cwd=film, check=True).stdout
    names = {line.split()[1] for line in listed.splitlines() if line.startswith("│ ")}
    assert len(SEED_SKILLS) == 23 and names >= SEED_SKILLS


@pytest.mark.parametrize("skill", ["model-router", "run-logger"])
def test_automatic_skills_say_how_they_run(film: Path, skill: str) -> None:
    refused = run_slate("run", skill, cwd=film)
    assert refused.returncode == 2 and "runs automatically" in refused.stderr
    assert "slate " in refused.stderr  # names the command that shows its work
