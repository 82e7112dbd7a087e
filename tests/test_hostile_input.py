"""Hostile input: every malformed file a person can hand filmslate is refused with one line
naming the file, the line and the fix, exit 2, no traceback, and nothing written."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.core._errors import SchemaError
from filmslate.rules._fountain import parse_fountain

SCRIPT = "INT. KITCHEN - NIGHT\n\nALEX enters.\n\nALEX\nHello there.\n"


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the project but the index, with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".filmslate" not in p.relative_to(root).parts
    }


def log_rows(root: Path) -> int:
    """Rows of the run log as the index holds them."""
    with sqlite3.connect(f"file:{root / '.filmslate' / 'index.sqlite'}?mode=ro", uri=True) as c:
        return int(c.execute("SELECT count(*) FROM runlog").fetchone()[0])


def state(root: Path) -> tuple[dict[str, bytes], int]:
    return tree(root), log_rows(root)


def refused(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The refusal's message, after checking exit 2, one line and no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    stderr = result.stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def film(tmp_path: Path) -> Path:
    root = tmp_path / "film"
    run_slate("init", str(root), check=True)
    return root


# -- slate import ----------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x07", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"])
def test_a_control_character_in_a_screenplay_names_its_line_and_column(char: str) -> None:
    text = SCRIPT.replace("Hello", "Hel" + char + "lo")
    with pytest.raises(SchemaError) as info:
        parse_fountain(text, source="s.fountain")
    assert info.value.context["line"] == 6
    assert str(info.value).startswith("s.fountain:6: column 4 holds the control character")
    assert f"U+{ord(char):04X}" in str(info.value) and "Delete it" in str(info.value)


def test_slate_import_refuses_a_control_character_and_writes_nothing(
    film: Path, tmp_path: Path
) -> None:
    script = tmp_path / "s.fountain"
    script.write_text(SCRIPT.replace("enters", "en\x01ters"), encoding="utf-8")
    before = state(film)
    result = run_slate("import", str(script), cwd=film)
    refused(result, "s.fountain:3:", "U+0001", "Delete it")
    assert state(film) == before


def test_tab_and_line_ends_are_not_control_characters(project: Project) -> None:
    play = parse_fountain(SCRIPT.replace("\n", "\r\n").replace("ALEX enters", "ALEX\tenters"))
    assert [s.scene_id for s in play.scenes] == ["S01"]
