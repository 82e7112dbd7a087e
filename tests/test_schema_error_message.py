"""Text provider errors a person reads (issue 14 §6: every message a user sees is clear).

An answer that never fits its schema is reported on one line: each field and what is wrong
with it, without pydantic's multi-line layout or its help links, in the error the CLI prints
and in the spend row the run log keeps. An endpoint that cannot be reached is named by its
URL and the table that sets it.
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


def test_an_unreachable_endpoint_is_named_with_the_table_that_sets_it(tmp_path: Path) -> None:
    with OpenAIServer() as server:  # gone when the block ends: nothing listens on its port
        root = film(tmp_path, server)
        url = server.base_url
    with runner_on(root) as runner, pytest.raises(ProviderError) as caught:
        runner.run("story-architect", "PROJECT")
    message = str(caught.value)
    assert (
        f"could not reach compat (compat:local-llm) for story-architect PROJECT at {url}" in message
    )
    assert "base_url in [providers.compat]" in message and ".;" not in message
