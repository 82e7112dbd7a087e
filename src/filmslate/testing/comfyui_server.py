"""A local ComfyUI server for tests: the stock routes, real PNGs and MP4s, on 127.0.0.1.

``with ComfyUIServer() as server:`` serves ``server.url`` for ``timeout_s`` at most and answers
like ComfyUI's ``server.py``: ``POST /prompt`` (validated: every LoadImage names an uploaded
image, no ``{{placeholder}}`` is left, else 400 with ``node_errors``), ``GET /history/{id}``,
``GET /history?max_items=N``, ``GET /queue``, ``GET /view``, ``POST /upload/image``,
``POST /interrupt`` and ``POST /queue`` (delete). A queued prompt runs as it is looked at: it
is pending, then running, then finished on the ``polls_to_finish``-th look at its history.
A workflow that saves a video gets a real MP4 of ``size`` and ``seconds`` (default 1280x720,
5 s: not the spec, so the conform step has work); one that saves images gets a real PNG of
``size``.

``fail_next(n, kind)`` makes the next n prompts fail: ``"invalid_input"`` (400 at /prompt),
``"server"`` (an ``execution_error`` in the history), ``"lost"`` (the prompt vanishes, as
after a restart) or ``"download"`` (the prompt succeeds, the first ``/view`` of its output
answers 503). ComfyUI has no content policy, so there is no refusal. ``keep_prompt_id=False``
behaves like an older server that ignores a client-chosen prompt id; ``answer_delay_s`` queues
a prompt at once but answers /prompt that much later (the submit window: a client killed in
between never learns the prompt id). ``server.prompts`` are the
workflows received, ``server.uploads`` the uploaded images by name.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ._media_server import Answer, MediaServer, Received, png_bytes

FAILURES = ("invalid_input", "server", "lost", "download")
VIDEO_SAVERS = ("SaveVideo", "VHS_VideoCombine", "SaveAnimatedWEBP", "SaveWEBM")
IMAGE_SAVERS = ("SaveImage",)


@dataclass
class _Prompt:
    number: int
    prompt_id: str
    workflow: dict[str, Any]
    extra_data: dict[str, Any]
    failure: str | None
    looks: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)

    def item(self) -> list[Any]:
        return [self.number, self.prompt_id, self.workflow, self.extra_data, list(self.outputs)]


class ComfyUIServer(MediaServer):
    """ComfyUI's HTTP API over a pretend GPU (see the module docs)."""

    def __init__(
        self,
        *,
        keep_prompt_id: bool = True,
        polls_to_finish: int = 2,
        answer_delay_s: float = 0.0,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self.keep_prompt_id = keep_prompt_id
        self.answer_delay_s = answer_delay_s
        self.polls_to_finish = polls_to_finish
        self.prompts: list[dict[str, Any]] = []  # every workflow received at /prompt
        self.uploads: dict[str, bytes] = {}  # "subfolder/name" -> bytes
        self._jobs: dict[str, _Prompt] = {}
        self._files: dict[str, bytes] = {}
        self._flaky: set[str] = set()  # output files whose next /view answers 503
        self._state = threading.Lock()

    def fail_next(self, count: int = 1, kind: str = "server") -> None:
        """Plan the next ``count`` prompts to fail as ``kind`` (one of FAILURES)."""
        if kind not in FAILURES:
            raise ValueError(
                f"a ComfyUI prompt fails as one of {', '.join(FAILURES)}, not {kind!r}"
            )
        super().fail_next(count, kind)

    def route(self, request: Received) -> Answer:
        path, method = request.path.removeprefix("/api"), request.method
        if method == "POST" and path == "/prompt":
            return self._prompt(request.body)
        if method == "POST" and path == "/upload/image":
            return self._upload(request)
        if method == "GET" and path == "/queue":
            return Answer(200, self._queue())
        if method == "GET" and path == "/history":
            return Answer(200, self._recent(int(request.query.get("max_items") or 10_000)))
        if method == "GET" and path.startswith("/history/"):
            return Answer(200, self._history(path.removeprefix("/history/")))
        if method == "GET" and path == "/view":
            return self._view(request.query)
        if method == "POST" and path in ("/interrupt", "/queue"):
            return self._drop(request.body if isinstance(request.body, dict) else {})
        return Answer(404, None, content=b"404: Not Found", content_type="text/plain")

    # --- routes -------------------------------------------------------------------------------

    def _prompt(self, body: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), dict):
            return _invalid("no_prompt", "No prompt provided", {})
        workflow = body["prompt"]
        self.prompts.append(workflow)
        failure = self.take_failure()
        node_errors = self._validate(workflow)
        if failure == "invalid_input" and not node_errors:
            node_errors = {"1": _node_error("custom_validation_failed", "planned by the test")}
        if node_errors:
            return _invalid(
                "prompt_outputs_failed_validation", "Prompt outputs failed validation", node_errors
            )
        given = body.get("prompt_id")
        prompt_id = str(given) if given and self.keep_prompt_id else str(uuid.uuid4())
        extra = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra["client_id"] = body["client_id"]
        with self._state:
            number = len(self._jobs)
            self._jobs[prompt_id] = _Prompt(number, prompt_id, workflow, extra, failure)
        time.sleep(self.answer_delay_s)  # queued already: a client killed now never hears
        return Answer(200, {"prompt_id": prompt_id, "number": number, "node_errors": {}})

    def _upload(self, request: Received) -> Answer:
        files = request.body if isinstance(request.body, dict) else {}
        data = files.get("image")
        if not isinstance(data, bytes):
            return Answer(400, None, content=b"no image", content_type="text/plain")
        name = request.filenames.get("image") or "upload.png"
        subfolder = request.form.get("subfolder", "")
        key = f"{subfolder}/{name}" if subfolder else name
        with self._state:
            self.uploads[key] = data
        return Answer(200, {"name": name, "subfolder": subfolder, "type": "input"})

    def _queue(self) -> dict[str, Any]:
        with self._state:
            running = [j.item() for j in self._jobs.values() if self._where(j) == "running"]
            pending = [j.item() for j in self._jobs.values() if self._where(j) == "pending"]
        return {"queue_running": running, "queue_pending": pending}

    def _history(self, prompt_id: str) -> dict[str, Any]:
        with self._state:
            job = self._jobs.get(prompt_id)
            if job is None:
                return {}
            job.looks += 1
            entry = self._entry(job)
        return {prompt_id: entry} if entry is not None else {}

    def _recent(self, max_items: int) -> dict[str, Any]:
        with self._state:
            jobs = list(self._jobs.values())[-max_items:]
            entries = {j.prompt_id: self._entry(j) for j in jobs}
        return {key: entry for key, entry in entries.items() if entry is not None}

    def _view(self, query: dict[str, str]) -> Answer:
        name = query.get("filename", "")
        subfolder = query.get("subfolder", "")
        key = f"{subfolder}/{name}" if subfolder else name
        with self._state:
            data = self._files.get(key)
            refuse = key in self._flaky
            self._flaky.discard(key)
        if refuse:
            return Answer(503, None, content=b"Service Unavailable", content_type="text/plain")
        if data is None:
            return Answer(404, None, content=b"", content_type="text/plain")
        kind = "video/mp4" if name.endswith(".mp4") else "image/png"
        return Answer(200, None, content=data, content_type=kind)

    def _drop(self, body: dict[str, Any]) -> Answer:
        with self._state:
            for prompt_id in body.get("delete") or ():
                self._jobs.pop(str(prompt_id), None)
            if "prompt_id" in body:
                self._jobs.pop(str(body["prompt_id"]), None)
        return Answer(200, None, content=b"", content_type="text/plain")

    # --- the pretend GPU ----------------------------------------------------------------------

    def _where(self, job: _Prompt) -> str:
        if job.failure == "lost":
            return "gone"
        if job.looks >= self.polls_to_finish:
            return "finished"
        return "running" if job.looks >= 1 else "pending"

    def _entry(self, job: _Prompt) -> dict[str, Any] | None:
        """The history entry of a finished prompt (its outputs made once), else None."""
        if self._where(job) != "finished":
            return None
        if job.failure == "server":
            status = {
                "status_str": "error",
                "completed": False,
                "messages": [
                    ["execution_start", {"prompt_id": job.prompt_id}],
                    [
                        "execution_error",
                        {
                            "prompt_id": job.prompt_id,
                            "node_id": "3",
                            "node_type": "KSampler",
                            "exception_message": "CUDA out of memory (planned by the test)",
                            "exception_type": "torch.OutOfMemoryError",
                        },
                    ],
                ],
            }
            return {"prompt": job.item(), "outputs": {}, "status": status}
        if not job.outputs:
            job.outputs = self._render(job)
        status = {"status_str": "success", "completed": True, "messages": []}
        return {"prompt": job.item(), "outputs": job.outputs, "status": status}

    def _first_image(self, job: _Prompt) -> bytes | None:
        """The image a video workflow starts from: the upload its first LoadImage names."""
        for node in job.workflow.values():
            if isinstance(node, dict) and node.get("class_type") == "LoadImage":
                return self.uploads.get(str((node.get("inputs") or {}).get("image")))
        return None

    def _render(self, job: _Prompt) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for node_id, node in job.workflow.items():
            kind = node.get("class_type") if isinstance(node, dict) else None
            prefix = str((node.get("inputs") or {}).get("filename_prefix", "ComfyUI"))
            if kind in VIDEO_SAVERS:
                name = f"{prefix.rsplit('/', 1)[-1]}_{job.number:05d}_.mp4"
                data = self.video(self._first_image(job))
                key = "gifs" if kind == "VHS_VideoCombine" else "images"
            elif kind in IMAGE_SAVERS:
                name = f"{prefix.rsplit('/', 1)[-1]}_{job.number:05d}_.png"
                data = png_bytes(*self.size, label=f"{job.prompt_id}")
                key = "images"
            else:
                continue
            subfolder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
            key = f"{subfolder}/{name}" if subfolder else name
            self._files[key] = data
            if job.failure == "download":
                self._flaky.add(key)
            item = {"filename": name, "subfolder": subfolder, "type": "output"}
            outputs[node_id] = {key: [item]}
            if kind == "SaveVideo":
                outputs[node_id]["animated"] = [True]  # as SaveVideo reports it
        return outputs

    def _validate(self, workflow: dict[str, Any]) -> dict[str, Any]:
        """ComfyUI's own checks, the ones a filled template can fail."""
        errors: dict[str, Any] = {}
        for node_id, node in workflow.items():
            if not isinstance(node, dict) or "class_type" not in node:
                errors[node_id] = _node_error("invalid_prompt", "node has no class_type")
                continue
            inputs = node.get("inputs") or {}
            left = [k for k, v in inputs.items() if isinstance(v, str) and "{{" in v]
            if left:
                errors[node_id] = _node_error(
                    "invalid_input_type", f"unfilled placeholder in {', '.join(left)}", node
                )
            elif node["class_type"] == "LoadImage" and inputs.get("image") not in self.uploads:
                errors[node_id] = _node_error(
                    "value_not_in_list",
                    f"image: '{inputs.get('image')}' not in the uploaded images",
                    node,
                )
        return errors


def _node_error(kind: str, details: str, node: dict[str, Any] | None = None) -> dict[str, Any]:
    message = {
        "value_not_in_list": "Value not in list",
        "invalid_input_type": "Failed to convert an input value",
    }.get(kind, "Custom validation failed for node")
    return {
        "errors": [{"type": kind, "message": message, "details": details, "extra_info": {}}],
        "dependent_outputs": [],
        "class_type": (node or {}).get("class_type", "Unknown"),
    }


def _invalid(kind: str, message: str, node_errors: dict[str, Any]) -> Answer:
    error = {"type": kind, "message": message, "details": "", "extra_info": {}}
    return Answer(400, {"error": error, "node_errors": node_errors})
