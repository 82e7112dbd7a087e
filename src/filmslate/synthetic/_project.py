"""Synthetic projects: a project folder wired to a :class:`SyntheticFilm` and
:class:`SyntheticVideo`, and the filmslate.toml settings that make it small and fast."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..core._config import CONFIG_FILE
from ..store._project import Project
from ..testing import scripted_runner
from ._film import SyntheticFilm
from ._shape import STYLE_NAME, TITLE
from ._video import VIDEO_MODEL, SyntheticVideo

if TYPE_CHECKING:
    from ..engine._runner import Runner


@dataclass(frozen=True)
class Settings:
    """What :func:`synthetic_project` writes into filmslate.toml (small, fast media)."""

    proxy: tuple[int, int, int] = (128, 72, 8)
    final: tuple[int, int, int] = (256, 144, 8)
    price_proxy: float = 0.01
    price_final: float = 0.02
    rubric_source: str = "technical"


def synthetic_project(
    root: Path,
    scenes: int,
    shots_per_scene: int,
    characters: int = 4,
    sets: int = 3,
    seed: int = 0,
    *,
    qc_failures: Mapping[str, int] | None = None,
    settings: Settings | None = None,
    ids: tuple[str, ...] = (),
) -> tuple[Runner, SyntheticFilm]:
    """Create a project at ``root`` for a synthetic film and return a runner ready for
    ``Orchestrator(runner).run()``, with the film.

    The project gets the film's PREMISE and STYLE lock (added by hand, as a person would),
    every text tier mapped to the film's scripted model, every visual tier to
    :class:`SyntheticVideo`, caps far above what the film costs, small proxy and final
    resolutions, and shot-list limits that fit ``shots_per_scene``. ``ids`` names the scenes
    (see :class:`~filmslate.synthetic.FilmShape`).
    """
    film = SyntheticFilm(
        scenes, shots_per_scene, characters, sets, seed, dict(qc_failures or {}), ids
    )
    settings = settings or Settings()
    with Project.init(root, name="synthetic", title=TITLE) as project:
        config = project.root / CONFIG_FILE
        config.write_text(
            configured(config.read_text(encoding="utf-8"), film, settings), encoding="utf-8"
        )
    with Project(root) as project, tempfile.TemporaryDirectory() as folder:
        for name, artifact in (
            ("PREMISE.md", film.premise()),
            (f"STYLE_{STYLE_NAME}_LOCK.txt", film.style_lock()),
        ):
            source = Path(folder) / name
            source.write_bytes(artifact.render())
            project.add(source, reason="synthetic film source material")
    return synthetic_runner(root, film, settings), film


def synthetic_runner(root: Path, film: SyntheticFilm, settings: Settings | None = None) -> Runner:
    """A runner on an existing synthetic project (e.g. in a second process after a crash)."""
    settings = settings or Settings()
    runner, _ = scripted_runner(root, film.answer)
    runner.render_service().providers[VIDEO_MODEL] = SyntheticVideo(
        settings.price_proxy, settings.price_final, final_width=settings.final[0]
    )
    return runner


def configured(text: str, film: SyntheticFilm, settings: Settings) -> str:
    """The default filmslate.toml text with the synthetic film's settings."""
    cap = 1000.0 * film.scenes * film.shots_per_scene + 1000.0
    values: dict[tuple[str, str], str] = {
        ("budget", "project_cap"): f"{cap:.1f}",
        ("budget", "scene_cap"): f"{cap:.1f}",
        ("budget", "shot_cap"): f"{cap:.1f}",
        ("qc", "rubric_source"): f'"{settings.rubric_source}"',
        ("visual", "max_shots_per_scene"): str(max(12, film.shots_per_scene)),
        ("visual", "shots_per_summary_sentence"): str(max(4, -(-film.shots_per_scene // 3))),
        ("prices", "video"): (
            f'{{ "{VIDEO_MODEL}" = {{ proxy = {settings.price_proxy}, '
            f"final = {settings.price_final} }} }}"
        ),
    }
    for tier in ("throughput", "judgment", "premium", "vision", "research"):
        values[("tiers", tier)] = f'"scripted:{tier}"'
    for tier in ("premium", "mid", "low"):
        values[("visual", tier)] = f'"{VIDEO_MODEL}"'
    for level, (width, height, fps) in (("proxy", settings.proxy), ("final", settings.final)):
        section = f"resolution.{level}"
        values.update(
            {
                (section, "width"): str(width),
                (section, "height"): str(height),
                (section, "fps"): str(fps),
            }
        )
    for (section, key), value in values.items():
        text = set_key(text, section, key, value)
    return text


def set_key(text: str, section: str, key: str, value: str) -> str:
    """``text`` (TOML) with ``key = value`` in ``[section]``: the key's line replaced (its
    comment dropped), or a new line right under the section header."""
    lines = text.split("\n")
    current, header_at = "", None
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped.strip("[] ")
            header_at = number if current == section else header_at
            continue
        if current == section and re.match(rf"{re.escape(key)}\s*=", stripped):
            lines[number] = f"{key} = {value}"
            return "\n".join(lines)
    if header_at is None:
        lines += ["", f"[{section}]", f"{key} = {value}"]
    else:
        lines.insert(header_at + 1, f"{key} = {value}")
    return "\n".join(lines)
