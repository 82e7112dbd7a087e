"""The vision tier sees every scene change (issue 13 §2): a take with a hard cut is shown to the
model with the first frame after the cut added to its sampled frames, labelled with the time.

Through qc-grader with rubric_source = "model" against the local OpenAI-compatible server: a
real H.264 clip of two pictures (a cut at 2.0 s) reaches the wire as 6 sampled frames plus one
"scene change" frame, in time order; the hard_cut check still fails the take in code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import test_qc_vision as vision
from filmslate import Project
from filmslate.rules._media import decode, scene_changes
from filmslate.skills.production._qc_vision import MAX_SCENE_FRAMES, sampled_frames
from filmslate.testing.openai_server import OpenAIServer
from test_looks import encode

film = vision.film


def two_pictures(width: int, height: int, fps: int, seconds: float, cut_s: float) -> bytes:
    """A moving textured picture, then (a hard cut at ``cut_s``) another one."""
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(round(seconds * fps)):
        before = t < cut_s * fps
        wave = np.sin((xx + t) / 30.0) if before else np.cos((yy - t) / 20.0)
        base = np.array([90, 70, 50]) if before else np.array([70, 80, 60])
        picture = base + 40 * wave[..., None]
        frames.append(np.clip(picture, 0, 255).astype(np.uint8))
    return encode(frames, fps)


def test_a_take_with_a_cut_shows_the_model_the_new_picture(film: Path) -> None:
    with OpenAIServer([vision.ALL_TWO]) as server:
        vision.prepared(film, server, vision.VL_MODEL, declared=True)
        with Project(film) as project:
            res = project.config.resolution.proxy
            cut = two_pictures(res.width, res.height, res.fps, 4.0, 2.0)
            project.store.write("PROXY", "S01_SH02", cut)
        result, qc, _ = vision.grade(film)
        (request,) = server.completions()
    labels = [label for label, _ in vision.image_parts(request.body)]
    frames = [x for x in labels if x.startswith("[take frame ")]
    assert len(frames) == 7, frames
    changes = [x for x in frames if "scene change" in x]
    assert changes == ["[take frame 4 of 7 (scene change at 2.0 s)]"], frames
    assert frames[2].startswith("[take frame 3 of 7 (about 1.") and "about 2." in frames[4]
    assert "of 7 (scene change at 2.0 s)" in str(request.body["messages"])  # listed in the text
    # the verdict stays in code: the cut is a severe motion and set finding
    assert result.gate.verdict == "FAIL"
    assert "hard_cut severe" in qc.rows[-1].notes


def test_the_scene_change_frames_are_bounded() -> None:
    """A take cutting every half second adds at most MAX_SCENE_FRAMES frames."""
    yy, xx = np.mgrid[0:90, 0:160]
    frames = []
    for t in range(48):
        k = t // 6  # a new picture every 6 frames, moving a little within its scene
        wave = np.sin(xx / (6 + 3 * k) + t * 0.05 + k) * np.cos(yy / (5 + 2 * (k % 3)) + k)
        frames.append(np.clip(110 + 60 * wave[..., None], 0, 255).astype(np.uint8).repeat(3, 2))
    decoded = decode(encode(frames))
    assert len(scene_changes(decoded.stats)) == 7
    picks = sampled_frames(decoded, 6)
    assert sum(1 for _, cut, _ in picks if cut) == MAX_SCENE_FRAMES
    assert [at for at, _, _ in picks] == sorted(at for at, _, _ in picks)


def test_the_looking_checks_see_the_picture_after_a_cut() -> None:
    """One face for two seconds, then (a cut) three: the frame after the cut is counted too,
    so the three faces are the count most sampled frames agree on (3 of 5, not 2 of 4)."""
    from filmslate.rules._media import ClipSpec, technical_checks
    from test_looks import frames_with

    clip = encode(frames_with(1, count=24) + frames_with(3, count=24))
    findings = technical_checks(clip, ClipSpec(4.0, 640, 360, 12, characters=1))
    assert [f.check for f in findings] == ["hard_cut", "face_count"]
    assert findings[1].detail == (
        "3 face(s) seen in 3 of 5 sampled frames where the shot has 1 character(s)"
    )
