"""A local OpenAI-compatible chat endpoint: scripted answers, every request recorded.

``with OpenAIServer([answer, ...]) as server:`` listens on 127.0.0.1 (a free port, stopping by
itself after ``timeout_s``); point ``[providers.compat] base_url`` at ``server.base_url``
(:meth:`OpenAIServer.providers_toml` writes that table). It speaks the chat completions API
(``POST /v1/chat/completions``) the way an OpenAI-compatible gateway does, in whichever form
the request asks for the output:

- a request with ``tools`` (pydantic-ai's tool output) is answered with a ``tool_calls``
  message calling the first tool with the answer as its arguments;
- any other request (``response_format`` ``json_schema``, ``json_object``, or the schema only
  in the prompt) is answered with the answer as the message's JSON text.

Answers are dicts played in order (the last one repeats), or a function of the request body;
each reports ``tokens`` of usage (a pair, a function of the request body, or ``"measured"``:
about four characters a token of the messages' text and of the answer, 85 an image, the way
a vendor's tokenizer counts English); :attr:`OpenAIServer.usage` keeps what each answered
completion reported, so a test can price the tokens the server billed. ``delay_s``
holds every answer back (a slow model: the client's read timeout fires after the request was
sent). ``fail_next(n, kind)`` plans the next
``n`` completions to fail: ``"rate_limit"`` (429) or ``"server"`` (503), both with
``Retry-After: retry_after``. :meth:`completions` lists the chat requests received (the key is never
kept), :func:`output_shape` says how one asked for its output.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any, Literal

from ._media_server import Answer, MediaServer, Received, _handler_for

__all__ = ["FAILURES", "OpenAIServer", "measured_tokens", "output_shape"]

FAILURES = ("rate_limit", "server")
Script = list[dict[str, Any]] | Callable[[dict[str, Any]], dict[str, Any]]
Tokens = tuple[int, int] | Callable[[dict[str, Any]], tuple[int, int]] | Literal["measured"]
CHARS_PER_TOKEN = 4  # "measured" usage: roughly how a vendor's tokenizer counts English
IMAGE_TOKENS = 85  # "measured" usage: an image at OpenAI's low detail


def output_shape(body: dict[str, Any]) -> str:
    """How a chat request asks for structured output: ``"tool"``, ``"json_schema"``,
    ``"json_object"`` or ``"prompted"`` (neither tools nor a response format)."""
    if body.get("tools"):
        return "tool"
    response_format = body.get("response_format") or {}
    return str(response_format.get("type") or "prompted")


class OpenAIServer(MediaServer):
    """A bounded local OpenAI-compatible chat completions endpoint (see the module docs)."""

    def __init__(
        self,
        answers: Script | None = None,
        *,
        tokens: Tokens = (100, 20),
        delay_s: float = 0.0,
        retry_after: str = "0",
        timeout_s: float = 60.0,
    ) -> None:
        super().__init__(timeout_s=timeout_s)
        self.answers: Script = answers if answers is not None else [{}]
        self.tokens = tokens
        self.delay_s = delay_s
        self.retry_after = retry_after
        self._answer_lock = threading.Lock()
        self.usage: list[tuple[int, int]] = []  # (prompt, completion) tokens of each answer

    # --- the test's side ----------------------------------------------------------------------

    def __enter__(self) -> OpenAIServer:
        self.start()
        return self

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``http://127.0.0.1:<port>/v1``)."""
        return f"{self.url}/v1"

    def providers_toml(self, name: str = "compat", **table: Any) -> str:
        """The ``[providers.<name>]`` table pointing a project at this server, with any other
        keys of the table (``output_mode="json_schema"``, ``idempotent=True``, ...)."""
        lines = [f"[providers.{name}]", f'base_url = "{self.base_url}"']
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
        return "\n".join(lines) + "\n"

    def completions(self) -> list[Received]:
        """Every chat completions request received, oldest first."""
        return self.requests_to("/v1/chat/completions", "POST")

    def fail_next(self, count: int = 1, kind: str = "server") -> None:
        """Plan the next ``count`` completions to fail as ``kind`` (one of FAILURES)."""
        if kind not in FAILURES:
            raise ValueError(f"a completion fails as one of {', '.join(FAILURES)}, not {kind!r}")
        super().fail_next(count, kind)

    def start(self) -> None:
        """Listen on 127.0.0.1 (a free port) in a daemon thread, for ``timeout_s`` at most."""
        base = _handler_for(self)

        class Handler(base):  # type: ignore[valid-type,misc]
            def handle(self) -> None:
                # a client that timed out has hung up: nothing to answer, nothing to report
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        self._timer = threading.Timer(self.timeout_s, self.stop)
        self._timer.daemon = True
        self._timer.start()

    # --- the vendor's side --------------------------------------------------------------------

    def route(self, request: Received) -> Answer:
        """Answer a chat completion (or list the models); anything else is a 404."""
        if request.method == "GET" and request.path == "/v1/models":
            return Answer(body={"object": "list", "data": []})
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return Answer(404, {"error": {"message": "Not Found", "type": "invalid_request_error"}})
        failure = self.take_failure()
        if failure == "rate_limit":
            return Answer(
                429,
                _error("Rate limit reached", "rate_limit_error"),
                headers={"retry-after": self.retry_after},
            )
        if failure == "server":
            return Answer(
                503,
                _error("The server is overloaded", "server_error"),
                headers={"retry-after": self.retry_after},
            )
        body = request.body if isinstance(request.body, dict) else {}
        if self.delay_s:
            time.sleep(self.delay_s)
        return Answer(body=self._completion(body, self._next_answer(body)))

    def _next_answer(self, body: dict[str, Any]) -> dict[str, Any]:
        if callable(self.answers):
            return self.answers(body)
        with self._answer_lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def _completion(self, body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        arguments = json.dumps(answer)
        message: dict[str, Any] = {"role": "assistant", "content": arguments, "refusal": None}
        finish = "stop"
        tools = body.get("tools") or []
        if tools:
            name = tools[0].get("function", {}).get("name", "final_result")
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ]
            finish = "tool_calls"
        prompt_tokens, completion_tokens = self._usage_of(body, arguments)
        return {
            "id": f"chatcmpl-{len(self.received)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "local"),
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _usage_of(self, body: dict[str, Any], answer: str) -> tuple[int, int]:
        """The usage reported for one answer, recorded in :attr:`usage`."""
        if self.tokens == "measured":
            used = (measured_tokens(body), -(-len(answer) // CHARS_PER_TOKEN))
        elif callable(self.tokens):  # counts the request the way a vendor would (images too)
            used = self.tokens(body)
        else:
            used = self.tokens
        with self._answer_lock:
            self.usage.append(used)
        return used


def measured_tokens(body: dict[str, Any]) -> int:
    """A request's prompt tokens, counted the ``"measured"`` way (see the module docs)."""
    chars, images = 0, 0
    for message in body.get("messages") or []:
        content = message.get("content")
        for part in content if isinstance(content, list) else [content]:
            if isinstance(part, str):
                chars += len(part)
            elif isinstance(part, dict) and part.get("type") == "image_url":
                images += 1
            elif isinstance(part, dict):
                chars += len(str(part.get("text", "")))
        if message.get("tool_calls"):  # a re-ask quotes the rejected tool call
            chars += len(json.dumps(message["tool_calls"]))
    schema = body.get("tools") or body.get("response_format")
    chars += len(json.dumps(schema)) if schema else 0
    return -(-chars // CHARS_PER_TOKEN) + IMAGE_TOKENS * images


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": None}}
