"""A small synthetic production driven through the real ``slate run`` against a local vendor.

The text models are the synthetic film's answers (:class:`filmslate.synthetic.SyntheticFilm`),
served in the ``slate`` child process by a ``filmslate.text_providers`` entry point named
``scripted`` (a distribution written on ``sys.path``, as pip leaves one), so the project's
``scripted:...`` tiers resolve there as they do in-process. The pictures come from the models
``[visual]`` and ``[images]`` name, over HTTP, from a server of ``filmslate.testing``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from conftest import SRC, run_slate
from filmslate.engine._gateway import ProviderContext, TextProvider
from filmslate.synthetic import SyntheticFilm, set_key, synthetic_project
from filmslate.testing import ScriptedTextModel

TESTS = Path(__file__).resolve().parent
SHAPE_ENV = "FILMSLATE_E2E_FILM"  # "scenes,shots": the film the child process answers for
FAILS_ENV = "FILMSLATE_E2E_QC_FAILURES"  # "S01_SH02=1,...": the film's qc_failures (optional)


def text_provider(context: ProviderContext) -> TextProvider:
    """The ``scripted`` text provider of the child process: the synthetic film's answers."""
    scenes, shots = (int(n) for n in os.environ.get(SHAPE_ENV, "2,2").split(","))
    pairs = (pair.split("=") for pair in os.environ.get(FAILS_ENV, "").split(",") if pair)
    failures = {shot: int(times) for shot, times in pairs}
    return ScriptedTextModel(SyntheticFilm(scenes, shots, qc_failures=failures).answer)


def make_film(root: Path, scenes: int, shots: int, settings: Mapping[tuple[str, str], str]) -> None:
    """A synthetic project at ``root`` (premise and style lock added) with ``settings``
    (``(section, key) -> TOML value``) written into its filmslate.toml."""
    runner, _ = synthetic_project(root, scenes, shots)
    runner.project.close()
    config = root / "filmslate.toml"
    text = config.read_text(encoding="utf-8")
    for (section, key), value in settings.items():
        text = set_key(text, section, key, value)
    config.write_text(text, encoding="utf-8")


def plugin_env(site: Path, scenes: int, shots: int, extra: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: the text plugin installed in ``site``, the film's shape, and
    ``extra`` (the vendor's key)."""
    info = site / "e2e_film_text-0.1.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: e2e-film-text\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[filmslate.text_providers]\nscripted = e2e_film:text_provider\n"
    )
    path = os.pathsep.join([str(SRC), str(site), str(TESTS)])
    return {"PYTHONPATH": path, SHAPE_ENV: f"{scenes},{shots}", **extra}


def slate(root: Path, env: Mapping[str, str], *args: str) -> str:
    """``slate ARGS -C root`` in a child process; its output (it must succeed)."""
    result = run_slate(*args, "-C", str(root), env=dict(env))
    assert result.returncode == 0, f"slate {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def query(root: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows from the project's index (read only)."""
    uri = f"file:{root / '.filmslate' / 'index.sqlite'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return conn.execute(sql, params).fetchall()


def files_containing(root: Path, secret: str) -> list[str]:
    """Every file under ``root`` whose bytes contain ``secret`` (the index and logs too)."""
    needle = secret.encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]
