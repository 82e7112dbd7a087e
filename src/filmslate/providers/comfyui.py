"""ComfyUI adapter: a workflow pinned by hash, queued over ComfyUI's HTTP API.

Assumptions about the ComfyUI server routes (the stock ``server.py``):

- ``POST /prompt`` with ``{"prompt": <API-format workflow>, "client_id": ...}`` answers
  ``{"prompt_id": ..., "number": ..., "node_errors": {}}``; an invalid workflow answers 400 with
  ``{"error": {"type", "message", "details"}, "node_errors": {...}}``.
- ``GET /history/{prompt_id}`` answers ``{}`` until the prompt finished, then
  ``{prompt_id: {"outputs": {node_id: {<kind>: [{"filename", "subfolder", "type"}]}},
  "status": {"status_str": "success" | "error", "completed": bool, "messages": [...]}}}``.
  Video outputs are lists under any key (``videos``, ``gifs`` from VideoHelperSuite's Video
  Combine, ``images`` from SaveVideo / animated savers); the first file with a video extension
  is taken.
- ``GET /queue`` answers ``{"queue_running": [[number, prompt_id, ...]], "queue_pending": [...]}``
  and is the truth for queued versus running; a prompt in neither and not in the history was
  lost (server restarted) and is reported as failed.
- ``GET /view?filename=&subfolder=&type=output`` returns the file's bytes.
- ``POST /upload/image`` (multipart field ``image``) stores an input image and answers
  ``{"name", "subfolder", "type"}``.

The submission carries a client-chosen ``prompt_id`` (the job's client reference; stock
``server.py`` takes ``json_data.get("prompt_id")`` and makes a uuid4 only when there is none),
so a run killed before it recorded the answer finds the prompt again by that id
(:meth:`ComfyUIProvider.find`: the history, then the queue) instead of queueing it twice.
ComfyUI does not refuse a repeated id, so the lookup is what prevents a second render.

The workflow template fills job values through placeholders: a string input that is exactly
``"{{seed}}"`` (or width, height, fps, frames, duration_s) becomes that number; ``{{prompt}}``,
``{{shot_id}}`` and ``{{image}}`` are replaced inside strings (the image is uploaded first and
its stored name substituted). The pin (sha256 of the canonical JSON of the template: sorted
keys, no spaces, UTF-8) is checked when the provider is built, so an edited workflow is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, ClassVar

import httpx

from ..core._errors import ProviderError
from ..engine._video import JobStatus, VideoJob, VideoProvider

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov", ".mkv", ".gif", ".webp")
NUMERIC_PLACEHOLDERS = ("seed", "width", "height", "fps", "frames", "duration_s")


def workflow_hash(workflow: dict[str, Any]) -> str:
    """The pin of a workflow: sha256 of its canonical JSON."""
    canonical = json.dumps(workflow, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ComfyUIProvider(VideoProvider):
    """Runs a pinned ComfyUI workflow on a server you own (see the module docs)."""

    name: ClassVar[str] = "comfyui"
    capabilities: ClassVar[frozenset[str]] = frozenset({"text_to_video", "image_to_video"})
    finds_by_reference: ClassVar[bool] = True
    history_hint: ClassVar[str] = "the ComfyUI server's queue and history"

    def __init__(
        self,
        base_url: str,
        workflow: dict[str, Any],
        workflow_sha256: str,
        http_client: httpx.Client,
        price_per_second: float = 0.0,
        client_id: str = "filmslate",
    ) -> None:
        actual = workflow_hash(workflow)
        if actual != workflow_sha256.lower():
            raise ProviderError(
                f"the ComfyUI workflow does not match its pin: sha256 {actual}, "
                f"pinned {workflow_sha256}; re-pin it deliberately if the "
                "change is intended",
                actual=actual,
                pinned=workflow_sha256,
            )
        self.base_url = base_url.rstrip("/")
        self.workflow = workflow
        self.http = http_client
        self.price = price_per_second
        self.client_id = client_id

    def __repr__(self) -> str:
        return f"ComfyUIProvider({self.base_url!r})"

    def submit(self, job: VideoJob) -> str:
        """Queue the filled workflow; returns ComfyUI's prompt id."""
        image_name = self._upload(job) if job.image is not None else ""
        prompt = fill_workflow(self.workflow, job, image_name)
        request: dict[str, Any] = {"prompt": prompt, "client_id": self.client_id}
        if job.reference:
            request["prompt_id"] = job.reference
        body = self._json("POST", "/prompt", json=request)
        prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
        if not isinstance(prompt_id, str) or not prompt_id:
            raise ProviderError(
                f"ComfyUI at {self.base_url} answered /prompt without a "
                f"prompt_id: {str(body)[:200]}"
            )
        return prompt_id

    def find(self, reference: str) -> str | None:
        """The prompt queued under this client-chosen id, if the server has it (queued,
        running or finished); None when it never arrived."""
        if self._history(reference) is not None:
            return reference
        queue = self._json("GET", "/queue")
        if _in_queue(queue, "queue_running", reference) or _in_queue(
            queue, "queue_pending", reference
        ):
            return reference
        return reference if self._history(reference) is not None else None

    def poll(self, job_id: str) -> JobStatus:
        """The history first (finished or failed), then the queue (queued or running)."""
        finished = self._history_status(job_id)
        if finished is not None:
            return finished
        queue = self._json("GET", "/queue")
        if _in_queue(queue, "queue_running", job_id):
            return JobStatus("running")
        if _in_queue(queue, "queue_pending", job_id):
            return JobStatus("queued")
        # it may have finished between the two requests
        finished = self._history_status(job_id)
        if finished is not None:
            return finished
        return JobStatus(
            "failed",
            f"prompt {job_id} is neither queued nor in the history of "
            f"{self.base_url} (was the server restarted?)",
        )

    def download(self, job_id: str) -> bytes:
        """The first video file among the prompt's outputs."""
        entry = self._history(job_id)
        if entry is None:
            raise ProviderError(f"prompt {job_id} has no history on {self.base_url} yet")
        found = _video_output(entry.get("outputs"))
        if found is None:
            raise ProviderError(
                f"prompt {job_id} finished without a video output (outputs: "
                f"{', '.join(entry.get('outputs') or {}) or 'none'})"
            )
        params = {
            "filename": found.get("filename", ""),
            "subfolder": found.get("subfolder", ""),
            "type": found.get("type", "output"),
        }
        response = self._send("GET", "/view", params=params)
        if not response.content:
            raise ProviderError(f"ComfyUI returned an empty file for {params['filename']}")
        return response.content

    def price_per_second(self, width: int, height: int) -> float:
        """The configured figure: 0 by default (your own GPU has no marginal price)."""
        return self.price

    # --- HTTP ---------------------------------------------------------------------------------

    def _upload(self, job: VideoJob) -> str:
        files = {"image": (f"{job.shot_id}.png", job.image or b"", "image/png")}
        body = self._json("POST", "/upload/image", files=files, data={"overwrite": "true"})
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str):
            raise ProviderError(f"ComfyUI /upload/image answered without a name: {body!r:.200}")
        subfolder = body.get("subfolder") or ""
        return f"{subfolder}/{name}" if subfolder else name

    def _history(self, job_id: str) -> dict[str, Any] | None:
        body = self._json("GET", f"/history/{job_id}")
        entry = body.get(job_id) if isinstance(body, dict) else None
        return entry if isinstance(entry, dict) else None

    def _history_status(self, job_id: str) -> JobStatus | None:
        entry = self._history(job_id)
        if entry is None:
            return None
        status = entry.get("status") or {}
        if status.get("status_str") == "error":
            return JobStatus("failed", _error_message(status))
        if entry.get("outputs") or status.get("completed"):
            return JobStatus("done")
        return None

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"ComfyUI {path} answered something that is not JSON: {response.text[:200]!r}",
                status=response.status_code,
            ) from None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self.http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.TimeoutException) as exc:
            # only a failed connect proves a POST was not received
            sent = method == "POST" and not isinstance(exc, httpx.ConnectError)
            raise ProviderError(
                f"the ComfyUI server at {self.base_url} is unreachable "
                f"({type(exc).__name__}): is it running?",
                maybe_sent=sent,
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"ComfyUI {path} failed: {exc}") from None
        if response.status_code >= 400:
            raise ProviderError(
                f"ComfyUI {method} {path} returned {response.status_code}: "
                f"{_server_message(response)}",
                status=response.status_code,
            )
        return response


def fill_workflow(workflow: dict[str, Any], job: VideoJob, image_name: str = "") -> Any:
    """A copy of the workflow with the job's values in place of its ``{{...}}`` placeholders."""
    numbers: dict[str, int | float] = {
        "seed": job.seed,
        "width": job.width,
        "height": job.height,
        "fps": job.fps,
        "frames": max(1, math.ceil(job.duration_s * job.fps)),
        "duration_s": job.duration_s,
    }
    texts = {"prompt": job.prompt, "shot_id": job.shot_id, "image": image_name}

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, str):
            for key, number in numbers.items():
                if value == f"{{{{{key}}}}}":
                    return number
            for key, text in texts.items():
                value = value.replace(f"{{{{{key}}}}}", text)
        return value

    return fill(workflow)


def _in_queue(queue: Any, key: str, job_id: str) -> bool:
    items = queue.get(key) if isinstance(queue, dict) else None
    if not isinstance(items, list):
        raise ProviderError(f"ComfyUI /queue answered without a {key} list: {str(queue)[:200]}")
    return any(isinstance(item, list) and len(item) > 1 and item[1] == job_id for item in items)


def _video_output(outputs: Any) -> dict[str, Any] | None:
    if not isinstance(outputs, dict):
        return None
    for node in outputs.values():
        for files in (node or {}).values() if isinstance(node, dict) else ():
            for item in files if isinstance(files, list) else ():
                name = item.get("filename", "") if isinstance(item, dict) else ""
                if name.lower().endswith(VIDEO_EXTENSIONS):
                    return item  # type: ignore[no-any-return]
    return None


def _error_message(status: dict[str, Any]) -> str:
    for message in status.get("messages") or ():
        if isinstance(message, list) and message and message[0] == "execution_error":
            data = message[1] if len(message) > 1 and isinstance(message[1], dict) else {}
            node = data.get("node_type") or data.get("node_id") or "?"
            return f"execution error in node {node}: {data.get('exception_message', '')}".strip()
    return "ComfyUI reports the prompt failed"


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or error)[:300]
    return str(error or body)[:300]
