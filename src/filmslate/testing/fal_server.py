"""A local stand-in for fal's queue: any model id, real PNGs and MP4s, every request recorded.

``with FalServer() as server:`` listens on 127.0.0.1 (a free port, stopping by itself after
``timeout_s``); point ``[providers.fal] base_url`` (or ``FalProvider(base_url=...)``) at
``server.url`` (:meth:`FalServer.providers_toml` writes that table). It speaks the queue as
fal does (``providers._fal_queue`` has the references):

- ``POST /{model_id}`` queues a job: ``{"request_id", "status_url", "response_url",
  "cancel_url", "queue_position"}``;
- ``GET /{owner}/{app}/requests/{id}/status`` walks IN_QUEUE (``queued_polls`` polls, 202) ->
  IN_PROGRESS (``running_polls`` polls, 202) -> COMPLETED (200); ``?logs=1`` adds logs; a
  failed job is COMPLETED with ``error`` and ``error_type``;
- ``GET /{owner}/{app}/requests/{id}`` answers the output (``{"video": {"url"}}`` for a video
  model, ``{"images": [{"url", ...}], "has_nsfw_concepts": [false]}`` for an image model,
  ``{"audio": {"url", "content_type"}}`` for a speech model, by the catalogue entry's kind),
  or the failed job's own error (422 content_policy_violation, or 500 with ``error_type``),
  or 400 while it is not finished;
- ``PUT .../cancel``: 202 CANCELLATION_REQUESTED, 400 ALREADY_COMPLETED, 404;
- ``GET /cdn/{id}/{file}``: the file, served without any key: a real H.264 MP4 of ``size`` and
  ``seconds`` (default 1280x720, 5 s: not the project's spec), a real PNG of ``image_size``, or
  a speech model's line: a voiced tone per word of its ``text`` (its pitch from the ``voice``;
  ``testing.elevenlabs_server.word_tones``), an MP3 as fal's ElevenLabs answers, or a 16-bit
  WAV with ``speech_format="wav"``. A speech submit without ``text`` answers 422.

``fail_next(n, kind)`` plans the next ``n`` submits: ``"refusal"`` (accepted, then refused by
the content checker), ``"invalid_input"`` (the submit answers 422), ``"server"`` (accepted,
then a 500 runner failure), ``"submit_error"`` (the submit answers 500) or ``"download"`` (the
job succeeds, its first CDN fetch answers 503). :attr:`received` holds every request (path,
query, headers without the key, JSON body); :meth:`submits` the queued jobs' model and input,
:func:`data_uri_digests` the sha256 of every image a body carried.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

import imageio_ffmpeg  # type: ignore[import-untyped]

from ..core._catalogue import load_catalogue
from ._media_server import (
    DEFAULT_FPS,
    DEFAULT_SECONDS,
    DEFAULT_SIZE,
    Answer,
    MediaServer,
    Received,
    _handler_for,
    png_bytes,
)

__all__ = ["FalServer", "data_uri_digests"]

FAILURES = ("refusal", "invalid_input", "server", "submit_error", "download")


@dataclass
class FalJob:
    """One queued request and where it is."""

    request_id: str
    model_id: str
    kind: str  # "video" or "image"
    body: Any
    failure: str | None = None
    polls: int = 0
    cancelled: bool = False
    fetches: int = 0
    seed: int = 0
    done: bool = field(default=False)


class FalServer(MediaServer):
    """fal's queue on 127.0.0.1 (see the module docs)."""

    def __init__(
        self,
        *,
        size: tuple[int, int] = DEFAULT_SIZE,
        seconds: float = DEFAULT_SECONDS,
        fps: int = DEFAULT_FPS,
        image_size: tuple[int, int] = DEFAULT_SIZE,
        queued_polls: int = 1,
        running_polls: int = 1,
        billable_units: float | None = None,
        speech_format: str = "mp3",
        timeout_s: float = 120.0,
    ) -> None:
        super().__init__(size=size, seconds=seconds, fps=fps, timeout_s=timeout_s)
        self.image_size = image_size
        self.queued_polls = queued_polls
        self.running_polls = running_polls
        self.billable_units = billable_units
        self.speech_format = speech_format
        self.jobs: dict[str, FalJob] = {}
        self._kinds: dict[str, str] = {}

    # --- the test's side ----------------------------------------------------------------------

    def __enter__(self) -> FalServer:
        self.start()
        return self

    def start(self) -> None:
        """Listen on 127.0.0.1 (a free port) in a daemon thread, for ``timeout_s`` at most."""
        base = _handler_for(self)

        class Handler(base):  # type: ignore[valid-type,misc]
            def do_PUT(self) -> None:  # fal's cancel is a PUT
                self._serve("PUT")

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        # a short poll interval: stopping waits for one poll, and tests start many servers
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        self._timer = threading.Timer(self.timeout_s, self.stop)
        self._timer.daemon = True
        self._timer.start()

    def fail_next(self, count: int = 1, kind: str = "server") -> None:
        """Plan the next ``count`` submits to fail as ``kind`` (one of FAILURES)."""
        if kind not in FAILURES:
            raise ValueError(f"a fal job fails as one of {', '.join(FAILURES)}, not {kind!r}")
        super().fail_next(count, kind)

    def providers_toml(self, api_key_env: str = "FAL_KEY") -> str:
        """The ``[providers.fal]`` table pointing a project at this server."""
        return f'[providers.fal]\nbase_url = "{self.url}"\napi_key_env = "{api_key_env}"\n'

    def submits(self, model_id: str | None = None) -> list[tuple[str, Any]]:
        """(model id, input) of every submit received, oldest first."""
        found = [
            (r.path.strip("/"), r.body)
            for r in self.requests_to("/", "POST")
            if model_id is None or r.path.strip("/") == model_id
        ]
        return found

    # --- the vendor's side --------------------------------------------------------------------

    def route(self, request: Received) -> Answer:
        """Submit, status, result, cancel or a CDN file (module docs)."""
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts[:1] == ["cdn"] and len(parts) == 3:
            return self._file(parts[1])
        if request.auth != "Key":
            return Answer(401, {"detail": "Missing or invalid Authorization header"})
        if request.method == "POST":
            return self._submit("/".join(parts), request.body)
        if "requests" in parts and parts.index("requests") >= 2:
            at = parts.index("requests")
            rest = parts[at + 1 :]
            job = self.jobs.get(rest[0]) if rest else None
            if job is None:
                return Answer(404, {"detail": "Request not found"})
            if rest[1:] == ["status"] and request.method == "GET":
                return self._status(job, request.query.get("logs") in ("1", "true", "True"))
            if rest[1:] == ["cancel"] and request.method == "PUT":
                return self._cancel(job)
            if not rest[1:] and request.method == "GET":
                return self._result(job)
        return Answer(404, {"detail": "Not Found"})

    def _submit(self, model_id: str, body: Any) -> Answer:
        failure = self.take_failure()
        if failure == "invalid_input":
            detail = [{"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}]
            return Answer(422, {"detail": detail})
        if failure == "submit_error":
            return Answer(500, {"detail": "Internal Server Error"})
        if not isinstance(body, dict):
            return Answer(422, {"detail": [{"loc": ["body"], "msg": "not JSON", "type": "json"}]})
        kind = self._kind(model_id, body)
        if kind == "speech" and not str(body.get("text", "")).strip():
            detail = [{"loc": ["body", "text"], "msg": "field required", "type": "missing"}]
            return Answer(422, {"detail": detail})
        request_id = str(uuid.uuid4())
        seed = body.get("seed")
        seed = seed if isinstance(seed, int) else 0
        job = FalJob(request_id, model_id, kind, body, failure, seed=seed)
        with self._lock:
            self.jobs[request_id] = job
        base = self._request_url(job)
        return Answer(
            200,
            {
                "status": "IN_QUEUE",
                "request_id": request_id,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
                "queue_position": 0,
            },
        )

    def _status(self, job: FalJob, logs: bool) -> Answer:
        with self._lock:
            job.polls += 1
            if job.cancelled or job.polls > self.queued_polls + self.running_polls:
                job.done = True
            state = "COMPLETED" if job.done else "IN_QUEUE"
            if not job.done and job.polls > self.queued_polls:
                state = "IN_PROGRESS"
        body: dict[str, Any] = {"status": state, "response_url": self._request_url(job)}
        if state == "IN_QUEUE":
            body["queue_position"] = 0
        if logs:
            body["logs"] = [
                {"timestamp": "2026-12-01T00:00:00Z", "level": "INFO", "message": state}
            ]
        if state == "COMPLETED":
            body["metrics"] = {"inference_time": 1.5}
            error = self._error(job)
            if error is not None:
                body["error"], body["error_type"] = error
        return Answer(200 if state == "COMPLETED" else 202, body)

    def _error(self, job: FalJob) -> tuple[str, str] | None:
        if job.cancelled:
            return ("Request was cancelled", "request_cancelled")
        if job.failure == "refusal":
            return ("The content was flagged by a content checker.", "content_policy_violation")
        if job.failure == "server":
            return ("Internal error on the runner", "runner_server_error")
        return None

    def _result(self, job: FalJob) -> Answer:
        if not job.done:
            return Answer(400, {"detail": "Request is still in progress"})
        if job.failure == "refusal":
            detail = {
                "loc": ["body", "prompt"],
                "msg": "The content was flagged by a content checker.",
                "type": "content_policy_violation",
                "url": "https://docs.fal.ai/errors#content_policy_violation",
                "categories": ["violence"],
            }
            return Answer(422, {"detail": [detail]})
        if job.failure == "server" or job.cancelled:
            error = self._error(job) or ("", "")
            headers = {"X-Fal-Error-Type": error[1]}
            return Answer(500, {"detail": error[0], "error_type": error[1]}, headers=headers)
        headers = {}
        if self.billable_units is not None:
            headers["x-fal-billable-units"] = str(self.billable_units)
        return Answer(200, self._output(job), headers=headers)

    def _output(self, job: FalJob) -> dict[str, Any]:
        if job.kind == "speech":
            mime = "audio/mpeg" if self.speech_format == "mp3" else "audio/wav"
            url = f"{self.url}/cdn/{job.request_id}/speech.{self.speech_format}"
            return {"audio": {"url": url, "content_type": mime}}
        if job.kind == "image":
            width, height = self.image_size
            url = f"{self.url}/cdn/{job.request_id}/image.png"
            image = {"url": url, "width": width, "height": height, "content_type": "image/png"}
            return {"images": [image], "seed": job.seed, "has_nsfw_concepts": [False]}
        url = f"{self.url}/cdn/{job.request_id}/video.mp4"
        return {"video": {"url": url, "content_type": "video/mp4"}, "seed": job.seed}

    def _cancel(self, job: FalJob) -> Answer:
        with self._lock:
            if job.done:
                return Answer(400, {"status": "ALREADY_COMPLETED"})
            job.cancelled = True
        return Answer(202, {"status": "CANCELLATION_REQUESTED"})

    def _file(self, request_id: str) -> Answer:
        job = self.jobs.get(request_id)
        if job is None or not job.done or job.failure in ("refusal", "server"):
            return Answer(404, {"detail": "Not Found"})
        with self._lock:
            job.fetches += 1
            broken = job.failure == "download" and job.fetches == 1
        if broken:
            return Answer(503, {"detail": "CDN unavailable"})
        if job.kind == "speech":
            mime = "audio/mpeg" if self.speech_format == "mp3" else "audio/wav"
            return Answer(content=self._speech(job), content_type=mime)
        if job.kind == "image":
            width, height = self.image_size
            return Answer(content=png_bytes(width, height, request_id), content_type="image/png")
        return Answer(content=self.video(self._first_image(job)), content_type="video/mp4")

    def _first_image(self, job: FalJob) -> bytes | None:
        """The first image a video job sent (a data URI under its entry's first_image key)."""
        entry = load_catalogue().entries.get(f"fal:{job.model_id}")
        key = entry.input.first_image if entry is not None else "image_url"
        value = job.body.get(key) if key and isinstance(job.body, dict) else None
        if isinstance(value, str) and value.startswith("data:") and ";base64," in value:
            return base64.b64decode(value.split(";base64,", 1)[1])
        return None

    def _speech(self, job: FalJob) -> bytes:
        """The line as a tone per word (module docs), MP3 or 16-bit WAV."""
        from ..engine._speech import wav_bytes
        from .elevenlabs_server import RATE, word_tones

        samples, _spans = word_tones(str(job.body.get("text", "")), str(job.body.get("voice")))
        wav = wav_bytes(samples, RATE)
        if self.speech_format == "wav":
            return wav
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-f", "wav"]
        command += ["-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", "pipe:1"]
        return subprocess.run(command, input=wav, capture_output=True, check=True).stdout

    def _kind(self, model_id: str, body: dict[str, Any]) -> str:
        """Video or image, by the catalogue's entry for the model (a guess when it has none)."""
        if model_id not in self._kinds:
            entry = load_catalogue().entries.get(f"fal:{model_id}")
            guess = "video" if "video" in model_id or "duration" in body else "image"
            self._kinds[model_id] = entry.kind if entry is not None else guess
        return self._kinds[model_id]

    def _request_url(self, job: FalJob) -> str:
        parts = job.model_id.split("/")
        keep = 3 if parts[0] in ("workflows", "comfy") else 2
        return f"{self.url}/{'/'.join(parts[:keep])}/requests/{job.request_id}"


def data_uri_digests(value: Any) -> list[str]:
    """The sha256 of every image sent as a data URI anywhere in a JSON value, in order."""
    found: list[str] = []
    if isinstance(value, str) and value.startswith("data:") and ";base64," in value:
        raw = base64.b64decode(value.split(";base64,", 1)[1])
        found.append(hashlib.sha256(raw).hexdigest())
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(data_uri_digests(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(data_uri_digests(item))
    return found
