"""A synthetic production: every model-backed skill answered offline, deterministically.

:class:`SyntheticFilm` plays the part of every text model a production needs. Its
:meth:`~SyntheticFilm.answer` is a function of the request, so it plugs straight into
:class:`filmslate.testing.ScriptedTextModel`: it reads which skill is asking (``request.skill``),
about which target (``request.target``), and, where one request cannot say it alone, the
subject named in the prompt (the scene a breakdown call is about, the character a lock is
for). Every answer is derived from the film's shape (scenes, shots per scene, characters,
sets) and a seed: the same film gives the same answers, byte for byte, in any process.

The answers are built to pass every gate, so a whole production of N scenes and M shots per
scene runs to a cut with no person and no network:

- each scene has two characters (rotating through the cast), one set, a three-sentence
  summary and a concrete goal, conflict and outcome;
- each character owns one prop, brought into the story in their first scene, and learns one
  fact there: the world state stays the size of the cast, however long the film;
- the shot list of a scene mixes hero tiers (one hero-A close-up per four shots at most, so
  the premium visual quota holds in every scene), never puts a hero A in a wide shot, and
  keeps every shot within the clip limits.

:class:`SyntheticVideo` is the matching video provider: it serves one small, valid MP4 per
(size, frame rate, frame count), encoded once per process and reused, whose moving picture
passes qc-grader's technical checks (no black, frozen, flickering or cut frames; colours
from :data:`CLIP_PALETTE`, which every synthetic set lock carries). Its job ids describe the
clip, so a resumed run after a crash downloads the same job in another process.

:func:`synthetic_project` creates a project wired to both; :func:`synthetic_runner` opens an
existing one (as a second process after a crash does)::

    runner, film = synthetic_project(tmp / "film", scenes=2, shots_per_scene=3)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete"

The package's modules: ``_shape`` (the film's scenes, cast and sets), one module of answers
per layer (``_narrative``, ``_validation``, ``_continuity``, ``_production``), ``_film`` (the
answerer), ``_video`` (the clips) and ``_project`` (the project and its settings).
"""

from ._film import SyntheticFilm
from ._project import Settings, configured, set_key, synthetic_project, synthetic_runner
from ._shape import CLIP_PALETTE, STYLE_NAME, TIME_OF_DAY, TITLE, FilmShape
from ._video import VIDEO_MODEL, SyntheticVideo, clip_bytes

__all__ = [
    "CLIP_PALETTE",
    "STYLE_NAME",
    "TIME_OF_DAY",
    "TITLE",
    "VIDEO_MODEL",
    "FilmShape",
    "Settings",
    "SyntheticFilm",
    "SyntheticVideo",
    "clip_bytes",
    "configured",
    "set_key",
    "synthetic_project",
    "synthetic_runner",
]
