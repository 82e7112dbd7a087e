"""Vendor providers against constructed HTTP exchanges (never the network).

Each vendor's exchange follows its public API: OpenAI chat completions, Anthropic messages,
Gemini generateContent, and an OpenAI-compatible endpoint. The model answers through the
``final_result`` tool call pydantic-ai asks for, and reports usage the way the vendor does.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
import respx

from filmslate import ProviderError
from filmslate.core._prices import token_cost
from filmslate.engine._gateway import Gateway, ProviderSettings, TextRequest
from filmslate.providers._pydantic_ai import BridgeTransport, retry_after_seconds

FAKE_KEYS = {
    "OPENAI_API_KEY": "sk-FAKE-openai-KEY-0000leakcheck",
    "ANTHROPIC_API_KEY": "sk-ant-FAKE-anthropic-KEY-1111leakcheck",
    "GEMINI_API_KEY": "AIzaFAKE-gemini-KEY-2222leakcheck",
    "OPENAI_COMPATIBLE_API_KEY": "sk-FAKE-compat-KEY-3333leakcheck",
}
COMPAT_URL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
COMPAT_PRICE = (0.4, 1.2)


class Beat(pydantic.BaseModel):
    """A tiny stand-in for a skill's output model."""

    title: str
    score: int = pydantic.Field(ge=0, le=10)


GOOD = {"title": "The storm breaks", "score": 7}
BAD = {"title": "The storm breaks", "score": "lots"}


def openai_body(args: dict[str, Any], model: str, tokens: tuple[int, int]) -> dict[str, Any]:
    """A chat.completion whose assistant message calls the final_result tool."""
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": model,
        "system_fingerprint": "fp_1",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "logprobs": None,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "final_result", "arguments": json.dumps(args)},
                        }
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": tokens[0],
            "completion_tokens": tokens[1],
            "total_tokens": sum(tokens),
        },
    }


def anthropic_body(args: dict[str, Any], model: str, tokens: tuple[int, int]) -> dict[str, Any]:
    """A Messages API response with a tool_use block for final_result."""
    return {
        "id": "msg_01abc",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "tool_use", "id": "toolu_01", "name": "final_result", "input": args}],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
    }


def gemini_body(args: dict[str, Any], model: str, tokens: tuple[int, int]) -> dict[str, Any]:
    """A generateContent response with a functionCall part for final_result."""
    return {
        "candidates": [
            {
                "index": 0,
                "finishReason": "STOP",
                "content": {
                    "role": "model",
                    "parts": [{"functionCall": {"name": "final_result", "args": args}}],
                },
            }
        ],
        "usageMetadata": {
            "promptTokenCount": tokens[0],
            "candidatesTokenCount": tokens[1],
            "totalTokenCount": sum(tokens),
        },
        "modelVersion": model,
        "responseId": "resp-1",
    }


def error_body(vendor: str, status: int, message: str) -> dict[str, Any]:
    """The error envelope each vendor documents."""
    if vendor == "anthropic":
        kinds = {401: "authentication_error", 429: "rate_limit_error", 500: "api_error"}
        return {
            "type": "error",
            "error": {"type": kinds.get(status, "api_error"), "message": message},
        }
    if vendor == "gemini":
        states = {401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}
        return {
            "error": {"code": status, "message": message, "status": states.get(status, "UNKNOWN")}
        }
    return {"error": {"message": message, "type": "invalid_request_error", "code": None}}


@dataclass(frozen=True)
class Vendor:
    """How one vendor's API looks on the wire."""

    prefix: str
    model: str
    url: str
    key_env: str
    body: Callable[[dict[str, Any], str, tuple[int, int]], dict[str, Any]]

    def sent_key(self, request: httpx.Request) -> str | None:
        """The key as the SDK put it on the request."""
        for header in ("x-api-key", "x-goog-api-key"):
            if header in request.headers:
                return request.headers[header]
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") or None


VENDORS = [
    Vendor(
        "openai",
        "gpt-4.1-mini",
        "https://api.openai.com/v1/chat/completions",
        "OPENAI_API_KEY",
        openai_body,
    ),
    Vendor(
        "anthropic",
        "claude-sonnet-4-6",
        "https://api.anthropic.com/v1/messages",
        "ANTHROPIC_API_KEY",
        anthropic_body,
    ),
    Vendor(
        "gemini",
        "gemini-2.5-flash",
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
        "GEMINI_API_KEY",
        gemini_body,
    ),
    Vendor(
        "compat",
        "qwen-plus",
        f"{COMPAT_URL}/chat/completions",
        "OPENAI_COMPATIBLE_API_KEY",
        openai_body,
    ),
]


@pytest.fixture(params=VENDORS, ids=[v.prefix for v in VENDORS])
def vendor(request: pytest.FixtureRequest) -> Vendor:
    return request.param


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(assert_all_mocked=True, assert_all_called=False)


def make_gateway(
    tmp_path: Path, router: respx.Router, env: dict[str, str] | None = None, **settings: Any
) -> Gateway:
    options: dict[str, Any] = dict(
        base_urls={"compat": COMPAT_URL},
        price_overrides={"compat:qwen-plus": COMPAT_PRICE},
        max_retries=2,
        schema_retries=2,
        retry_backoff_s=0.001,
        retry_wait_max_s=1.0,
    )
    client = httpx.Client(transport=httpx.MockTransport(router.handler))
    return Gateway(
        tmp_path,
        ProviderSettings(**{**options, **settings}),
        env=FAKE_KEYS if env is None else env,
        http_client=client,
    )


def ask(vendor: Vendor, **overrides: Any) -> TextRequest:
    fields: dict[str, Any] = dict(
        skill="story-architect",
        target="S03",
        attempt=1,
        model=f"{vendor.prefix}:{vendor.model}",
        system="You are the story architect.",
        prompt="Outline scene 3 as one beat.",
        output_type=Beat,
        max_output_tokens=512,
    )
    return TextRequest(**{**fields, **overrides})


def ok(
    vendor: Vendor, args: dict[str, Any] = GOOD, tokens: tuple[int, int] = (1200, 80)
) -> httpx.Response:
    return httpx.Response(200, json=vendor.body(args, vendor.model, tokens))


def expected_cost(vendor: Vendor, tokens: tuple[int, int]) -> float:
    if vendor.prefix == "compat":
        return (tokens[0] * COMPAT_PRICE[0] + tokens[1] * COMPAT_PRICE[1]) / 1e6
    return token_cost(vendor.prefix, vendor.model, *tokens)


def assert_no_secret(error: BaseException) -> None:
    """No fake key in the message, repr, context or any chained exception."""
    seen: BaseException | None = error
    while seen is not None:
        text = f"{seen} {seen!r} {getattr(seen, 'context', '')}"
        for key in FAKE_KEYS.values():
            assert key not in text
        seen = seen.__cause__ or seen.__context__


# -- success -------------------------------------------------------------------------------


def test_success_parses_output_records_usage_and_cost(tmp_path, router, vendor):
    route = router.post(vendor.url).mock(return_value=ok(vendor, tokens=(1200, 80)))
    result = make_gateway(tmp_path, router).complete(ask(vendor))

    assert result.output == Beat(**GOOD)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (1200, 80)
    assert result.cost == pytest.approx(expected_cost(vendor, (1200, 80)))
    assert result.cost > 0
    assert result.model == f"{vendor.prefix}:{vendor.model}"
    sent = route.calls.last.request
    assert vendor.sent_key(sent) == FAKE_KEYS[vendor.key_env]
    body = sent.content.decode()
    assert "You are the story architect." in body and "Outline scene 3" in body
    assert "final_result" in body and '"score"' in body  # the output schema went out as a tool


def test_system_prompt_goes_out_verbatim(tmp_path, router):
    anthropic = VENDORS[1]
    route = router.post(anthropic.url).mock(return_value=ok(anthropic))
    make_gateway(tmp_path, router).complete(ask(anthropic))
    assert json.loads(route.calls.last.request.content)["system"] == "You are the story architect."


def test_max_output_tokens_is_sent(tmp_path, router):
    openai = VENDORS[0]
    route = router.post(openai.url).mock(return_value=ok(openai))
    make_gateway(tmp_path, router).complete(ask(openai, max_output_tokens=321))
    assert json.loads(route.calls.last.request.content)["max_completion_tokens"] == 321


# -- HTTP failures ---------------------------------------------------------------------------


def test_401_names_the_key_variable_and_never_the_key(tmp_path, router, vendor):
    echoed = f"Incorrect API key provided: {FAKE_KEYS[vendor.key_env]}"
    route = router.post(vendor.url).mock(
        return_value=httpx.Response(401, json=error_body(vendor.prefix, 401, echoed))
    )
    with pytest.raises(ProviderError) as caught:
        make_gateway(tmp_path, router).complete(ask(vendor))
    error = caught.value
    assert f"${vendor.key_env}" in str(error)
    assert error.context["status"] == 401
    assert error.context["provider"] == vendor.prefix
    assert error.context["model"] == f"{vendor.prefix}:{vendor.model}"
    assert route.call_count == 1  # a refused key is not retried
    assert_no_secret(error)


def test_429_then_success_honours_retry_after(tmp_path, router, vendor):
    limited = httpx.Response(
        429,
        headers={"retry-after": "0.2"},
        json=error_body(vendor.prefix, 429, "Rate limit reached"),
    )
    route = router.post(vendor.url).mock(side_effect=[limited, ok(vendor)])
    started = time.monotonic()
    result = make_gateway(tmp_path, router).complete(ask(vendor))
    assert result.output == Beat(**GOOD)
    assert route.call_count == 2
    assert time.monotonic() - started >= 0.2  # the backoff base alone would be 1 ms


def test_429_exhausted_is_a_provider_error(tmp_path, router, vendor):
    limited = httpx.Response(
        429, headers={"retry-after": "0"}, json=error_body(vendor.prefix, 429, "Rate limit reached")
    )
    route = router.post(vendor.url).mock(return_value=limited)
    with pytest.raises(ProviderError, match="rate limited") as caught:
        make_gateway(tmp_path, router, max_retries=2).complete(ask(vendor))
    assert caught.value.context["status"] == 429
    assert caught.value.context["requests_sent"] == route.call_count == 3


def test_500_then_success(tmp_path, router, vendor):
    failed = httpx.Response(500, json=error_body(vendor.prefix, 500, "internal error"))
    route = router.post(vendor.url).mock(side_effect=[failed, ok(vendor)])
    assert make_gateway(tmp_path, router).complete(ask(vendor)).output == Beat(**GOOD)
    assert route.call_count == 2


def test_500_exhausted_is_a_provider_error(tmp_path, router, vendor):
    failed = httpx.Response(503, json=error_body(vendor.prefix, 503, "overloaded"))
    route = router.post(vendor.url).mock(return_value=failed)
    with pytest.raises(ProviderError, match="server side") as caught:
        make_gateway(tmp_path, router, max_retries=1).complete(ask(vendor))
    assert caught.value.context["status"] == 503
    assert route.call_count == 2


def test_read_timeout_is_not_resent_and_may_be_billed(tmp_path, router, vendor):
    # the request was sent: the vendor may have run (and billed) it, so it is not sent again
    route = router.post(vendor.url).mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError, match="not sent again") as caught:
        make_gateway(tmp_path, router, max_retries=2).complete(ask(vendor))
    assert route.call_count == 1
    assert caught.value.context["provider"] == vendor.prefix
    assert caught.value.context["may_be_billed"] is True
    assert_no_secret(caught.value)


def test_read_timeout_is_retried_on_an_idempotent_provider(tmp_path, router, vendor):
    route = router.post(vendor.url).mock(side_effect=httpx.ReadTimeout("read timed out"))
    gateway = make_gateway(tmp_path, router, max_retries=2, idempotent=frozenset({vendor.prefix}))
    with pytest.raises(ProviderError, match="timed out") as caught:
        gateway.complete(ask(vendor))
    assert route.call_count == 3
    assert caught.value.context["requests_unanswered"] == 3
    assert_no_secret(caught.value)


def test_timeout_then_success(tmp_path, router, vendor):
    route = router.post(vendor.url).mock(
        side_effect=[httpx.ConnectTimeout("connect timed out"), ok(vendor)]
    )
    assert make_gateway(tmp_path, router).complete(ask(vendor)).output == Beat(**GOOD)
    assert route.call_count == 2


def test_malformed_json_body(tmp_path, router, vendor):
    router.post(vendor.url).mock(
        return_value=httpx.Response(
            200, content=b'{"id": "x", "choices": [', headers={"content-type": "application/json"}
        )
    )
    with pytest.raises(ProviderError, match="could not read") as caught:
        make_gateway(tmp_path, router).complete(ask(vendor))
    assert caught.value.context["skill"] == "story-architect"


def test_output_failing_the_schema_is_reasked_then_reported(tmp_path, router, vendor):
    route = router.post(vendor.url).mock(return_value=ok(vendor, BAD, tokens=(1000, 50)))
    with pytest.raises(ProviderError) as caught:
        make_gateway(tmp_path, router, schema_retries=2).complete(ask(vendor))
    error = caught.value
    assert route.call_count == 3  # the first answer and two re-asks
    assert "story-architect" in str(error) and "S03" in str(error)
    assert "score" in str(error)  # the validation problem itself
    assert error.context["input_tokens"] == 3000  # tokens spent are reported, for the ledger
    assert error.context["cost"] == pytest.approx(expected_cost(vendor, (3000, 150)))


def test_invalid_then_valid_output_succeeds_and_sums_usage(tmp_path, router, vendor):
    router.post(vendor.url).mock(
        side_effect=[ok(vendor, BAD, (1000, 50)), ok(vendor, GOOD, (1100, 60))]
    )
    result = make_gateway(tmp_path, router).complete(ask(vendor))
    assert result.output == Beat(**GOOD)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (2100, 110)
    assert result.cost == pytest.approx(expected_cost(vendor, (2100, 110)))


def test_missing_key_names_the_variable(tmp_path, router, vendor):
    route = router.post(vendor.url).mock(return_value=ok(vendor))
    env = {k: v for k, v in FAKE_KEYS.items() if k != vendor.key_env}
    with pytest.raises(ProviderError, match=vendor.key_env) as caught:
        make_gateway(tmp_path, router, env=env).complete(ask(vendor))
    assert route.call_count == 0
    assert_no_secret(caught.value)


def test_key_variable_name_comes_from_settings(tmp_path, router):
    openai = VENDORS[0]
    route = router.post(openai.url).mock(return_value=ok(openai))
    gateway = make_gateway(
        tmp_path,
        router,
        env={"STUDIO_OPENAI": "sk-studio"},
        api_key_env={"openai": "STUDIO_OPENAI"},
    )
    gateway.complete(ask(openai))
    assert openai.sent_key(route.calls.last.request) == "sk-studio"


# -- OpenAI-compatible specifics -------------------------------------------------------------


def test_compat_on_localhost_needs_no_key(tmp_path, router):
    compat = VENDORS[3]
    route = router.post("http://localhost:11434/v1/chat/completions").mock(return_value=ok(compat))
    gateway = make_gateway(
        tmp_path,
        router,
        env={},
        base_urls={"compat": "http://localhost:11434/v1"},
        price_overrides={"compat:qwen-plus": (0.0, 0.0)},
    )
    result = gateway.complete(ask(compat))
    assert result.output == Beat(**GOOD) and result.cost == 0.0
    assert route.call_count == 1


def test_compat_without_base_url_says_what_to_set(tmp_path, router):
    with pytest.raises(ProviderError, match="base_urls"):
        make_gateway(tmp_path, router, base_urls={}).complete(ask(VENDORS[3]))


def test_compat_unknown_price_asks_for_an_override(tmp_path, router):
    gateway = make_gateway(tmp_path, router, price_overrides={})
    with pytest.raises(ProviderError, match="price"):
        gateway.worst_case_cost(ask(VENDORS[3]))


# -- SDK extras ------------------------------------------------------------------------------


def test_missing_sdk_names_the_extra(tmp_path, router, monkeypatch):
    monkeypatch.setitem(sys.modules, "pydantic_ai.models.anthropic", None)
    with pytest.raises(ProviderError, match=r"pip install 'filmslate\[anthropic\]'"):
        make_gateway(tmp_path, router).complete(ask(VENDORS[1]))


# -- the retrying transport ------------------------------------------------------------------


def test_retry_after_forms():
    assert retry_after_seconds(httpx.Response(429, headers={"retry-after": "3"})) == 3.0
    assert retry_after_seconds(httpx.Response(429, headers={"retry-after-ms": "250"})) == 0.25
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_seconds(httpx.Response(429, headers={"retry-after": later})) <= 30
    assert retry_after_seconds(httpx.Response(429)) is None
    assert retry_after_seconds(httpx.Response(429, headers={"retry-after": "soon"})) is None


def test_bridge_waits_what_the_server_asks_capped():
    import anyio
    import httpx2

    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    answers = iter(
        [
            httpx.Response(429, headers={"retry-after": "7"}),
            httpx.Response(503),
            httpx.Response(429, headers={"retry-after": "999"}),
            httpx.Response(200, json={}),
        ]
    )
    client = httpx.Client(transport=httpx.MockTransport(lambda request: next(answers)))

    class Transport(BridgeTransport, httpx2.AsyncBaseTransport):
        pass

    transport = Transport(
        client, timeout_s=5, max_retries=3, backoff_s=0.5, wait_max_s=60, sleep=record
    )

    async def send() -> httpx2.Response:
        async with httpx2.AsyncClient(transport=transport) as async_client:
            return await async_client.get("https://example.test/")

    assert anyio.run(send).status_code == 200
    assert waits == [7.0, 1.0, 60.0]  # Retry-After; backoff 0.5 * 2**1; Retry-After capped


def test_works_when_called_from_async_code(tmp_path, router):
    import asyncio

    openai = VENDORS[0]
    router.post(openai.url).mock(return_value=ok(openai))
    gateway = make_gateway(tmp_path, router)

    async def skill_runner() -> Any:
        return gateway.complete(ask(openai))

    assert asyncio.run(skill_runner()).output == Beat(**GOOD)
