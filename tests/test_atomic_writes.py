"""Imports and every multi-file write are all or nothing (issue 11, Deliver 5).

The probe killed `slate import` of a huge screenplay and found 20,395 SCRIPT slices with no
SCENES or BREAKDOWN, and a clean verify. Here the real command is killed with SIGKILL at
random moments and at every named point of the publish, and the next command must leave
either every file of the import or none, with verify clean.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from conftest import SRC, png, run_slate
from filmslate import Project
from filmslate.core._errors import RunError
from filmslate.core._gate import Gate
from filmslate.engine._recording import RunFacts, write_outputs
from filmslate.engine._router import Route
from filmslate.engine._skill import Context, Inputs, Skill
from filmslate.schemas import Beats, Premise
from filmslate.store._batch import Staged

SCENES = 60  # a crash point is reached at any size
LONG = 400  # random kills: staging and publishing are most of the import's time


def _screenplay(path: Path, scenes: int = SCENES) -> Path:
    """A long, valid Fountain screenplay: one heading, action and dialogue per scene."""
    parts = ["Title: Long Night\n\nFADE IN:\n"]
    for n in range(1, scenes + 1):
        place = ("HARBOUR", "LIGHTHOUSE", "COTTAGE")[n % 3]
        parts.append(
            f"\nINT. {place} - ROOM {n} - NIGHT\n\nNELL opens a DOOR marked {n}.\n\n"
            f"NELL\nScene {n}, and still no key.\n\nJONAH\nKeep looking.\n"
        )
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _film(tmp_path: Path) -> Path:
    root = tmp_path / "film"
    run_slate("init", str(root), "--name", "atomic", check=True)
    return root


def _imported(root: Path) -> dict[str, int]:
    """How many files of each kind an import wrote."""
    return {
        "SCRIPT": len(list((root / "narrative").glob("SCRIPT_S*_v001.txt"))),
        "SCENES": len(list((root / "narrative").glob("SCENES_v*.csv"))),
        "BREAKDOWN": len(list((root / "narrative").glob("BREAKDOWN_v*.csv"))),
    }


NONE = {"SCRIPT": 0, "SCENES": 0, "BREAKDOWN": 0}


def _all(scenes: int = SCENES) -> dict[str, int]:
    return {"SCRIPT": scenes, "SCENES": 1, "BREAKDOWN": 1}


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), **extra}


def _assert_all_or_nothing(root: Path, scenes: int = SCENES) -> dict[str, int]:
    verified = run_slate("verify", cwd=root)  # the next command rolls a killed publish back
    assert "Traceback" not in verified.stderr, verified.stderr
    assert verified.returncode == 0, verified.stdout
    found = _imported(root)
    assert found in (_all(scenes), NONE), found
    assert not any((root / ".filmslate" / "pending").iterdir())
    assert not any((root / ".filmslate" / "tmp").iterdir())
    return found


@pytest.mark.parametrize(
    "point,survives",
    [
        ("after_temp", False),  # the first slice staged
        ("after_intent", False),  # versions allocated, intent record written
        ("mid_link", False),  # the first file published, the rest not yet
        ("after_link", False),  # every file published, not committed
        ("after_commit", True),
        ("before_csv", True),
    ],
)
def test_an_import_killed_at_each_point_of_its_publish_is_all_or_nothing(
    tmp_path: Path, point: str, survives: bool
) -> None:
    root = _film(tmp_path)
    script = _screenplay(tmp_path / "long.fountain")
    proc = subprocess.run(
        [sys.executable, "-m", "filmslate", "import", str(script)],
        cwd=root,
        env=_env(FILMSLATE_CRASH_AT=point),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert _assert_all_or_nothing(root) == (_all() if survives else NONE)
    run_slate("import", str(script), cwd=root, check=True)  # and it can be imported again
    assert _assert_all_or_nothing(root) == _all()


def test_an_import_killed_at_random_moments_is_all_or_nothing(tmp_path: Path) -> None:
    """kill -9 at random points of a real import, as the probe did; then any command."""
    script = _screenplay(tmp_path / "long.fountain", LONG)
    started = time.monotonic()
    run_slate("import", str(script), cwd=_film(tmp_path / "timing"), check=True)
    full = time.monotonic() - started
    rng = random.Random(11)
    for attempt in range(6):
        root = _film(tmp_path / f"kill{attempt}")
        proc = subprocess.Popen(
            [sys.executable, "-m", "filmslate", "import", str(script)],
            cwd=root,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.4, 1.0) * full)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _assert_all_or_nothing(root, LONG)


def test_a_failure_inside_a_batch_publishes_nothing(project: Project) -> None:
    store = project.store
    with pytest.raises(RuntimeError), store.batch() as batch:
        batch.add("STORYBOARD", "S01_SH01", png(1))
        batch.add("STORYBOARD", "S01_SH02", png(2))
        raise RuntimeError("the caller gave up half-way")
    assert store.artifacts() == []
    assert not any((project.root / "production").iterdir())
    assert not any((project.root / ".filmslate" / "tmp").iterdir())
    assert project.verify() == []


def test_a_file_in_the_way_rolls_the_whole_batch_back(project: Project) -> None:
    """The second file of a batch collides with a stray file: the first is not left behind."""
    (project.root / "production" / "STORYBOARD_S01_SH02_v001.png").write_bytes(png(9))
    rows = project.status().log_rows
    with pytest.raises(Exception, match="already exists"), project.store.batch() as batch:
        batch.add("STORYBOARD", "S01_SH01", png(1))
        batch.add("STORYBOARD", "S01_SH02", png(2))
    assert [p.name for p in (project.root / "production").iterdir()] == [
        "STORYBOARD_S01_SH02_v001.png"
    ]
    assert project.store.artifacts() == [] and project.status().log_rows == rows


def test_staged_items_are_inputs_within_their_batch(project: Project) -> None:
    with project.store.batch() as batch:
        board = batch.add("STORYBOARD", "S01_SH01", png(1))
        again = batch.add("STORYBOARD", "S01_SH01", png(2))
        proxy = batch.add("PROXY", "S01_SH01", b"\0\0\0\x18ftypisom", inputs=[board, again])
    assert (board.published.name.version, again.published.name.version) == (1, 2)
    assert [n.filename for n in project.store.lineage(proxy.published.name)] == [
        "STORYBOARD_S01_SH01_v001.png",
        "STORYBOARD_S01_SH01_v002.png",
    ]
    with pytest.raises(ValueError, match="another batch"), project.store.batch() as other:
        other.add("PROXY", "S01_SH01", b"\0\0\0\x18ftypisom", inputs=[board])
    assert isinstance(board, Staged) and project.verify() == []


class _TwoOutputs(Skill):
    """A skill whose run writes two artifacts; the second is one it did not declare."""

    name: ClassVar[str] = "two-outputs"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    produces: ClassVar[tuple[str, ...]] = ("PREMISE",)

    def produce(self, ctx: Context) -> list[Any]:
        raise NotImplementedError

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        return Gate.from_failures([])


def test_a_run_writes_all_of_its_outputs_or_none(project: Project) -> None:
    """The runner's outputs go through one batch: a refused second output leaves no first."""
    premise = Premise(
        title="The Last Keeper",
        logline="An old keeper relights a dead lighthouse before a storm.",
        genre="drama",
        tone="tense",
        length="short",
        characters=["Nell, the keeper"],
    )
    facts = RunFacts(_TwoOutputs(), "PROJECT", Route("judgment", "test", "test"), "R-two")
    undeclared = Beats.model_construct()
    with pytest.raises(RunError, match="does not declare"):
        write_outputs(project, facts, [premise, undeclared], Inputs(), Gate.from_failures([]))
    assert project.store.artifacts() == []
    records = write_outputs(project, facts, [premise], Inputs(), Gate.from_failures([]))
    assert [r.filename for r in records] == ["PREMISE_v001.md"]
