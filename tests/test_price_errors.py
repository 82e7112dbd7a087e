"""A text model genai-prices does not know, and brackets in what the CLI prints, through the
real `slate` command.

The missing price is one error naming the exact line to add under ``[prices]``
(``text = { "provider:model" = [in, out] }``); the line, filled in, makes the model usable.
Every message the CLI prints keeps its brackets: ``[prices]``, ``[in, out]``, ``[visual]``
are text, never rich markup (which would drop them from the line).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import Project, ProviderError
from filmslate.core._prices import token_prices
from filmslate.engine._stops import record_hard_stop
from filmslate.schemas import schema_for

MODEL = "compat:mystery-model-7b"
PRICE_LINE = f'text = {{ "{MODEL}" = [in, out] }}'
PREMISE = {
    "title": "The Last Keeper",
    "logline": "A keeper relights a dead lighthouse.",
    "genre": "drama",
    "tone": "tense",
    "length": "short",
    "characters": ["NELL"],
}
BRACKETS = "fix [visual] in filmslate.toml, then [prices] text = [input, output] or [red]x[/red]"


@pytest.fixture
def film(tmp_path: Path) -> Path:
    root = tmp_path / "film"
    run_slate("init", str(root), check=True)
    source = tmp_path / "PREMISE.md"
    source.write_bytes(schema_for("PREMISE").model_validate(PREMISE).render())
    run_slate("add", str(source), "-C", str(root), check=True)
    return root


def unpriced(root: Path) -> Path:
    """Every text tier on a model no price table knows, at an endpoint on this machine (the
    price is checked before anything is sent, so nothing listens there)."""
    config = root / "filmslate.toml"
    text = re.sub(r'"replay:\w+"', f'"{MODEL}"', config.read_text())
    config.write_text(text + '\n[providers.compat]\nbase_url = "http://127.0.0.1:9/v1"\n')
    return config


def test_a_missing_price_names_the_line_to_add_in_slate_run(film: Path) -> None:
    unpriced(film)
    result = run_slate("run", "-C", str(film))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stopped at story-architect on PROJECT" in result.stdout
    assert "[prices]" in result.stdout
    assert PRICE_LINE in result.stdout
    assert "Traceback" not in result.stderr


def test_a_missing_price_names_the_line_to_add_for_one_skill(film: Path) -> None:
    unpriced(film)
    result = run_slate("run", "story-architect", "-C", str(film))
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: no token price is known for compat:mystery-model-7b")
    assert "[prices]" in line and PRICE_LINE in line
    assert not list((film / "narrative").glob("BEATS_*"))


def test_the_line_as_told_prices_the_model(film: Path) -> None:
    config = unpriced(film)
    with pytest.raises(ProviderError) as caught:
        token_prices("compat", "mystery-model-7b")
    told = str(caught.value)
    assert PRICE_LINE in told
    filled = PRICE_LINE.replace("[in, out]", "[0.25, 1.5]")
    config.write_text(config.read_text().replace("[prices]\n", f"[prices]\n{filled}\n"))
    with Project(film) as project:
        assert project.config.prices.text[MODEL] == (0.25, 1.5)
    check = run_slate("config", "check", "-C", str(film))
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("command", [("run",), ("run", "narrative")])
def test_brackets_in_a_stop_reason_are_printed_as_text(
    film: Path, command: tuple[str, ...]
) -> None:
    with Project(film) as project:
        record_hard_stop(
            project, "PROJECT", "gate", f"story-architect FAIL: {BRACKETS}", "story-architect"
        )
    result = run_slate(*command, "-C", str(film))
    assert result.returncode == 1, result.stdout + result.stderr
    assert BRACKETS in result.stdout


def test_brackets_in_an_error_are_printed_as_text(film: Path) -> None:
    with Project(film) as project:
        record_hard_stop(
            project, "PROJECT", "gate", f"story-architect FAIL: {BRACKETS}", "story-architect"
        )
    result = run_slate("run", "story-architect", "-C", str(film))
    assert result.returncode == 2, result.stdout + result.stderr
    assert BRACKETS in result.stderr
