"""The shared adapter for vendor text models: pydantic-ai behind our gateway interface.

pydantic-ai gives one API over OpenAI, Anthropic, Gemini and OpenAI-compatible endpoints, with
structured output validated into a pydantic model and re-asked when invalid. Around it, this
module adds what the gateway promises on top:

* HTTP goes through the gateway's own ``httpx.Client`` (so tests and users can hand in a
  ``MockTransport`` or respx), bridged into the async ``httpx2`` client the vendor SDKs expect,
  with our retries: 429, 5xx and requests that never left, honouring ``Retry-After``; a request
  sent but never answered is resent only for an ``idempotent`` provider (``_pydantic_ai_http``).
  The SDKs' own retries are switched off so a call is never retried twice over.
* The output schema is asked for the way the provider's ``output_mode`` says: a tool call,
  the vendor's native JSON schema, or the schema in the prompt; a failing answer is re-asked
  with the validation error quoted.
* Keys come only from the environment variable the settings name, and never reach an error.
* Costs come from :mod:`filmslate.core._prices`; errors become :class:`ProviderError` with context.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ..core._errors import ProviderError
from ..core._prices import token_cost, token_prices
from ..engine._gateway import (
    OutputMode,
    ProviderContext,
    TextProvider,
    TextRequest,
    TextResult,
    Usage,
)
from ._pydantic_ai_http import (
    TRANSIENT_STATUSES,
    BridgeTransport,
    Sleep,
    bridge_transport,
    counting_requests,
    requests_sent,
    requests_unanswered,
    retry_after_seconds,
    run_blocking,
)
from .replay import describe_error

if TYPE_CHECKING:
    import httpx2
    from pydantic_ai.models import Model
    from pydantic_ai.profiles import ModelProfile

# The HTTP bridge (``_pydantic_ai_http``) lives beside this module; its public names are
# re-exported so callers import from here.
__all__ = [
    "TRANSIENT_STATUSES",
    "BridgeTransport",
    "PydanticAIProvider",
    "Sleep",
    "bridge_transport",
    "is_local_url",
    "requests_sent",
    "requests_unanswered",
    "retry_after_seconds",
    "run_blocking",
    "translate_error",
    "user_prompt",
    "vendor_import",
]

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


@contextlib.contextmanager
def vendor_import(provider: str, extra: str) -> Iterator[None]:
    """Turn a missing vendor SDK into an error that names the extra to install."""
    try:
        yield
    except ImportError as exc:
        raise ProviderError(
            f"the {provider} provider needs its SDK: pip install 'filmslate[{extra}]'",
            provider=provider,
            extra=extra,
            missing=exc.name,
        ) from None


def is_local_url(url: str | None) -> bool:
    """Whether ``url`` points at this machine (a local Ollama or vLLM needs no key)."""
    return url is not None and httpx.URL(url).host in _LOCAL_HOSTS


class PydanticAIProvider(TextProvider):
    """Base of the vendor providers: builds a pydantic-ai model and runs one agent call.

    Subclasses set ``name`` (the prefix), ``extra`` (the pip extra with their SDK) and
    ``default_base_url``, and implement :meth:`build_model`.
    """

    extra: ClassVar[str]
    default_base_url: ClassVar[str | None] = None

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.transport = bridge_transport(context, self.name)
        self._async_client: httpx2.AsyncClient | None = None
        self._models: dict[str, Model] = {}

    def worst_case_cost(self, request: TextRequest) -> float:
        """One ask's worst case times the asks a schema failure can cause.

        A re-ask resends the prompt (with the rejected answer), so reserving a single ask
        could let a call that keeps failing validation spend past its hold.
        """
        return super().worst_case_cost(request) * (1 + self.context.settings.schema_retries)

    def __repr__(self) -> str:
        # Never show the model objects: their SDK clients hold the API key.
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @property
    def key_env(self) -> str:
        """The environment variable this provider reads its API key from."""
        return self.context.settings.key_env(self.name)

    @property
    def base_url(self) -> str | None:
        """The endpoint: the project's ``base_urls[name]`` or the vendor's own."""
        return self.context.settings.base_urls.get(self.name) or self.default_base_url

    def api_key(self) -> str | None:
        """The key from the environment; missing is an error naming the variable to set."""
        key = self.context.env.get(self.key_env)
        if not key:
            raise ProviderError(
                f"no API key for the {self.name} provider: set the environment variable "
                f"{self.key_env}",
                provider=self.name,
                env_var=self.key_env,
            )
        return key

    @abc.abstractmethod
    def build_model(
        self,
        model_name: str,
        *,
        api_key: str | None,
        base_url: str | None,
        http_client: httpx2.AsyncClient,
        profile: ModelProfile | None = None,
    ) -> Model:
        """The pydantic-ai model for ``model_name``, sending through ``http_client``, with
        ``profile`` merged over the vendor's own (see :meth:`profile_changes`)."""

    @property
    def output_mode(self) -> OutputMode:
        """How this provider's models are asked for structured output."""
        return self.context.settings.output_mode(self.name)

    def profile_changes(self) -> ModelProfile | None:
        """What the output mode changes in the model profile: ``prompted`` sends the schema
        in the prompt alone (no JSON mode either), for endpoints that support neither."""
        if self.output_mode == "prompted":
            return {"supports_json_object_output": False}
        return None

    def token_prices(self, model_name: str) -> tuple[float, float]:
        """USD per million tokens, from the project's overrides or genai-prices."""
        return token_prices(
            self.name,
            model_name,
            api_url=self.base_url,
            overrides=self.context.settings.price_overrides,
        )

    def complete(self, request: TextRequest) -> TextResult:
        """Ask the model; validate into ``request.output_type``; price the tokens used."""
        from pydantic_ai import Agent

        model = self._model(request.model_name)
        agent = Agent(
            model,
            output_type=self._output_spec(request, model),
            system_prompt=request.system,
            name=request.skill,
            retries={"output": self.context.settings.schema_retries},
        )
        with counting_requests():
            outcome = self._run(agent, request)
        if isinstance(outcome, ProviderError):
            # Raised here, outside any except block, so the SDK's exception (whose request
            # carries the key in its headers) is not chained to ours as __context__.
            raise outcome
        return outcome

    def _output_spec(self, request: TextRequest, model: Model) -> Any:
        from pydantic_ai import NativeOutput, PromptedOutput

        if self.output_mode == "prompted":
            return PromptedOutput(request.output_type)
        if self.output_mode == "tool":
            return request.output_type  # the final_result tool
        if not model.profile.get("supports_json_schema_output", False):
            raise ProviderError(
                f"{self.name} ({request.model}) has no native JSON schema output: set "
                f'output_mode = "tool" or "prompted" in [providers.{self.name}]',
                provider=self.name,
                model=request.model,
            )
        return NativeOutput(request.output_type)

    def _run(self, agent: Any, request: TextRequest) -> TextResult | ProviderError:
        from pydantic_ai import capture_run_messages

        settings = {
            "max_tokens": request.max_output_tokens,
            # The SDKs' own retries are off: the bridge transport retries, honouring Retry-After.
            "max_retries": 0,
            # pydantic-ai 2.x may prepend ~185 words about <system> tags to the system prompt
            # (always, on some models); a skill's system text must go out exactly as written.
            "framing_announcement": "never",
        }
        with capture_run_messages() as messages:
            try:
                run = run_blocking(agent.run(user_prompt(request), model_settings=settings))
            except Exception as exc:  # narrowed by _translate: anything else is re-raised
                return self._translate(exc, request, messages)
        usage = run.usage  # a property in pydantic-ai 2.x; calling it is deprecated
        return self._result(request, run.output, usage.input_tokens, usage.output_tokens)

    def _model(self, model_name: str) -> Model:
        if model_name not in self._models:
            self._models[model_name] = self.build_model(
                model_name,
                api_key=self.api_key(),
                base_url=self.base_url,
                http_client=self._client(),
                profile=self.profile_changes(),
            )
        return self._models[model_name]

    def _client(self) -> httpx2.AsyncClient:
        import httpx2

        if self._async_client is None:
            # The timeout here is only what SDKs read back; the bridge enforces ours.
            self._async_client = httpx2.AsyncClient(
                transport=self.transport, timeout=self.context.settings.timeout_s
            )
        return self._async_client

    def _result(
        self, request: TextRequest, output: Any, input_tokens: int, output_tokens: int
    ) -> TextResult:
        cost = token_cost(
            self.name,
            request.model_name,
            input_tokens,
            output_tokens,
            overrides=self.context.settings.price_overrides,
            api_url=self.base_url,
        )
        return TextResult(
            output=output, usage=Usage(input_tokens, output_tokens), cost=cost, model=request.model
        )

    def _translate(
        self, exc: Exception, request: TextRequest, messages: Sequence[Any]
    ) -> ProviderError:
        secret = self.context.env.get(self.key_env)
        translated = translate_error(
            exc, self._error_context(request, messages), key_env=self.key_env, secret=secret
        )
        if translated is None:
            raise exc  # not a provider failure: a bug, which should show its traceback
        return translated

    def _error_context(self, request: TextRequest, messages: Sequence[Any]) -> dict[str, Any]:
        spent = _spent_tokens(messages)
        unanswered = requests_unanswered()
        return dict(
            provider=self.name,
            base_url=self.base_url,
            model=request.model,
            skill=request.skill,
            target=request.target,
            attempt=request.attempt,
            requests_sent=requests_sent(),
            requests_unanswered=unanswered,
            # sent but never answered: the vendor may bill it, so the caller charges worst case
            may_be_billed=unanswered > 0,
            idempotent=self.name in self.context.settings.idempotent,
            input_tokens=spent.input_tokens,
            output_tokens=spent.output_tokens,
            cost=self._cost_or_zero(request, spent),
        )

    def _cost_or_zero(self, request: TextRequest, spent: Usage) -> float:
        # Tokens a failed call still consumed are money spent; report them when we can price them.
        if not (spent.input_tokens or spent.output_tokens):
            return 0.0
        try:
            return self._result(request, None, spent.input_tokens, spent.output_tokens).cost
        except ProviderError:
            return 0.0


def user_prompt(request: TextRequest) -> Any:
    """The prompt text, then each image as a part after a line of text naming it."""
    if not request.images:
        return request.prompt
    from pydantic_ai import BinaryContent

    parts: list[Any] = [request.prompt]
    for image in request.images:
        parts += [f"[{image.label}]", BinaryContent(image.data, media_type=image.media_type)]
    return parts


def _spent_tokens(messages: Sequence[Any]) -> Usage:
    from pydantic_ai.messages import ModelResponse

    responses = [m for m in messages if isinstance(m, ModelResponse)]
    return Usage(
        sum(r.usage.input_tokens for r in responses), sum(r.usage.output_tokens for r in responses)
    )


def translate_error(
    exc: Exception, context: dict[str, Any], *, key_env: str, secret: str | None
) -> ProviderError | None:
    """The :class:`ProviderError` for a pydantic-ai or SDK failure, or None if it is not one."""
    from pydantic_ai.exceptions import (
        ModelAPIError,
        ModelConnectionError,
        ModelHTTPError,
        ModelTimeoutError,
        UnexpectedModelBehavior,
    )

    who = f"{context['provider']} ({context['model']}) for {context['skill']} {context['target']}"
    if isinstance(exc, ModelHTTPError):
        return _http_error(exc.status_code, _redact(exc.body, secret), who, key_env, context)
    if context.get("may_be_billed") and not context.get("idempotent"):
        return ProviderError(
            f"{who} sent no answer in time after the request was sent "
            f"({type(exc).__name__}); it was not sent again, as the vendor may have run and "
            "billed it, and it is charged at worst case: raise timeout_s in "
            f"[providers.{context['provider']}], or set idempotent = true there if the "
            "endpoint never bills a repeat",
            **context,
        )
    if isinstance(exc, ModelTimeoutError):
        return ProviderError(
            f"{who} timed out {context['requests_sent']} times; try again "
            f"later or raise timeout_s in [providers.{context['provider']}]",
            **context,
        )
    if isinstance(exc, ModelConnectionError):
        at = f" at {_redact(context['base_url'], secret)}" if context.get("base_url") else ""
        return ProviderError(
            f"could not reach {who}{at} ({_redact(str(exc), secret).rstrip('.')}); check the "
            f"network and base_url in [providers.{context['provider']}]",
            **context,
        )
    if isinstance(exc, UnexpectedModelBehavior) and "output retries" in exc.message:
        # one line, without pydantic's help links: the CLI prints it and the run log keeps it
        problem = _redact(_one_line(exc.__cause__ or exc), secret)
        return ProviderError(
            f"{who}: the model's output failed the {context['skill']} output "
            f"schema after every re-ask: {problem}",
            problem=problem,
            **context,
        )
    if isinstance(exc, ModelAPIError | UnexpectedModelBehavior) or _is_malformed_body(exc):
        detail = _redact(f"{type(exc).__name__}: {exc}", secret)[:300]
        return ProviderError(
            f"{who} sent a response filmslate could not read ({detail}); try "
            "again, and report it if it persists",
            **context,
        )
    return None


def _http_error(
    status: int, body: str, who: str, key_env: str, context: dict[str, Any]
) -> ProviderError:
    retried = _retries(context["requests_sent"] - 1)
    if status in (401, 403):
        # The body is left out on purpose: some vendors echo part of the key back.
        return ProviderError(
            f"{who} refused the API key (HTTP {status}): check the key in ${key_env}",
            status=status,
            env_var=key_env,
            **context,
        )
    if status == 429:
        return ProviderError(
            f"{who} is rate limited (HTTP 429) after {retried}; wait "
            "and run again, or raise the provider's limits",
            status=status,
            **context,
        )
    if status >= 500:
        return ProviderError(
            f"{who} failed on the server side (HTTP {status}) after {retried}; try again later",
            status=status,
            **context,
        )
    return ProviderError(
        f"{who} rejected the request (HTTP {status}): {body[:500]}", status=status, **context
    )


def _retries(count: int) -> str:
    return f"{count} {'retry' if count == 1 else 'retries'}"


def _is_malformed_body(exc: Exception) -> bool:
    # SDKs differ in how a non-JSON or misshapen 200 body surfaces; all of these mean "unreadable".
    import pydantic

    try:
        import openai

        sdk_errors: tuple[type[Exception], ...] = (openai.APIResponseValidationError,)
    except ImportError:
        sdk_errors = ()
    return isinstance(exc, (ValueError, KeyError, TypeError, pydantic.ValidationError, *sdk_errors))


def _one_line(exc: BaseException) -> str:
    """A schema failure on one line: each field and its problem when a pydantic error is in
    the chain, else the text with its help links dropped and its lines joined."""
    import pydantic

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, pydantic.ValidationError):
            return describe_error(seen)
        seen = seen.__cause__ or seen.__context__
    lines = (line.strip() for line in str(exc).splitlines())
    return " ".join(line for line in lines if line and not line.startswith("For further"))


def _redact(value: object, secret: str | None) -> str:
    text = "" if value is None else str(value)
    if secret:
        text = text.replace(secret, "***")
    return text
