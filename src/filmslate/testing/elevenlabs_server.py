"""A local stand-in for ElevenLabs' text-to-speech with timestamps, every request recorded.

``with ElevenLabsServer() as server:`` listens on 127.0.0.1 (a free port, stopping by itself
after ``timeout_s``); point ``[providers.elevenlabs] base_url`` at ``server.url``
(:meth:`ElevenLabsServer.providers_toml` writes that table; ``[audio] model =
"elevenlabs:<model_id>"`` and ``price_per_1k_chars`` route the voices to it). It speaks the
vendor's protocol as ``providers.elevenlabs`` documents it:

- ``POST /v1/text-to-speech/{voice_id}/with-timestamps?output_format=pcm_22050`` with an
  ``xi-api-key`` header and ``{"text", "model_id"}`` answers ``{"audio_base64", "alignment":
  {"characters", "character_start_times_seconds", "character_end_times_seconds"},
  "normalized_alignment"}``, the audio 16-bit mono PCM at 22,050 Hz: a voiced tone per word
  (its pitch from the voice id) and silence between words, about 2.5 words a second, so the
  timing and the energy are real; the ``x-character-count`` header says what was billed;
- no key: 401; an empty text: 422.

``fail_next(n, "server")`` makes the next ``n`` calls answer 500. :attr:`received` holds every
request; the key header is recorded as ``<set>``, never its value. :meth:`spoken` lists the
(voice id, text) of every call that was answered with audio.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import numpy as np

from ._media_server import Answer, MediaServer, Received

__all__ = ["ElevenLabsServer", "word_tones"]

RATE = 22050
WORDS_PER_S = 2.5
_PATH = re.compile(r"/v1/text-to-speech/([^/]+)/with-timestamps")


def word_tones(text: str, voice_id: str) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The samples of ``text`` as a tone per word with gaps, and each word's (start, end)."""
    base = 110 + int(hashlib.sha256(voice_id.encode()).hexdigest()[:2], 16)  # 110-365 Hz
    out: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    at = 0.0
    for word in text.split():
        seconds = max(0.12, len(word) / (5 * WORDS_PER_S))
        t = np.arange(int(seconds * RATE)) / RATE
        envelope = np.sin(np.pi * t / seconds)
        tone = 6000 * envelope * np.sin(2 * np.pi * base * t) * (1 + 0.3 * np.sin(9 * t))
        out += [tone, np.zeros(int(0.08 * RATE))]
        spans.append((at, at + seconds))
        at += seconds + 0.08
    samples = np.concatenate(out) if out else np.zeros(0)
    return samples.astype("<i2"), spans


class ElevenLabsServer(MediaServer):
    """ElevenLabs' text-to-speech with timestamps on 127.0.0.1 (see the module docs)."""

    def providers_toml(self) -> str:
        """The ``[providers.elevenlabs]`` table that points a project at this server."""
        return f'\n[providers.elevenlabs]\nbase_url = "{self.url}"\n'

    def spoken(self) -> list[tuple[str, str]]:
        """(voice id, text) of every call answered with audio."""
        calls = [r for r in self.received if r.method == "POST" and _PATH.fullmatch(r.path)]
        return [
            (_voice(r), str(r.body.get("text", "")))
            for r in calls
            if isinstance(r.body, dict) and r.headers.get("x-answered") == "audio"
        ]

    def record(self, request: Received) -> None:
        if "xi-api-key" in request.headers:
            request.headers["xi-api-key"] = "<set>"  # never keep a key
        super().record(request)

    def route(self, request: Received) -> Answer:
        if request.method != "POST" or not _PATH.fullmatch(request.path):
            return Answer(404, {"detail": "Not Found"})
        if not request.headers.get("xi-api-key"):
            return Answer(401, {"detail": "missing xi-api-key"})
        body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
        text = str(body.get("text", "")).strip()
        if not text:
            return Answer(422, {"detail": "text is empty"})
        if self.take_failure() is not None:
            return Answer(500, {"detail": "internal error"})
        samples, spans = word_tones(text, _voice(request))
        request.headers["x-answered"] = "audio"
        alignment = _alignment(text, spans)
        answer = {
            "audio_base64": base64.b64encode(samples.tobytes()).decode(),
            "alignment": alignment,
            "normalized_alignment": alignment,
        }
        return Answer(200, answer, headers={"x-character-count": str(len(text))})


def _voice(request: Received) -> str:
    found = _PATH.fullmatch(request.path)
    return found.group(1) if found else ""


def _alignment(text: str, spans: list[tuple[float, float]]) -> dict[str, list[Any]]:
    """Per character start and end times: each word's characters share out its span."""
    chars: list[str] = []
    starts: list[float] = []
    ends: list[float] = []
    words = iter(spans)
    span = (0.0, 0.0)
    for index, char in enumerate(text):
        if not char.isspace() and (index == 0 or text[index - 1].isspace()):
            span = next(words, span)
        chars.append(char)
        starts.append(round(span[0], 3))
        ends.append(round(span[1], 3))
    return {
        "characters": chars,
        "character_start_times_seconds": starts,
        "character_end_times_seconds": ends,
    }
