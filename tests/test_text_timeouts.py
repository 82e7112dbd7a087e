"""Honest timeouts and retries for text models, over real HTTP to a local OpenAI-compatible
server (filmslate.testing.openai_server, 127.0.0.1 only).

A read timeout after the request was sent is not sent again (the vendor may have run and
billed it) unless the provider is configured ``idempotent``; the call is charged at worst case
with a log row saying so. 429 and 5xx are retried, honouring Retry-After with a cap, and no
retry starts past the call's total time budget. The issue's case, scaled down ten times: an
8 s server delay and a 4 s timeout become 0.8 s and 0.4 s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from filmslate import Project, ProviderError
from filmslate.engine._gateway import Gateway, ProviderSettings, TextRequest
from filmslate.engine._runner import Runner, provider_settings
from filmslate.schemas import Premise
from filmslate.store._ledger import Ledger
from filmslate.testing.openai_server import OpenAIServer

MODEL = "compat:local-llm"
PRICE = (2.0, 8.0)  # USD per million tokens, in [prices] text
DELAY_S, TIMEOUT_S = 0.8, 0.4

PREMISE = Premise(
    title="The Last Keeper",
    logline="An old keeper relights a dead lighthouse before a storm.",
    genre="drama",
    tone="tense",
    length="short",
    characters=["Nell, the keeper", "TOM"],
)


class Beat(pydantic.BaseModel):
    title: str
    score: int


GOOD = {"title": "The storm breaks", "score": 7}


def film(tmp_path: Path, server: OpenAIServer, **table: Any) -> Path:
    """A project whose every text tier is the local server's model, with a short timeout."""
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    config = root / "filmslate.toml"
    text = (
        config.read_text()
        .replace('"replay:throughput"', f'"{MODEL}"')
        .replace('"replay:judgment"', f'"{MODEL}"')
        .replace('"replay:premium"', f'"{MODEL}"')
        .replace("timeout_s = 120.0", f"timeout_s = {TIMEOUT_S}")
        .replace("[prices]\n", f'[prices]\ntext = {{ "{MODEL}" = [{PRICE[0]}, {PRICE[1]}] }}\n')
    )
    config.write_text(text + "\n" + server.providers_toml("compat", **table))
    return root


def spend_rows(root: Path) -> list[dict[str, str]]:
    with Project(root) as project:
        conn = project.store.conn
        cursor = conn.execute(
            "SELECT estimated_cost, actual_cost, outcome, notes FROM runlog "
            "WHERE event = 'spend' ORDER BY seq"
        )
        return [
            dict(zip(("estimated", "actual", "outcome", "notes"), r, strict=True)) for r in cursor
        ]


def open_holds(root: Path) -> int:
    with Project(root) as project:
        return Ledger(project.store, project.config).open_reservations()


@contextlib.contextmanager
def runner_on(root: Path) -> Iterator[Runner]:
    """A runner on the project, with the premise stored; its HTTP client closed after."""
    with Project(root) as project:
        # the project's settings, with a short backoff so retried tests stay quick
        settings = dataclasses.replace(provider_settings(project), retry_backoff_s=0.01)
        runner = Runner(project, gateway=Gateway(root, settings))
        with runner.gateway:
            runner.store.write("PREMISE", None, PREMISE)
            yield runner


def test_a_read_timeout_is_sent_once_and_charged_at_worst_case(tmp_path: Path) -> None:
    import pydantic_ai.models.openai  # noqa: F401  (imported before the clock starts: ~4 s)

    with OpenAIServer([{}], delay_s=DELAY_S) as server:
        root = film(tmp_path, server)
        with runner_on(root) as runner:
            started = time.monotonic()
            with pytest.raises(ProviderError) as caught:
                runner.run("story-architect", "PROJECT")
            elapsed = time.monotonic() - started
        assert len(server.completions()) == 1  # not 4: the vendor may have billed it
    message = str(caught.value)
    assert "not sent again" in message and "worst case" in message
    assert "[providers.compat]" in message and "idempotent" in message
    assert caught.value.context["requests_unanswered"] == 1
    # no backoff either: resends would add seconds of waiting (loose: the machine may be busy)
    assert elapsed < DELAY_S * 6

    (row,) = spend_rows(root)
    assert row["outcome"] == "ERROR"
    assert float(row["actual"]) == pytest.approx(float(row["estimated"]))  # the worst case
    assert float(row["actual"]) > 0
    assert "worst case" in row["notes"] and "may bill" in row["notes"]
    assert open_holds(root) == 0


def test_an_idempotent_provider_resends_a_read_timeout(tmp_path: Path) -> None:
    with OpenAIServer([{}], delay_s=DELAY_S) as server:
        root = film(tmp_path, server, idempotent=True)
        with (
            runner_on(root) as runner,
            pytest.raises(ProviderError, match="timed out") as caught,
        ):
            runner.gateway.complete(ask())
        assert len(server.completions()) == 4  # max_retries = 3
    assert caught.value.context["requests_unanswered"] == 4


def test_a_refused_connection_is_retried_and_costs_nothing(tmp_path: Path) -> None:
    # nothing listens on a port a server just gave up: the request never left this machine
    with OpenAIServer() as server:
        root = film(tmp_path, server)
    with (
        runner_on(root) as runner,
        pytest.raises(ProviderError, match="could not reach") as caught,
    ):
        runner.run("story-architect", "PROJECT")
    assert caught.value.context["requests_sent"] == 4
    assert caught.value.context["requests_unanswered"] == 0
    assert spend_rows(root) == []  # the hold released: nothing was billed
    assert open_holds(root) == 0


# -- 429 and 5xx: Retry-After, capped; the whole call bounded -------------------------------


def gateway(server: OpenAIServer, tmp_path: Path, **settings: Any) -> Gateway:
    options: dict[str, Any] = dict(
        base_urls={"compat": server.base_url},
        price_overrides={MODEL: PRICE},
        timeout_s=5.0,
        retry_backoff_s=0.01,
    )
    return Gateway(tmp_path, ProviderSettings(**{**options, **settings}), env={})


def ask() -> TextRequest:
    return TextRequest(
        skill="story-architect",
        target="PROJECT",
        attempt=1,
        model=MODEL,
        system="You are the story architect.",
        prompt="One beat.",
        output_type=Beat,
    )


def test_429_waits_what_the_server_asks(tmp_path: Path) -> None:
    with OpenAIServer([GOOD], retry_after="0.3") as server:
        server.fail_next(1, "rate_limit")
        started = time.monotonic()
        with gateway(server, tmp_path) as fast:
            result = fast.complete(ask())
        elapsed = time.monotonic() - started
        assert len(server.completions()) == 2
    assert result.output == Beat(**GOOD)
    assert elapsed >= 0.3  # the backoff alone would be 10 ms


def test_a_long_retry_after_is_capped(tmp_path: Path) -> None:
    with OpenAIServer([GOOD], retry_after="3600") as server:
        server.fail_next(2, "rate_limit")
        started = time.monotonic()
        with gateway(server, tmp_path, retry_wait_max_s=0.2) as capped:
            result = capped.complete(ask())
        elapsed = time.monotonic() - started
        assert len(server.completions()) == 3
    assert result.output == Beat(**GOOD)
    assert 0.4 <= elapsed < 3


def test_retries_stop_at_the_total_time_budget(tmp_path: Path) -> None:
    # 5xx with a 0.3 s wait each: ten retries would take 3 s, the 0.9 s budget stops them
    # after a few (how many depends on how long each request takes on a loaded machine)
    with OpenAIServer([GOOD], retry_after="0.3") as server:
        server.fail_next(10, "server")
        started = time.monotonic()
        with (
            gateway(server, tmp_path, max_retries=10, retry_total_s=0.9) as slow,
            pytest.raises(ProviderError, match="server side") as caught,
        ):
            slow.complete(ask())
        elapsed = time.monotonic() - started
        sent = len(server.completions())
    assert 1 <= sent <= 4
    assert caught.value.context["requests_sent"] == sent
    assert elapsed < 2.5


def test_config_reads_idempotent_timeouts_and_budget(tmp_path: Path) -> None:
    with OpenAIServer() as server:
        root = film(tmp_path, server, idempotent=True, timeout_s=0.25)
    config = root / "filmslate.toml"
    config.write_text(
        config.read_text().replace("schema_retries = 2", "schema_retries = 2\nretry_total_s = 42")
    )
    with runner_on(root) as runner:
        settings = runner.gateway.context.settings
    assert settings.idempotent == frozenset({"compat"})
    assert settings.timeouts["compat"] == 0.25
    assert settings.retry_total_s == 42


def test_the_bridge_never_resends_after_a_read_timeout_by_default(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("read timed out", request=request)

    client = httpx.Client(transport=httpx.MockTransport(slow))
    settings = ProviderSettings(base_urls={"compat": "http://127.0.0.1:9/v1"})
    with pytest.raises(ProviderError, match="not sent again"):
        Gateway(tmp_path, settings, env={}, http_client=client).complete(
            TextRequest(**{**ask().__dict__, "model": "compat:m"})
        )
    assert len(calls) == 1
