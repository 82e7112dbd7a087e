"""An answer that never fits its schema is reported on one line (issue 14 §6: every message a
user sees is clear): each field and what is wrong with it, without pydantic's multi-line
layout or its help links, in the error the CLI prints and in the spend row the run log keeps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from filmslate import ProviderError
from filmslate.testing.openai_server import OpenAIServer
from test_output_modes import MODES, ask
from test_text_timeouts import film, runner_on, spend_rows


@pytest.mark.parametrize("mode", MODES)
def test_a_schema_failure_is_one_line_naming_each_field(tmp_path: Path, mode: str) -> None:
    with OpenAIServer([{"score": "lots"}]) as server:
        root = film(tmp_path, server, output_mode=mode)
        with runner_on(root) as runner, pytest.raises(ProviderError) as caught:
            runner.gateway.complete(ask())
    message = str(caught.value)
    assert "\n" not in message
    assert "errors.pydantic.dev" not in message
    assert "title: Field required" in message
    assert "score: Input should be a valid integer" in message


def test_the_run_log_keeps_a_schema_failure_on_one_line(tmp_path: Path) -> None:
    with OpenAIServer([{"title": "no beats"}]) as server:
        root = film(tmp_path, server)
        with runner_on(root) as runner, pytest.raises(ProviderError) as caught:
            runner.run("story-architect", "PROJECT")
    assert "\n" not in str(caught.value) and "Field required" in str(caught.value)
    (row,) = spend_rows(root)
    assert row["outcome"] == "ERROR"
    assert "Field required" in row["notes"]
    assert "\n" not in row["notes"] and "errors.pydantic.dev" not in row["notes"]
