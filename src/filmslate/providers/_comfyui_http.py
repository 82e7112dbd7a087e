"""ComfyUI's HTTP routes, as the stock ``server.py`` serves them, with failures classified.

- ``POST /prompt`` ``{"prompt": <API workflow>, "client_id", "prompt_id", "extra_data"}``
  answers ``{"prompt_id", "number", "node_errors"}``; an invalid workflow answers 400 with
  ``{"error": {"type", "message", "details"}, "node_errors": {node_id: {"errors": [...],
  "class_type"}}}``: the input is invalid (a missing model file is ``value_not_in_list``).
  Newer servers keep a client-chosen ``prompt_id`` (``json_data.get("prompt_id", uuid4())``);
  older ones make their own, so the client reference also rides in ``extra_data``, which the
  server keeps with the queue item and the history entry (``prompt[3]``).
- ``GET /history/{prompt_id}`` answers ``{}`` until the prompt finished, then ``{prompt_id:
  {"prompt": [number, prompt_id, workflow, extra_data, outputs], "outputs": {node_id:
  {"images" | "gifs" | "videos": [{"filename", "subfolder", "type"}]}}, "status":
  {"status_str": "success" | "error", "completed", "messages": [[event, data], ...]}}}``;
  ``GET /history?max_items=N`` the last N entries.
- ``GET /queue`` answers ``{"queue_running": [item, ...], "queue_pending": [item, ...]}``.
- ``GET /view?filename=&subfolder=&type=`` returns a file's bytes.
- ``POST /upload/image`` (multipart ``image``, plus ``overwrite`` and ``type``) stores an input
  image and answers ``{"name", "subfolder", "type"}``.
- ``POST /interrupt`` stops the running prompt; ``POST /queue {"delete": [ids]}`` drops
  pending ones.

A ComfyUI server has no key by default; one behind a gateway may want a bearer token, read
from the environment variable ``api_key_env`` names when one is given.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from ..core._errors import ProviderError
from ..engine._video import Failure, JobStatus

REFERENCE_KEY = "filmslate_reference"  # where the client reference rides in extra_data
FIND_WINDOW = 256  # how many recent history entries find() reads, once, when resuming


class ComfyUIClient:
    """The routes above on one server, every failure a ProviderError with its kind."""

    def __init__(
        self,
        base_url: str,
        http: httpx.Client,
        *,
        timeout: float | None = None,
        api_key_env: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.timeout = timeout
        self.api_key_env = api_key_env

    # --- submitting ---------------------------------------------------------------------------

    def queue_prompt(self, workflow: Any, reference: str, client_id: str) -> str:
        """Queue a filled workflow; returns its prompt id."""
        request: dict[str, Any] = {"prompt": workflow, "client_id": client_id}
        if reference:
            request["prompt_id"] = reference
            request["extra_data"] = {REFERENCE_KEY: reference}
        body = self.json("POST", "/prompt", json=request)
        prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
        if not isinstance(prompt_id, str) or not prompt_id:
            raise ProviderError(
                f"ComfyUI at {self.base_url} answered /prompt without a prompt_id: "
                f"{str(body)[:200]}",
                failure="server",
                maybe_sent=True,
            )
        return prompt_id

    def upload(self, data: bytes, name: str, media_type: str = "image/png") -> str:
        """Store an input image; returns the name a LoadImage node takes."""
        files = {"image": (name, data, media_type)}
        form = {"overwrite": "true", "type": "input"}
        body = self.json("POST", "/upload/image", files=files, data=form)
        stored = body.get("name") if isinstance(body, dict) else None
        if not isinstance(stored, str) or not stored:
            raise ProviderError(
                f"ComfyUI /upload/image answered without a name: {str(body)[:200]}",
                failure="server",
            )
        subfolder = body.get("subfolder") or ""
        return f"{subfolder}/{stored}" if subfolder else stored

    def cancel(self, prompt_id: str) -> None:
        """Drop the prompt from the queue, or interrupt it when it is the one running."""
        queue = self.json("GET", "/queue")
        if _queued_id(queue, "queue_running", prompt_id) is not None:
            self.send("POST", "/interrupt", json={"prompt_id": prompt_id})
        else:
            self.send("POST", "/queue", json={"delete": [prompt_id]})

    # --- looking -----------------------------------------------------------------------------

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The prompt's history entry once it finished, else None."""
        body = self.json("GET", f"/history/{prompt_id}")
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return entry if isinstance(entry, dict) else None

    def status(self, prompt_id: str) -> JobStatus:
        """The history first (finished or failed), then the queue (queued or running)."""
        finished = _finished(self.history(prompt_id))
        if finished is not None:
            return finished
        queue = self.json("GET", "/queue")
        if _queued_id(queue, "queue_running", prompt_id) is not None:
            return JobStatus("running")
        if _queued_id(queue, "queue_pending", prompt_id) is not None:
            return JobStatus("queued")
        finished = _finished(self.history(prompt_id))  # it may have finished in between
        if finished is not None:
            return finished
        return JobStatus(
            "failed",
            f"prompt {prompt_id} is neither queued nor in the history of {self.base_url} "
            "(was the server restarted?)",
            failure="server",
        )

    def find(self, reference: str) -> str | None:
        """The prompt submitted under this client reference: by its prompt id (servers that
        keep the client's id), else by the reference in its extra data, in the queue and the
        last FIND_WINDOW history entries; None when it never arrived."""
        if self.history(reference) is not None:
            return reference
        queue = self.json("GET", "/queue")
        for key in ("queue_running", "queue_pending"):
            found = _queued_id(queue, key, reference)
            if found is not None:
                return found
        if self.history(reference) is not None:
            return reference
        for prompt_id, entry in self._recent_history().items():
            if _reference_of(entry.get("prompt") if isinstance(entry, dict) else None) == reference:
                return str(prompt_id)
        return None

    def _recent_history(self) -> dict[str, Any]:
        """The last FIND_WINDOW history entries; none from a server (or a gateway in front of
        one) without the list route, which cannot have renamed a prompt it never lists."""
        try:
            recent = self.json("GET", "/history", params={"max_items": str(FIND_WINDOW)})
        except ProviderError as exc:
            if exc.context.get("status") == 404:
                return {}
            raise
        return recent if isinstance(recent, dict) else {}

    def output(self, prompt_id: str, extensions: tuple[str, ...], what: str) -> bytes:
        """The first output file with one of these extensions (saved outputs first)."""
        entry = self.history(prompt_id)
        if entry is None:
            raise ProviderError(
                f"prompt {prompt_id} has no history on {self.base_url} yet", failure="download"
            )
        found = _output_file(entry.get("outputs"), extensions)
        if found is None:
            names = ", ".join(entry.get("outputs") or {}) or "none"
            raise ProviderError(
                f"prompt {prompt_id} finished without {what} output (output nodes: {names}): "
                "does the workflow end in a save node?",
                failure="other",
            )
        params = {
            "filename": str(found.get("filename", "")),
            "subfolder": str(found.get("subfolder", "")),
            "type": str(found.get("type", "output")),
        }
        content = self.send("GET", "/view", params=params).content
        if not content:
            raise ProviderError(
                f"ComfyUI returned an empty file for {params['filename']}", failure="download"
            )
        return content

    # --- HTTP ---------------------------------------------------------------------------------

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"ComfyUI {path} answered something that is not JSON: {response.text[:200]!r}",
                status=response.status_code,
                failure="server",
                maybe_sent=method == "POST",
            ) from None

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.base_url}{path}"
        headers = self._headers()
        if self.timeout is not None:
            kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.http.request(method, url, headers=headers, **kwargs)
        except httpx.ConnectError:
            # a refused connection proves the request was not received
            raise ProviderError(
                f"the ComfyUI server at {self.base_url} is unreachable (ConnectError): "
                "is it running?",
                failure="server",
                maybe_sent=False,
            ) from None
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"the ComfyUI server at {self.base_url} is unreachable "
                f"({type(exc).__name__}) on {method} {path}",
                failure="timeout",
                maybe_sent=method == "POST",
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"ComfyUI {method} {path} failed: {type(exc).__name__}",
                failure="download" if path == "/view" else "server",
                maybe_sent=method == "POST",
            ) from None
        if response.status_code >= 400:
            raise _http_error(response, method, path)
        return response

    def _headers(self) -> dict[str, str]:
        if not self.api_key_env:
            return {}
        key = os.environ.get(self.api_key_env, "").strip()
        if not key:  # a gateway named a key: never send its requests without one
            raise ProviderError(
                f"no ComfyUI key: [providers.comfyui] api_key_env names {self.api_key_env}, "
                f"which is not set: set the environment variable {self.api_key_env} (or drop "
                "api_key_env for a ComfyUI without authentication)",
                failure="auth",
                maybe_sent=False,
            )
        return {"Authorization": f"Bearer {key}"}


def _http_error(response: httpx.Response, method: str, path: str) -> ProviderError:
    code = response.status_code
    failure: Failure
    if path == "/prompt" and code == 400:
        failure = "invalid_input"  # the workflow failed validation: never resent unchanged
    elif path == "/view":
        failure = "download"
    elif code in (401, 403):
        failure = "auth"
    elif code >= 500:
        failure = "server"
    else:
        failure = "other"
    return ProviderError(
        f"ComfyUI {method} {path} returned {code}: {_server_message(response)}",
        status=code,
        failure=failure,
        maybe_sent=False,
    )


def _finished(entry: dict[str, Any] | None) -> JobStatus | None:
    if entry is None:
        return None
    status = entry.get("status") or {}
    if status.get("status_str") == "error":
        message, failure = _error_of(status)
        return JobStatus("failed", message, failure=failure)
    if entry.get("outputs") or status.get("completed"):
        return JobStatus("done")
    return None


def _error_of(status: dict[str, Any]) -> tuple[str, Failure]:
    for message in status.get("messages") or ():
        if not (isinstance(message, list) and message):
            continue
        data = message[1] if len(message) > 1 and isinstance(message[1], dict) else {}
        node = data.get("node_type") or data.get("node_id") or "?"
        if message[0] == "execution_error":
            text = f"execution error in node {node}: {data.get('exception_message', '')}"
            return text.strip()[:300], "server"
        if message[0] == "execution_interrupted":
            return f"the prompt was interrupted in node {node}", "other"
    return "ComfyUI reports the prompt failed", "server"


def _queued_id(queue: Any, key: str, wanted: str) -> str | None:
    """The prompt id of the queue item whose id or client reference is ``wanted``."""
    items = queue.get(key) if isinstance(queue, dict) else None
    if not isinstance(items, list):
        raise ProviderError(
            f"ComfyUI /queue answered without a {key} list: {str(queue)[:200]}", failure="server"
        )
    for item in items:
        matches = isinstance(item, list) and len(item) > 1
        if matches and (item[1] == wanted or _reference_of(item) == wanted):
            return str(item[1])
    return None


def _reference_of(item: Any) -> str | None:
    """The client reference in a queue item or history entry's ``prompt`` (its extra data)."""
    if isinstance(item, list) and len(item) > 3 and isinstance(item[3], dict):
        found = item[3].get(REFERENCE_KEY)
        return found if isinstance(found, str) else None
    return None


def _output_file(outputs: Any, extensions: tuple[str, ...]) -> dict[str, Any] | None:
    if not isinstance(outputs, dict):
        return None
    found: list[dict[str, Any]] = []
    for node in outputs.values():
        for files in node.values() if isinstance(node, dict) else ():
            for item in files if isinstance(files, list) else ():
                name = item.get("filename", "") if isinstance(item, dict) else ""
                if isinstance(name, str) and name.lower().endswith(extensions):
                    found.append(item)
    saved = [item for item in found if item.get("type", "output") == "output"]
    chosen = saved or found
    return chosen[0] if chosen else None


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    error = body.get("error")
    text = (
        str(error.get("message") or error.get("type") or error)
        if isinstance(error, dict)
        else str(error or body)
    )
    nodes = _node_errors(body.get("node_errors"))
    return f"{text}{'; ' + nodes if nodes else ''}"[:400]


def _node_errors(node_errors: Any) -> str:
    """``node 30 CheckpointLoaderSimple: Value not in list: ckpt_name: ...`` for each node."""
    if not isinstance(node_errors, dict):
        return ""
    parts = []
    for node_id, found in node_errors.items():
        if not isinstance(found, dict):
            continue
        for error in found.get("errors") or ():
            if isinstance(error, dict):
                detail = f": {error['details']}" if error.get("details") else ""
                parts.append(
                    f"node {node_id} {found.get('class_type', '')}: {error.get('message', '')}"
                    f"{detail}"
                )
    return "; ".join(parts)
