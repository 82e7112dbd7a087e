"""A local Replicate for tests: the predictions API, real PNGs and MP4s, on 127.0.0.1.

``with ReplicateServer() as server:`` serves ``server.url`` for ``timeout_s`` at most; point
``[providers.replicate] base_url`` (or ``ReplicateProvider(base_url=...)``) at it. It answers as
api.replicate.com does (``providers._replicate_http`` has the references):

- ``POST /v1/models/{owner}/{name}/predictions`` ``{"input"}`` and ``POST /v1/predictions``
  ``{"version", "input"}`` create a prediction (401 without a bearer token; the token itself is
  never recorded); ``Prefer: wait`` answers it finished;
- ``GET /v1/predictions/{id}`` walks ``starting`` -> ``processing`` -> ``succeeded`` (on the
  ``polls_to_finish``-th look) with ``metrics.predict_time``;
- ``POST /v1/predictions/{id}/cancel`` cancels one that has not finished;
- ``POST /v1/files`` stores an input file (multipart ``content``);
- the outputs are served on another host name (``localhost`` instead of 127.0.0.1, the same
  port), as replicate.delivery is not the API host: a real H.264 MP4 of ``size`` and
  ``seconds`` (default 1280x720, 5 s) for a video model, a list of one PNG URL for an image
  model (by the catalogue entry's kind; ``kinds`` overrides it per model).

An input the catalogue entry would refuse (a duration not allowed, an unknown key) answers 422
with problem details. ``fail_next(n, kind)`` plans the next n creates: ``"invalid_input"``
(422), ``"refusal"`` (fails with an NSFW error), ``"server"`` (fails with a model error),
``"create_error"`` (the create answers 500) or ``"download"`` (succeeds; the first fetch of its
output answers 503). :meth:`creates` lists (model, input) received,
:meth:`image_digests` the sha256 of every image an input carried (data URIs and stored files).
``answer_delay_s`` creates a prediction at once but answers that much later (the submit window).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..core._catalogue import load_catalogue
from ._media_server import Answer, MediaServer, Received, png_bytes

FAILURES = ("invalid_input", "refusal", "server", "create_error", "download")
NSFW_ERROR = "NSFW content detected. Try running it again, or try a different prompt."
MODEL_ERROR = "Prediction failed: CUDA error: an illegal memory access was encountered"


@dataclass
class _Prediction:
    id: str
    model: str
    input: dict[str, Any]
    kind: str
    failure: str | None
    looks: int = 0
    canceled: bool = False


class ReplicateServer(MediaServer):
    """Replicate's predictions API over a pretend GPU (see the module docs)."""

    def __init__(
        self,
        *,
        polls_to_finish: int = 2,
        predict_time: float = 3.2,
        kinds: dict[str, str] | None = None,
        answer_delay_s: float = 0.0,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self.answer_delay_s = answer_delay_s
        self.polls_to_finish = polls_to_finish
        self.predict_time = predict_time
        self.kinds = dict(kinds or {})
        self.files: dict[str, bytes] = {}  # stored input files by id
        self._predictions: dict[str, _Prediction] = {}
        self._state = threading.Lock()

    def fail_next(self, count: int = 1, kind: str = "server") -> None:
        """Plan the next ``count`` creates to fail as ``kind`` (one of FAILURES)."""
        if kind not in FAILURES:
            raise ValueError(f"a prediction fails as one of {', '.join(FAILURES)}, not {kind!r}")
        super().fail_next(count, kind)

    def creates(self) -> list[tuple[str, dict[str, Any]]]:
        """(model, input) of every prediction created, in order."""
        with self._state:
            return [(p.model, p.input) for p in self._predictions.values()]

    def image_digests(self, model_input: Any) -> list[str]:
        """The sha256 of every image in an input: data URIs, and files stored here."""
        found: list[str] = []
        for value in _strings(model_input):
            if value.startswith("data:"):
                found.append(hashlib.sha256(base64.b64decode(value.split(",", 1)[1])).hexdigest())
            elif "/v1/files/" in value:
                data = self.files.get(value.rsplit("/", 1)[-1])
                if data is not None:
                    found.append(hashlib.sha256(data).hexdigest())
        return found

    def route(self, request: Received) -> Answer:
        path, method = request.path, request.method
        if path.startswith("/delivery/"):
            return self._delivery(path)
        if request.auth != "Bearer":
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        if method == "POST" and path == "/v1/predictions":
            body = request.body if isinstance(request.body, dict) else {}
            return self._create(str(body.get("version", "")).split(":")[0], body, request)
        official = re.fullmatch(r"/v1/models/([\w.-]+)/([\w.-]+)/predictions", path)
        if method == "POST" and official:
            body = request.body if isinstance(request.body, dict) else {}
            return self._create(f"{official[1]}/{official[2]}", body, request)
        found = re.fullmatch(r"/v1/predictions/([\w-]+)(/cancel)?", path)
        if found and method == "GET" and not found[2]:
            return self._get(found[1])
        if found and method == "POST" and found[2]:
            return self._cancel(found[1])
        if method == "POST" and path == "/v1/files":
            return self._store(request)
        return _problem(404, "Not found", f"no route {method} {path}")

    # --- routes -------------------------------------------------------------------------------

    def _create(self, model: str, body: dict[str, Any], request: Received) -> Answer:
        model_input = body.get("input")
        if not isinstance(model_input, dict):
            return _problem(422, "Input validation failed", "- input: input is required")
        failure = self.take_failure()
        problem = _input_problem(model, model_input) or (
            "- input.prompt: planned by the test" if failure == "invalid_input" else None
        )
        if problem:
            return _problem(422, "Input validation failed", problem)
        if failure == "create_error":
            return _problem(500, "Internal Server Error", "planned by the test")
        prediction = _Prediction(
            uuid.uuid4().hex[:26], model, model_input, self._kind(model), failure
        )
        with self._state:
            self._predictions[prediction.id] = prediction
            if request.headers.get("prefer", "").startswith("wait"):
                prediction.looks = self.polls_to_finish
            answer = self._answer(prediction)
        time.sleep(self.answer_delay_s)  # created already: a client killed now never hears
        return Answer(201, answer)

    def _get(self, prediction_id: str) -> Answer:
        with self._state:
            prediction = self._predictions.get(prediction_id)
            if prediction is None:
                return _problem(404, "Not found", "The requested resource could not be found.")
            prediction.looks += 1
            return Answer(200, self._answer(prediction))

    def _cancel(self, prediction_id: str) -> Answer:
        with self._state:
            prediction = self._predictions.get(prediction_id)
            if prediction is None:
                return _problem(404, "Not found", "The requested resource could not be found.")
            if self._status(prediction) in ("starting", "processing"):
                prediction.canceled = True
            return Answer(200, self._answer(prediction))

    def _store(self, request: Received) -> Answer:
        files = request.body if isinstance(request.body, dict) else {}
        data = files.get("content")
        if not isinstance(data, bytes):
            return _problem(400, "Bad request", "no content")
        file_id = uuid.uuid4().hex[:12]
        with self._state:
            self.files[file_id] = data
        return Answer(201, {"id": file_id, "urls": {"get": f"{self.url}/v1/files/{file_id}"}})

    def _delivery(self, path: str) -> Answer:
        prediction_id = path.split("/")[2]
        with self._state:
            prediction = self._predictions.get(prediction_id)
        if prediction is None:
            return Answer(404, None, content=b"", content_type="text/plain")
        with self._state:
            flaky, prediction.failure = prediction.failure == "download", None
        if flaky:
            return Answer(503, None, content=b"Service Unavailable", content_type="text/plain")
        if prediction.kind == "video":
            data = self.video(self._first_image(prediction))
            return Answer(200, None, content=data, content_type="video/mp4")
        data = png_bytes(*self.size, label=prediction.id)
        return Answer(200, None, content=data, content_type="image/png")

    def _first_image(self, prediction: _Prediction) -> bytes | None:
        """The first image a video prediction sent: a data URI or a file stored here."""
        key = f"replicate:{prediction.model}"
        catalogue = load_catalogue()
        shape = catalogue.get(key).input if key in catalogue else None
        value = prediction.input.get(shape.first_image) if shape and shape.first_image else None
        if not isinstance(value, str):
            return None
        if value.startswith("data:"):
            return base64.b64decode(value.split(",", 1)[1])
        return self.files.get(value.rsplit("/", 1)[-1]) if "/v1/files/" in value else None

    # --- the pretend GPU ----------------------------------------------------------------------

    def _kind(self, model: str) -> str:
        if model in self.kinds:
            return self.kinds[model]
        catalogue = load_catalogue()
        key = f"replicate:{model}"
        return catalogue.get(key).kind if key in catalogue else "image"

    def _status(self, prediction: _Prediction) -> str:
        if prediction.canceled:
            return "canceled"
        if prediction.looks >= self.polls_to_finish:
            return "failed" if prediction.failure in ("refusal", "server") else "succeeded"
        return "processing" if prediction.looks >= 1 else "starting"

    def _answer(self, prediction: _Prediction) -> dict[str, Any]:
        status = self._status(prediction)
        base = f"{self.url}/v1/predictions/{prediction.id}"
        delivery = self.url.replace("127.0.0.1", "localhost") + f"/delivery/{prediction.id}"
        output: Any = None
        if status == "succeeded":
            output = (
                f"{delivery}/output.mp4"
                if prediction.kind == "video"
                else [f"{delivery}/out-0.png"]
            )
        error = None
        if status == "failed":
            error = NSFW_ERROR if prediction.failure == "refusal" else MODEL_ERROR
        done = status in ("succeeded", "failed", "canceled")
        return {
            "id": prediction.id,
            "model": prediction.model,
            "version": "hidden",
            "input": prediction.input,
            "logs": "",
            "output": output,
            "data_removed": False,
            "error": error,
            "status": status,
            "created_at": "2026-12-01T12:00:00.000Z",
            "metrics": {"predict_time": self.predict_time, "total_time": self.predict_time + 0.4}
            if done
            else {},
            "urls": {
                "get": base,
                "cancel": f"{base}/cancel",
                "web": f"{self.url}/p/{prediction.id}",
            },
        }


def _input_problem(model: str, model_input: dict[str, Any]) -> str | None:
    """What the model's schema would say about the input, by its catalogue entry."""
    key = f"replicate:{model}"
    catalogue = load_catalogue()
    if key not in catalogue:
        return None
    entry = catalogue.get(key)
    shape = entry.input
    known = {
        k
        for k in (
            shape.prompt,
            shape.first_image,
            shape.last_image,
            shape.references,
            shape.negative_prompt,
            shape.aspect_ratio,
            shape.resolution,
            shape.size,
            shape.seed,
            shape.duration,
            *shape.fixed,
        )
        if k
    }
    unknown = sorted(set(model_input) - known)
    if unknown:
        return f"- input: additional property {unknown[0]} is not allowed"
    if shape.duration and shape.duration in model_input:
        allowed = {float(d) for d in entry.allowed_durations()}
        if float(model_input[shape.duration]) not in allowed:
            values = ", ".join(f"{d:g}" for d in sorted(allowed))
            return f"- input.{shape.duration}: {shape.duration} must be one of: {values}"
    if shape.prompt not in model_input:
        return f"- input: {shape.prompt} is required"
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


def _problem(status: int, title: str, detail: str) -> Answer:
    return Answer(
        status,
        {
            "type": "https://replicate.com/docs/errors",
            "title": title,
            "status": status,
            "detail": detail,
        },
        content_type="application/problem+json",
    )
