"""Structured output modes against the local OpenAI-compatible server (127.0.0.1 only).

``[providers.<name>] output_mode`` picks how the output schema is asked for, and the server
sees the matching request: ``"tool"`` a ``final_result`` tool, ``"json_schema"`` a
``response_format`` of type ``json_schema``, ``"prompted"`` neither (the schema is in the
prompt). In each mode an answer failing the schema is re-asked with the validation error
quoted. ``[providers] max_output_tokens`` caps each tier's calls: the request carries it and
the worst case reserved before the call is priced with it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from filmslate import ConfigError, Project, ProviderError
from filmslate.engine._gateway import Gateway, ProviderSettings, TextRequest
from filmslate.testing.openai_server import OpenAIServer, output_shape
from test_text_timeouts import GOOD, MODEL, PRICE, Beat, film, runner_on, spend_rows

MODES = ("tool", "json_schema", "prompted")
SHAPES = {"tool": "tool", "json_schema": "json_schema", "prompted": "prompted"}
BAD = {"title": "The storm breaks", "score": "lots"}


def ask(**overrides: Any) -> TextRequest:
    fields: dict[str, Any] = dict(
        skill="story-architect",
        target="PROJECT",
        attempt=1,
        model=MODEL,
        system="You are the story architect.",
        prompt="Outline the story as one beat.",
        output_type=Beat,
    )
    return TextRequest(**{**fields, **overrides})


def said(body: dict[str, Any]) -> str:
    """Everything the messages of one request say, as one text."""
    return json.dumps(body["messages"])


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_sends_its_request_shape(tmp_path: Path, mode: str) -> None:
    with OpenAIServer([GOOD], tokens=(120, 30)) as server:
        root = film(tmp_path, server, output_mode=mode)
        with runner_on(root) as runner:
            result = runner.gateway.complete(ask())
        (request,) = server.completions()
    body = request.body
    assert output_shape(body) == SHAPES[mode]
    assert result.output == Beat(**GOOD)
    assert result.cost == pytest.approx((120 * PRICE[0] + 30 * PRICE[1]) / 1e6)
    if mode == "tool":
        assert [t["function"]["name"] for t in body["tools"]] == ["final_result"]
        assert "response_format" not in body
    elif mode == "json_schema":
        schema = body["response_format"]["json_schema"]["schema"]
        assert set(schema["properties"]) == {"title", "score"}
        assert "tools" not in body
    else:
        assert "tools" not in body and "response_format" not in body
        assert '\\"score\\"' in said(body)  # the schema went out in the prompt instead


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_answer_is_reasked_quoting_the_validation_error(
    tmp_path: Path, mode: str
) -> None:
    with OpenAIServer([BAD, GOOD], tokens=(100, 20)) as server:
        root = film(tmp_path, server, output_mode=mode)
        with runner_on(root) as runner:
            result = runner.gateway.complete(ask())
        first, repair = (r.body for r in server.completions())
    assert result.output == Beat(**GOOD)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (200, 40)
    assert output_shape(repair) == SHAPES[mode]  # the re-ask keeps the mode
    quoted = said(repair)[len(said(first)) - 1 :]  # what the re-ask added
    # the rejected answer goes back, then the error in pydantic's own words, naming the field
    assert quoted.index("lots") < quoted.index("Input should be a valid integer")
    assert '\\"loc\\":[\\"score\\"]' in quoted


@pytest.mark.parametrize("mode", MODES)
def test_an_answer_that_never_fits_is_reported_with_its_cost(tmp_path: Path, mode: str) -> None:
    with OpenAIServer([BAD], tokens=(100, 20)) as server:
        root = film(tmp_path, server, output_mode=mode)
        with runner_on(root) as runner, pytest.raises(ProviderError, match="schema") as caught:
            runner.gateway.complete(ask())
        assert len(server.completions()) == 3  # the answer and schema_retries = 2 re-asks
    assert caught.value.context["cost"] == pytest.approx(3 * (100 * PRICE[0] + 20 * PRICE[1]) / 1e6)


def test_max_output_tokens_per_tier_is_sent_and_reserved(tmp_path: Path) -> None:
    with OpenAIServer([{}], tokens=(100, 20)) as server:
        root = film(tmp_path, server)
        config = root / "filmslate.toml"
        config.write_text(
            config.read_text().replace(
                "schema_retries = 2", "schema_retries = 2\nmax_output_tokens = { judgment = 777 }"
            )
        )
        with runner_on(root) as runner, pytest.raises(ProviderError):
            runner.run("story-architect", "PROJECT")  # a judgment-tier skill; {} never fits
        bodies = [r.body for r in server.completions()]
    assert {b["max_completion_tokens"] for b in bodies} == {777}
    messages = bodies[0]["messages"]
    prompt_chars = sum(len(m["content"]) for m in messages)
    one_ask = (math.ceil(prompt_chars / 3) * PRICE[0] + 777 * PRICE[1]) / 1e6
    (row,) = spend_rows(root)
    assert float(row["estimated"]) == pytest.approx(one_ask * 3, rel=1e-4)  # 1 + 2 re-asks


def test_an_unset_tier_keeps_the_default_cap(tmp_path: Path) -> None:
    with OpenAIServer([GOOD]) as server:
        root = film(tmp_path, server)
        with runner_on(root) as runner:
            assert runner.gateway.context.settings.output_tokens("premium") == 4096


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('output_mode = "xml"', "output_mode"),
        ("idempotent = 3", "idempotent"),
    ],
)
def test_bad_mode_settings_are_refused_at_their_line(
    tmp_path: Path, line: str, expected: str
) -> None:
    with OpenAIServer() as server:
        root = film(tmp_path, server)
    config = root / "filmslate.toml"
    config.write_text(config.read_text() + line + "\n")
    with pytest.raises(ConfigError, match=expected):
        Project(root)


def test_a_bad_tier_in_max_output_tokens_is_refused(tmp_path: Path) -> None:
    with OpenAIServer() as server:
        root = film(tmp_path, server)
    config = root / "filmslate.toml"
    config.write_text(
        config.read_text().replace(
            "schema_retries = 2", "schema_retries = 2\nmax_output_tokens = { judgement = 100 }"
        )
    )
    with pytest.raises(ConfigError, match="max_output_tokens"):
        Project(root)


def test_json_schema_on_a_model_without_it_says_which_mode_to_use(tmp_path: Path) -> None:
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing may be sent, but {request.url} was")

    settings = ProviderSettings(output_modes={"anthropic": "json_schema"})
    client = httpx.Client(transport=httpx.MockTransport(no_network))
    env = {"ANTHROPIC_API_KEY": "sk-ant-FAKE"}
    with (
        Gateway(tmp_path, settings, env=env, http_client=client) as gateway,
        pytest.raises(ProviderError, match=r'output_mode = "tool" or "prompted"') as caught,
    ):
        gateway.complete(ask(model="anthropic:claude-3-5-haiku-latest"))
    assert "[providers.anthropic]" in str(caught.value)
    client.close()
