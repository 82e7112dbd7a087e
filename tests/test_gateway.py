"""The gateway: routing, worst-case cost, prices, and the offline replay and handoff providers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pydantic
import pytest

from filmslate import ProviderError, SchemaError, UserError
from filmslate.core._errors import WaitingForHandoff
from filmslate.core._prices import token_cost, token_prices
from filmslate.engine._gateway import (
    Gateway,
    ProviderContext,
    ProviderSettings,
    TextProvider,
    TextRequest,
    TextResult,
    Usage,
)
from filmslate.providers import submit_answer

FAKE_KEY = "sk-FAKE-KEY-never-to-be-seen-9876"


class Beat(pydantic.BaseModel):
    """A stand-in output model (module level, so a handoff task can import it back)."""

    title: str
    score: int = pydantic.Field(ge=0, le=10)


GOOD = {"title": "The storm breaks", "score": 7}


def no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the test tried to reach {request.url}")


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    client = httpx.Client(transport=httpx.MockTransport(no_network))
    return Gateway(
        tmp_path, ProviderSettings(), env={"OPENAI_API_KEY": FAKE_KEY}, http_client=client
    )


def ask(model: str = "replay:judgment", **overrides: Any) -> TextRequest:
    fields: dict[str, Any] = dict(
        skill="story-architect",
        target="S03",
        attempt=2,
        model=model,
        system="You are the story architect.",
        prompt="Outline scene 3 as one beat.",
        output_type=Beat,
        max_output_tokens=1000,
    )
    return TextRequest(**{**fields, **overrides})


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


# -- routing ---------------------------------------------------------------------------------


class Scripted(TextProvider):
    """A provider that answers from a list, for routing tests."""

    name: ClassVar[str] = "scripted"
    offline: ClassVar[bool] = True

    def __init__(self) -> None:
        self.seen: list[TextRequest] = []

    def complete(self, request: TextRequest) -> TextResult:
        self.seen.append(request)
        return TextResult(Beat(**GOOD), Usage(1, 2), 0.0, request.model)


def test_routes_by_prefix_to_a_registered_provider(gateway):
    scripted = Scripted()
    gateway.register("scripted", scripted)
    result = gateway.complete(ask("scripted:judgment"))
    assert result.output == Beat(**GOOD)
    assert [r.model for r in scripted.seen] == ["scripted:judgment"]
    assert gateway.worst_case_cost(ask("scripted:judgment")) == 0.0


def test_register_replaces_a_builtin(gateway):
    scripted = Scripted()
    gateway.register("openai", scripted)
    gateway.complete(ask("openai:gpt-4.1-mini"))
    assert len(scripted.seen) == 1


def test_unknown_prefix_lists_the_known_ones(gateway):
    with pytest.raises(ProviderError, match="replay") as caught:
        gateway.complete(ask("mystery:model"))
    assert "'mystery'" in str(caught.value)


@pytest.mark.parametrize("model", ["gpt-4.1-mini", ":gpt-4.1-mini", "openai:"])
def test_model_without_provider_is_refused(gateway, model):
    with pytest.raises(ProviderError, match="provider:model"):
        gateway.complete(ask(model))


def test_entry_point_providers(gateway, monkeypatch):
    scripted = Scripted()

    class EntryPoint:
        def load(self):
            def factory(context: ProviderContext) -> TextProvider:
                assert isinstance(context, ProviderContext)
                return scripted

            return factory

    monkeypatch.setattr(
        "filmslate.engine._gateway.entry_points",
        lambda group, name: [EntryPoint()] if name == "plugin" else [],
    )
    gateway.complete(ask("plugin:some-model"))
    assert len(scripted.seen) == 1


# -- worst-case cost and prices --------------------------------------------------------------


def test_worst_case_cost_for_a_vendor_model(gateway):
    request = ask("openai:gpt-4.1-mini", system="s" * 30, prompt="p" * 31)
    input_price, output_price = token_prices("openai", "gpt-4.1-mini")
    prompt_tokens = 21  # ceil(61 / 3)
    one_ask = (prompt_tokens * input_price + 1000 * output_price) / 1e6
    asks = 1 + gateway.context.settings.schema_retries  # a schema re-ask resends the prompt
    assert gateway.worst_case_cost(request) == pytest.approx(one_ask * asks)
    assert gateway.worst_case_cost(request) > 0


@pytest.mark.parametrize("model", ["replay:judgment", "handoff:premium"])
def test_worst_case_cost_is_zero_offline(gateway, model):
    assert gateway.worst_case_cost(ask(model)) == 0.0


def test_worst_case_cost_needs_no_key(tmp_path):
    # Budget is reserved before the call; a missing key is reported by the call itself.
    gateway = Gateway(tmp_path, ProviderSettings(), env={})
    with gateway:
        assert gateway.worst_case_cost(ask("anthropic:claude-sonnet-4-6")) > 0


def test_prices_from_genai_prices_offline():
    assert token_prices("openai", "gpt-4.1-mini") == pytest.approx((0.4, 1.6))
    assert token_cost("openai", "gpt-4.1-mini", 1_000_000, 0) == pytest.approx(0.4)
    assert token_prices("gemini", "gemini-2.5-flash")[0] > 0  # our "gemini" is their "google"


def test_price_overrides_win():
    overrides = {"openai:gpt-4.1-mini": (1.0, 2.0), "compat:llama3.1": (0.0, 0.0)}
    assert token_prices("openai", "gpt-4.1-mini", overrides=overrides) == (1.0, 2.0)
    assert token_cost(
        "openai", "gpt-4.1-mini", 500_000, 250_000, overrides=overrides
    ) == pytest.approx(1.0)
    assert token_cost("compat", "llama3.1", 10, 10, overrides=overrides) == 0.0


def test_unknown_model_price_is_a_provider_error(gateway):
    with pytest.raises(ProviderError, match="price") as caught:
        gateway.worst_case_cost(ask("openai:gpt-nonexistent-9"))
    assert caught.value.context["model"] == "gpt-nonexistent-9"


def test_compat_price_found_by_endpoint():
    price = token_prices("compat", "deepseek-chat", api_url="https://api.deepseek.com/v1")
    assert price[0] > 0


def test_project_price_override_reaches_worst_case_cost(tmp_path):
    settings = ProviderSettings(price_overrides={"openai:gpt-4.1-mini": (3.0, 6.0)})
    with Gateway(tmp_path, settings, env={}) as gateway:
        cost = gateway.worst_case_cost(ask("openai:gpt-4.1-mini", system="", prompt="abc"))
    assert cost == pytest.approx((1 * 3.0 + 1000 * 6.0) / 1e6 * (1 + settings.schema_retries))


# -- keys ------------------------------------------------------------------------------------


def test_key_never_leaks(tmp_path):
    def refuse(request: httpx.Request) -> httpx.Response:
        # Some vendors echo (part of) the key back in the error body.
        return httpx.Response(401, json={"error": {"message": f"bad key {FAKE_KEY}"}})

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    gateway = Gateway(
        tmp_path, ProviderSettings(), env={"OPENAI_API_KEY": FAKE_KEY}, http_client=client
    )
    provider = gateway.provider("openai:gpt-4.1-mini")
    texts = [repr(provider), repr(gateway.context.settings)]
    with pytest.raises(ProviderError) as caught:
        gateway.complete(ask("openai:gpt-4.1-mini"))
    texts += [str(caught.value), repr(caught.value), repr(caught.value.context)]
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    gateway.register("scripted", Scripted())
    texts.append(repr(gateway.complete(ask("scripted:x"))))
    assert all(FAKE_KEY not in text for text in texts)


def test_missing_key_names_the_variable(tmp_path):
    with (
        Gateway(tmp_path, ProviderSettings(), env={}) as gateway,
        pytest.raises(ProviderError, match=r"OPENAI_API_KEY") as caught,
    ):
        gateway.complete(ask("openai:gpt-4.1-mini"))
    assert caught.value.context["env_var"] == "OPENAI_API_KEY"


# -- replay ----------------------------------------------------------------------------------


def test_replay_prefers_the_exact_attempt(gateway, tmp_path):
    write(tmp_path / "replay/story-architect/S03/2.json", GOOD)
    write(tmp_path / "replay/story-architect/S03/any.json", {"title": "target", "score": 1})
    write(tmp_path / "replay/story-architect/any.json", {"title": "skill", "score": 1})
    result = gateway.complete(ask())
    assert result.output == Beat(**GOOD)
    assert (result.usage, result.cost, result.model) == (Usage(0, 0), 0.0, "replay:judgment")


def test_replay_falls_back_to_target_then_skill(gateway, tmp_path):
    write(tmp_path / "replay/story-architect/S03/1.json", {"title": "attempt 1", "score": 1})
    write(tmp_path / "replay/story-architect/any.json", {"title": "skill", "score": 2})
    assert gateway.complete(ask()).output.title == "skill"  # attempt 1 is never reused for 2
    write(tmp_path / "replay/story-architect/S03/any.json", {"title": "target", "score": 3})
    assert gateway.complete(ask()).output.title == "target"


def test_replay_answers_each_question_of_a_run_from_its_own_file(gateway, tmp_path):
    write(tmp_path / "replay/story-architect/S03/2.json", {"title": "shared", "score": 1})
    write(tmp_path / "replay/story-architect/S03/2-2.json", {"title": "second", "score": 2})
    assert gateway.complete(ask(call=1)).output.title == "shared"
    assert gateway.complete(ask(call=2)).output.title == "second"
    assert gateway.complete(ask(call=3)).output.title == "shared"


def test_handoff_gives_each_question_of_a_run_its_own_task(gateway, tmp_path):
    for call in (1, 2):
        with pytest.raises(WaitingForHandoff):
            gateway.complete(ask("handoff:premium", call=call))
    names = sorted(p.name for p in (tmp_path / "inbox").glob("*.task.json"))
    assert names == [f"{STEM}-2.task.json", f"{STEM}.task.json"]


def test_replay_missing_lists_every_path(gateway, tmp_path):
    with pytest.raises(ProviderError) as caught:
        gateway.complete(ask())
    expected = [
        tmp_path / "replay/story-architect/S03/2-1.json",
        tmp_path / "replay/story-architect/S03/2.json",
        tmp_path / "replay/story-architect/S03/any.json",
        tmp_path / "replay/story-architect/any.json",
    ]
    for path in expected:
        assert str(path) in str(caught.value)
    assert caught.value.context["looked_for"] == [str(p) for p in expected]


def test_replay_wrapped_answer_carries_usage_and_cost(gateway, tmp_path):
    write(
        tmp_path / "replay/story-architect/S03/2.json",
        {"output": GOOD, "usage": {"input_tokens": 900, "output_tokens": 80}, "cost": 0.0123},
    )
    result = gateway.complete(ask())
    assert result.output == Beat(**GOOD)
    assert result.usage == Usage(900, 80)
    assert result.cost == 0.0123


def test_replay_invalid_answer_names_file_and_problem(gateway, tmp_path):
    path = write(tmp_path / "replay/story-architect/S03/2.json", {"title": "x", "score": 99})
    with pytest.raises(ProviderError) as caught:
        gateway.complete(ask())
    assert str(path) in str(caught.value)
    assert "score" in str(caught.value) and "10" in str(caught.value)


def test_replay_invalid_json_names_file(gateway, tmp_path):
    path = write(tmp_path / "replay/story-architect/S03/2.json", '{"title": ')
    with pytest.raises(ProviderError, match="not valid JSON") as caught:
        gateway.complete(ask())
    assert str(path) in str(caught.value)


def test_replay_dir_comes_from_settings(tmp_path):
    write(tmp_path / "answers/story-architect/any.json", GOOD)
    with Gateway(tmp_path, ProviderSettings(replay_dir="answers"), env={}) as gateway:
        assert gateway.complete(ask()).output == Beat(**GOOD)


@pytest.mark.parametrize("target", ["../S03", "a/b", "..", ""])
def test_replay_refuses_path_like_names(gateway, target):
    with pytest.raises(ProviderError, match="cannot name a file"):
        gateway.complete(ask(target=target))


# -- handoff ---------------------------------------------------------------------------------


STEM = "story-architect__S03__2"


def test_handoff_writes_a_task_and_waits(gateway, tmp_path):
    with pytest.raises(WaitingForHandoff) as caught:
        gateway.complete(ask("handoff:premium"))
    task_path = tmp_path / "inbox" / f"{STEM}.task.json"
    assert caught.value.task_path == task_path
    task = json.loads(task_path.read_text())
    assert task["skill"] == "story-architect" and task["target"] == "S03"
    assert task["attempt"] == 2 and task["tier"] == "premium"
    assert task["model"] == "handoff:premium"
    assert task["system"] == "You are the story architect."
    assert task["prompt"] == "Outline scene 3 as one beat."
    assert task["output_schema"] == Beat.model_json_schema()
    assert task["output_type"] == f"{__name__}:Beat"
    assert f"{STEM}.answer.json" in task["instructions"]
    markdown = (tmp_path / "inbox" / f"{STEM}.task.md").read_text()
    assert "Outline scene 3 as one beat." in markdown and '"score"' in markdown
    assert [p.name for p in (tmp_path / "inbox").iterdir() if p.name.startswith(".")] == []


def test_handoff_asking_again_is_idempotent(gateway, tmp_path):
    for _ in range(2):
        with pytest.raises(WaitingForHandoff):
            gateway.complete(ask("handoff:premium"))
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == [
        f"{STEM}.task.json",
        f"{STEM}.task.md",
    ]


def test_handoff_never_overwrites_a_different_task(gateway, tmp_path):
    with pytest.raises(WaitingForHandoff):
        gateway.complete(ask("handoff:premium"))
    task_path = tmp_path / "inbox" / f"{STEM}.task.json"
    before = task_path.read_text()
    with pytest.raises(ProviderError, match="different task"):
        gateway.complete(ask("handoff:premium", prompt="A changed prompt."))
    assert task_path.read_text() == before


def test_handoff_round_trip_through_submit_answer(gateway, tmp_path):
    with pytest.raises(WaitingForHandoff):
        gateway.complete(ask("handoff:premium"))
    answer = write(tmp_path / "elsewhere" / f"{STEM}.answer.json", GOOD)
    stored = submit_answer(tmp_path, ProviderSettings(), answer)
    assert stored == tmp_path / "inbox" / f"{STEM}.answer.json"
    result = gateway.complete(ask("handoff:premium"))
    assert result.output == Beat(**GOOD)
    assert (result.usage, result.cost) == (Usage(0, 0), 0.0)


def test_submit_answer_by_task_name_in_a_wrapper(gateway, tmp_path):
    with pytest.raises(WaitingForHandoff):
        gateway.complete(ask("handoff:premium"))
    answer = write(tmp_path / "my-answer.json", {"task": f"{STEM}.task.json", "output": GOOD})
    stored = submit_answer(tmp_path, ProviderSettings(), answer)
    assert json.loads(stored.read_text()) == GOOD
    assert gateway.complete(ask("handoff:premium")).output == Beat(**GOOD)


def test_submit_invalid_answer_writes_nothing(gateway, tmp_path):
    with pytest.raises(WaitingForHandoff):
        gateway.complete(ask("handoff:premium"))
    answer = write(tmp_path / f"{STEM}.answer.json", {"title": "x", "score": "many"})
    with pytest.raises(SchemaError) as caught:
        submit_answer(tmp_path, ProviderSettings(), answer)
    assert any("score" in problem for problem in caught.value.context["problems"])
    assert not (tmp_path / "inbox" / f"{STEM}.answer.json").exists()


def test_submit_answer_that_is_not_json(tmp_path, gateway):
    with pytest.raises(WaitingForHandoff):
        gateway.complete(ask("handoff:premium"))
    answer = write(tmp_path / f"{STEM}.answer.json", "{nope")
    with pytest.raises(SchemaError, match="not valid JSON"):
        submit_answer(tmp_path, ProviderSettings(), answer)


def test_submit_answer_without_a_task(tmp_path):
    answer = write(tmp_path / f"{STEM}.answer.json", GOOD)
    with pytest.raises(UserError, match="no task"):
        submit_answer(tmp_path, ProviderSettings(), answer)
    unnamed = write(tmp_path / "answer.json", GOOD)
    with pytest.raises(UserError, match="which task"):
        submit_answer(tmp_path, ProviderSettings(), unnamed)


def test_submit_answer_saved_straight_into_the_inbox(gateway, tmp_path):
    with pytest.raises(WaitingForHandoff) as caught:
        gateway.complete(ask("handoff:premium"))
    in_inbox = write(caught.value.task_path.with_name(f"{STEM}.answer.json"), GOOD)
    assert submit_answer(tmp_path, ProviderSettings(), in_inbox) == in_inbox


def test_handoff_invalid_answer_in_the_inbox(gateway, tmp_path):
    write(tmp_path / "inbox" / f"{STEM}.answer.json", {"title": "x"})
    with pytest.raises(ProviderError, match="score"):
        gateway.complete(ask("handoff:premium"))


def test_waiting_is_not_a_provider_error(gateway):
    with pytest.raises(WaitingForHandoff) as caught:
        gateway.complete(ask("handoff:premium"))
    assert not isinstance(caught.value, ProviderError)
    assert "answer" in str(caught.value)
