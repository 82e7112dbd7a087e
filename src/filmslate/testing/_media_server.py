"""What the local protocol servers share: real media bytes and a bounded HTTP server.

The servers in ``filmslate.testing`` (ComfyUI, Replicate, fal) stand in for a vendor on
127.0.0.1 so a test can run a production over real HTTP without the internet. They answer with
real media, so the conform step and the technical checks see what a model would return:

- :func:`png_bytes` draws a PNG of any size (a gradient, a disc and a label; Pillow);
- :func:`mp4_bytes` encodes an H.264 MP4 of any size and length with the ffmpeg that
  imageio-ffmpeg bundles; the picture moves, so no frozen-frame check trips on it;
- :func:`i2v_bytes` is an image-to-video model's clip: it starts on the first image the job
  sent and the camera drifts over it, so qc-grader's first-frame check sees that image. A
  server answers a video job that sent a first image with it, unless the test sets
  ``server.first_frame = "ignored"`` (a model that does not start from the image sent).

:class:`MediaServer` is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) in a
daemon thread that stops by itself after ``timeout_s``, records every request it received
(method, path, query, JSON body, uploaded files by sha256; the Authorization header is kept
only as its scheme, never the key) and can be told to fail the next jobs
(:meth:`MediaServer.fail_next`). A subclass answers in :meth:`MediaServer.route`.
Use it as a context manager: ``with ComfyUIServer() as server: server.url``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
from PIL import Image, ImageDraw

DEFAULT_SIZE = (1280, 720)  # what a hosted model returns, not the proxy spec
DEFAULT_SECONDS = 5.0
DEFAULT_FPS = 24


def png_bytes(width: int = 1280, height: int = 720, label: str = "filmslate") -> bytes:
    """A real PNG: a gradient, a disc and the label, different for each label (the disc's
    place, size and shade). Its colours stay in the muted range of :func:`mp4_bytes`' clip
    (a clip an image-to-video stand-in starts from it keeps a plausible palette), and its
    gradient runs the other way, so that clip's first frame does not look like it."""
    tint = hashlib.sha256(label.encode()).digest()
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[..., 0] = (170 - 80 * x).astype(np.uint8)
    pixels[..., 1] = (130 - 60 * y).astype(np.uint8)
    pixels[..., 2] = 110
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    radius = round(min(width, height) * (0.15 + 0.15 * tint[2] / 255))
    cx = round(width * (0.3 + 0.4 * tint[0] / 255))
    cy = round(height * (0.35 + 0.3 * tint[1] / 255))
    draw.ellipse(
        (cx - radius, cy - radius, cx + radius, cy + radius),
        fill=(200 + tint[3] % 40, 180 + tint[4] % 40, 150 + tint[5] % 30),
    )
    draw.text((8, 8), label[:60], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@lru_cache(maxsize=8)
def mp4_bytes(
    width: int = 1280, height: int = 720, seconds: float = 5.0, fps: int = DEFAULT_FPS
) -> bytes:
    """A real H.264 MP4 of ``width`` x ``height``, ``seconds`` long: a disc crossing a
    gradient (cached: the same clip is encoded once per process)."""
    frames = max(1, round(seconds * fps))
    pictures = (_frame(width, height, index / max(1, frames - 1)) for index in range(frames))
    return _encoded(pictures, width, height, fps)


def _encoded(frames: Iterable[bytes], width: int, height: int, fps: int) -> bytes:
    """RGB24 frames as an H.264 MP4 (ultrafast: a test's clip, not a film's)."""
    with tempfile.TemporaryDirectory(prefix="filmslate-media-") as folder:
        path = Path(folder) / "clip.mp4"
        writer = imageio_ffmpeg.write_frames(
            str(path),
            (width, height),
            fps=fps,
            codec="libx264",
            macro_block_size=2,
            ffmpeg_log_level="error",
            quality=None,
            output_params=["-preset", "ultrafast", "-crf", "28", "-movflags", "+faststart"],
        )
        writer.send(None)
        try:
            for frame in frames:
                writer.send(frame)
        finally:
            writer.close()
        return path.read_bytes()


@lru_cache(maxsize=8)
def i2v_bytes(first: bytes, width: int, height: int, seconds: float, fps: int) -> bytes:
    """A real H.264 MP4 starting on ``first`` (a PNG or JPEG, cropped to cover the frame) with
    the offline animatic's gentle drift over it (its "medium" move: frame 0 is the whole
    picture) and a disc crossing it after frame 0, as an image-to-video model starts from its
    first image. Frames are cut and scaled by OpenCV and encoded as :func:`mp4_bytes` is
    (cached: the proxy and the final of a shot send the same image)."""
    import cv2

    from ..providers.animatic import CAMERA_MOVES, MOVES

    with Image.open(io.BytesIO(first)) as image:
        picture = np.asarray(image.convert("RGB"))
    tall, wide = picture.shape[:2]
    scale = max(width / wide, height / tall)  # cover, centre crop
    box_w, box_h = round(width / scale), round(height / scale)
    left, top = (wide - box_w) // 2, (tall - box_h) // 2
    area = cv2.INTER_AREA
    source = cv2.resize(
        picture[top : top + box_h, left : left + box_w], (width, height), interpolation=area
    )
    move = MOVES[CAMERA_MOVES["medium"]]
    count = max(1, round(seconds * fps))
    frames = []
    for index in range(count):
        dx, dy, zoom = move(index / max(1, count - 1), 1)
        w, h = width / zoom, height / zoom
        x = min(max(width / 2 + dx * width - w / 2, 0.0), width - w)
        y = min(max(height / 2 + dy * height - h / 2, 0.0), height - h)
        matrix = np.array([[w / width, 0.0, x], [0.0, h / height, y]])
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        frame = cv2.warpAffine(source, matrix, (width, height), flags=flags)
        # something moves in the scene: a disc crossing from just outside the left edge (not
        # in frame 0), so no frozen-frame check trips on a smooth picture
        radius = max(2, height // 8)
        centre = (round(-radius + (width + 2 * radius) * index / count), round(height * 0.6))
        frames.append(cv2.circle(frame, centre, radius, (230, 210, 170), -1).tobytes())
    return _encoded(frames, width, height, fps)


def _frame(width: int, height: int, t: float) -> bytes:
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[..., 0] = (90 + 80 * x).astype(np.uint8)
    pixels[..., 1] = (70 + 60 * y).astype(np.uint8)
    pixels[..., 2] = 110
    cx, cy, r = (0.2 + 0.6 * t) * width, height * (0.5 + 0.1 * math.sin(6 * t)), height / 6
    mask = (np.arange(width)[None, :] - cx) ** 2 + (np.arange(height)[:, None] - cy) ** 2 < r * r
    pixels[mask] = (230, 210, 170)
    return pixels.tobytes()


@dataclass
class Received:
    """One request a local server received. ``auth`` is the Authorization scheme only
    (``"Bearer"``), never the key; ``files`` maps each uploaded field to its sha256."""

    method: str
    path: str
    query: dict[str, str]
    auth: str | None
    headers: dict[str, str]
    body: Any = None  # the JSON body, or None
    files: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    filenames: dict[str, str] = field(default_factory=dict)  # field -> the uploaded file's name


@dataclass
class Answer:
    """What a route answers: JSON (``body``) or raw bytes (``content``)."""

    status: int = 200
    body: Any = None
    content: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class MediaServer:
    """A bounded local HTTP server; subclasses answer in :meth:`route`."""

    def __init__(
        self,
        *,
        size: tuple[int, int] = DEFAULT_SIZE,
        seconds: float = DEFAULT_SECONDS,
        fps: int = DEFAULT_FPS,
        timeout_s: float = 120.0,
    ) -> None:
        self.size = size
        self.seconds = seconds
        self.fps = fps
        self.timeout_s = timeout_s
        self.received: list[Received] = []
        self.failures: list[str] = []  # how the next jobs fail, oldest first
        self.first_frame = "kept"  # "ignored": video jobs answered without their first image
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._timer: threading.Timer | None = None

    # --- the test's side ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL (``http://127.0.0.1:<port>``)."""
        if self._server is None:
            raise RuntimeError("the server is not running: use it in a with block")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(self, count: int = 1, kind: str = "server") -> None:
        """Make the next ``count`` jobs fail: ``kind`` is ``"server"``, ``"refusal"`` or
        ``"invalid_input"`` (each server says which kinds it speaks)."""
        with self._lock:
            self.failures.extend([kind] * count)

    def video(self, first: bytes | None) -> bytes:
        """The clip a video job gets: from its first image (an image-to-video model) when it
        sent one and ``first_frame`` is "kept", else the disc crossing a gradient."""
        if first is not None and self.first_frame == "kept":
            return i2v_bytes(first, *self.size, self.seconds, self.fps)
        return mp4_bytes(*self.size, self.seconds, self.fps)

    def take_failure(self) -> str | None:
        """The failure planned for the job being submitted now, if any."""
        with self._lock:
            return self.failures.pop(0) if self.failures else None

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[Received]:
        """Every received request whose path starts with ``path_prefix``."""
        with self._lock:
            found = list(self.received)
        return [
            r
            for r in found
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        ]

    def __enter__(self) -> MediaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on 127.0.0.1 (a free port) in a daemon thread, for ``timeout_s`` at most."""
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # a short poll interval: stopping waits for one poll, and tests start many servers
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        self._timer = threading.Timer(self.timeout_s, self.stop)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        """Stop serving (also called by the timer when ``timeout_s`` has passed)."""
        server, self._server = self._server, None
        if self._timer is not None and threading.current_thread() is not self._timer:
            self._timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()

    # --- the vendor's side --------------------------------------------------------------------

    def route(self, request: Received) -> Answer:
        """Answer one request (subclasses)."""
        return Answer(404, {"detail": "Not Found"})

    def record(self, request: Received) -> None:
        with self._lock:
            self.received.append(request)


def _handler_for(server: MediaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return None  # quiet: the tests read server.received instead

        def _serve(self, method: str) -> None:
            request = _parse(self, method)
            server.record(request)
            try:
                answer = server.route(request)
            except Exception as exc:  # a bug in a route is a 500, as a real server answers
                answer = Answer(500, {"detail": f"{type(exc).__name__}: {exc}"})
            content = answer.content
            if content is None:
                content = json.dumps(answer.body).encode() if answer.body is not None else b""
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(content)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)

    return Handler


def _parse(handler: BaseHTTPRequestHandler, method: str) -> Received:
    parts = urlsplit(handler.path)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    auth = handler.headers.get("Authorization")
    headers = {k.lower(): v for k, v in handler.headers.items() if k.lower() != "authorization"}
    request = Received(method, parts.path, query, auth.split(" ", 1)[0] if auth else None, headers)
    kind = headers.get("content-type", "")
    if kind.startswith("application/json") and raw:
        try:
            request.body = json.loads(raw)
        except ValueError:
            request.body = None
    elif kind.startswith("multipart/form-data"):
        request.files, request.form, request.body, request.filenames = _multipart(kind, raw)
    return request


def _multipart(
    kind: str, raw: bytes
) -> tuple[dict[str, str], dict[str, str], dict[str, bytes], dict[str, str]]:
    """(field -> sha256 of each file, field -> text of each plain field, field -> file bytes,
    field -> file name)."""
    head = b"Content-Type: " + kind.encode() + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    files: dict[str, str] = {}
    form: dict[str, str] = {}
    data: dict[str, bytes] = {}
    names: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        filename = part.get_filename()
        if filename:
            files[name] = hashlib.sha256(payload).hexdigest()
            data[name] = payload
            names[name] = filename
        else:
            form[name] = payload.decode("utf-8", "replace")
    return files, form, data, names
