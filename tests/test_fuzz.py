"""Fuzz: hostile names, contents, screenplays, answers and configs (hypothesis, derandomized).

Whatever goes in, the library raises only FilmslateError subclasses (which the `slate` command
prints as one line, exit 2) and a refusal writes nothing: the project's files, the run log's
row count and the store's own folder are as they were. The cases run in-process through the
same entry points the commands call (`Project.add`, `import_screenplay`, `submit_answer`,
`parse_config` / `load_config`); a few go through the real `slate` command. Over 1,000 cases
in all, the same ones on every run (derandomize), within about half a minute.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from conftest import run_slate
from filmslate import Config, Project, load_config, parse_config
from filmslate.core._config import default_toml
from filmslate.core._errors import FilmslateError
from filmslate.core._names import KINDS, ArtifactName
from filmslate.engine._gateway import ProviderSettings
from filmslate.providers.handoff import submit_answer
from filmslate.schemas import Premise
from filmslate.workflow._importer import import_screenplay

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
T = TypeVar("T")


# FILMSLATE_FUZZ_SCALE=20 runs twenty times the cases, fresh ones each run (a deep search
# by hand); unset, the CI-sized deterministic set.
SCALE = int(os.environ.get("FILMSLATE_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    """CI-sized and deterministic: the same cases on every run, no example database."""
    return settings(
        max_examples=examples * SCALE,
        derandomize=SCALE == 1,
        database=None,
        deadline=None,
        # one project serves every example of a test: what it accumulates is part of the fuzz
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Inside .filmslate/ only the staging folders count: the index and lock files are bookkeeping.
STAGING = ("tmp", "pending")


def footprint(project: Project) -> tuple[dict[str, str], int]:
    """Every file of the project (staged ones too) by hash, and the run log's row count."""
    files = {
        p.relative_to(project.root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in project.root.rglob("*")
        if p.is_file() and _counted(p.relative_to(project.root).parts)
    }
    rows = project.store.conn.execute("SELECT count(*) FROM runlog").fetchone()[0]
    return files, int(rows)


def _counted(parts: tuple[str, ...]) -> bool:
    return parts[0] != ".filmslate" or (len(parts) > 2 and parts[1] in STAGING)


def accepted(project: Project, action: Callable[[], T]) -> T | None:
    """Run ``action``: its result if it went through; None if refused, after checking the
    refusal was a FilmslateError that wrote nothing. Any other exception fails the test."""
    before = footprint(project)
    try:
        result = action()
    except FilmslateError as exc:
        event(f"refused: {type(exc).__name__}")  # shown by --hypothesis-show-statistics
        assert str(exc).strip(), "a refusal says why"
        assert footprint(project) == before, f"refused ({exc}) but something was written"
        return None
    event("accepted")
    return result


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with Project.init(tmp_path / "film", name="fuzz") as p:
        yield p


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """``data`` with each (position, length, replacement) edit applied in turn."""
    for position, length, replacement in edits:
        at = position % (len(data) + 1)
        data = data[:at] + replacement + data[at + length :]
    return data


EDITS = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.integers(0, 8),
        st.one_of(
            st.binary(max_size=4),
            st.sampled_from(
                [b"\n", b"\r", b"\x00", b"\x07", b"\xe9", b"\xef\xbb\xbf", b"#", b"##", b"|"]
            ),
            st.text(max_size=4).map(str.encode),
        ),
    ),
    max_size=4,
)

# -- slate add: file names and contents -------------------------------------------------------

SEED_FILES = sorted(
    [*(EXAMPLES / "demo_short_film" / "inputs").iterdir(), *(EXAMPLES / "locks").rglob("*.txt")]
)
SEEDS = [(p.name, p.read_bytes()) for p in SEED_FILES]
ODD = "S０１٠١ÉéßŞ_-. ~[]$:'\"\t\u200b\ufeff"
NAME_PART = st.text(alphabet=st.sampled_from("ABCDEFGHSZ0123456789_" + ODD), max_size=10)
BUILT_NAMES = st.builds(
    lambda prefix, subject, suffix, ext: f"{prefix}{subject}{suffix}.{ext}",
    st.sampled_from(sorted({k.prefix for k in KINDS.values()})),
    st.one_of(
        st.sampled_from(["", "S01", "S01_SH02", "ALEX", "PROJECT", "ACT_1", "RUN_1", "S01_v001"]),
        NAME_PART,
    ),
    st.sampled_from(["", "_LOCK", "_FINAL", "_v002", "_NEW"]),
    st.sampled_from(["md", "txt", "csv", "json", "png", "mp4", "MD", "", "ｔｘｔ", "txt.bak"]),
)
ANY_NAMES = st.text(
    alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=30,
)


@st.composite
def hand_written_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A (file name, content) pair: a real example, mutated in name, content or both."""
    name, content = draw(st.sampled_from(SEEDS))
    choice = draw(st.integers(0, 4))
    if choice == 0:
        name = draw(st.one_of(BUILT_NAMES, ANY_NAMES))
    elif choice == 1:
        content = draw(st.binary(max_size=200))
    elif choice == 2:
        name = draw(st.sampled_from([name, name.replace("S0", "S０"), name.lower()]))
    if choice != 1:
        content = mutate(content, draw(EDITS))
    return name, content


@fuzz(300)
@given(file=hand_written_files())
def test_fuzz_slate_add(project: Project, tmp_path: Path, file: tuple[str, bytes]) -> None:
    name, content = file
    assume(name not in (".", "..") and len(name.encode()) < 200)
    folder = tmp_path / "in"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / name).write_bytes(content)
    record = accepted(project, lambda: project.add(folder / name))
    if record is not None:  # stored under its one ASCII name, never a look-alike stem
        assert record.filename.isascii() and (project.root / record.name.relpath).is_file()
        assert ArtifactName.parse(record.filename) == record.name


# -- slate import: Fountain text ------------------------------------------------------------

FOUNTAIN_LINES = st.one_of(
    st.sampled_from(
        [
            "INT. KITCHEN - NIGHT",
            "EXT. HARBOUR - DAY",
            "INT./EXT. CAR - DUSK",
            "EXT. ROAD",
            "int. shed - later",
            ".FORCED HEADING",
            "INT. - NIGHT",
            "ALEX",
            "ALEX (V.O.)",
            "BOB ^",
            "@mcCLANE",
            "(quietly)",
            "Hello there.",
            "ALEX grabs the BRASS KEY.",
            "FADE IN:",
            "CUT TO:",
            "> THE END <",
            "===",
            "/*",
            "*/",
            "[[a note",
            "]]",
            "Title: The Keeper",
            "Author: someone",
            "# Act One",
            "= a synopsis",
            "~a lyric",
            "!FORCED ACTION",
            "INT. HALL - DAY #12#",
            "INT. ДОМ - NIGHT",
            "АННА",
            "The ΑΒΓ glows.",
            "INT. KITCHEN\x07 - DAY",
            "",
            "",
            "",
            "    ",
        ]
    ),
    st.text(max_size=30),
)
SCREENPLAYS = st.builds(
    str.__add__,
    st.sampled_from(["", "INT. KITCHEN - NIGHT\n\n"]),  # half start as a screenplay does
    st.lists(FOUNTAIN_LINES, max_size=30).map("\n".join),
)


NAMES = st.one_of(st.sampled_from(["ALEX", "BOB", "NELL", "Mrs. Hale", ""]), st.text(max_size=8))


@fuzz(300)
@given(
    text=SCREENPLAYS,
    crlf=st.booleans(),
    aliases=st.one_of(st.none(), st.dictionaries(NAMES, NAMES, max_size=2)),
)
def test_fuzz_slate_import(
    project: Project, tmp_path: Path, text: str, crlf: bool, aliases: dict[str, str] | None
) -> None:
    script = tmp_path / "script.fountain"
    script.write_bytes((text.replace("\n", "\r\n") if crlf else text).encode("utf-8"))
    accepted(project, lambda: import_screenplay(project, script, aliases))


@fuzz(40)
@given(data=st.binary(max_size=300), edits=EDITS)
def test_fuzz_slate_import_bytes(
    project: Project, tmp_path: Path, data: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    script = tmp_path / "script.fountain"
    script.write_bytes(mutate(b"INT. A - DAY\n\nALEX\nHi.\n" + data, edits))
    accepted(project, lambda: import_screenplay(project, script))


# -- slate submit: answer JSON, as text and as bytes -----------------------------------------

TASK = "pitch__PROJECT__1"


def nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Lists and objects of ``inner`` values."""
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    nested,
    max_leaves=12,
)
FIELD_TEXT = st.one_of(st.text(max_size=20), st.sampled_from(["A keeper.", "", " ", "NELL"]))
PREMISES = st.fixed_dictionaries(
    {
        "title": FIELD_TEXT,
        "logline": FIELD_TEXT,
        "genre": FIELD_TEXT,
        "tone": FIELD_TEXT,
        "length": st.sampled_from(["short", "feature", "episode", "long", ""]),
    },
    optional={"characters": st.lists(FIELD_TEXT, max_size=3), "theme": JSON_VALUES},
)
VALID = {"title": "T", "logline": "L.", "genre": "drama", "tone": "dry", "length": "short"}
NEAR_VALID = st.builds(
    lambda changes: {**VALID, **changes},
    st.dictionaries(
        st.sampled_from([*VALID, "characters", "extra"]), FIELD_TEXT | JSON_VALUES, max_size=2
    ),
)
ANSWERS = st.one_of(
    NEAR_VALID,
    PREMISES,
    JSON_VALUES,
    PREMISES.map(lambda p: {"task": f"{TASK}.task.json", "output": p}),
    st.builds(lambda task, p: {"task": task, "output": p}, st.text(max_size=20), PREMISES),
)
ANSWER_BYTES = st.one_of(
    NEAR_VALID.map(lambda a: json.dumps(a).encode()),
    st.builds(
        lambda theme, characters: json.dumps({**VALID, "theme": theme, "characters": characters}),
        st.text(max_size=20),
        st.lists(st.text(min_size=1, max_size=10), max_size=3),
    ).map(str.encode),
    ANSWERS.map(lambda a: json.dumps(a, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    ANSWERS.map(lambda a: json.dumps(a).encode("utf-16")),
    st.builds(lambda a, edits: mutate(json.dumps(a).encode(), edits), ANSWERS, EDITS.filter(bool)),
    st.binary(max_size=100),
)


@pytest.fixture
def inbox(project: Project) -> Path:
    """The inbox with one task waiting for a Premise answer."""
    folder = project.root / "inbox"
    folder.mkdir()
    task = {"answer_file": f"{TASK}.answer.json", "output_type": "filmslate.schemas:Premise"}
    (folder / f"{TASK}.task.json").write_text(json.dumps(task))
    return folder


@fuzz(300)
@given(data=ANSWER_BYTES, named=st.sampled_from([True, True, True, False]))
def test_fuzz_slate_submit(
    project: Project, inbox: Path, tmp_path: Path, data: bytes, named: bool
) -> None:
    answer = tmp_path / (f"{TASK}.answer.json" if named else "answer.json")
    answer.write_bytes(data)
    stored = accepted(project, lambda: submit_answer(project.root, ProviderSettings(), answer))
    if stored is not None:
        assert stored == inbox / f"{TASK}.answer.json"
        Premise.model_validate(json.loads(stored.read_text(encoding="utf-8")))
        stored.unlink()  # the next case finds the task waiting again


# -- config loading: filmslate.toml ----------------------------------------------------------

TOML_VALUES = st.one_of(
    st.sampled_from(
        [
            "inf",
            "-inf",
            "nan",
            "1e400",
            "-1",
            "0",
            "-0.0",
            '"../x"',
            '"/abs"',
            '"narrative"',
            '""',
            "[]",
            "{}",
            "[[[[[[[[1]]]]]]]]",
            "1979-05-27",
            "true",
            "99999999999999999999999",
            "0x10",
            '"\\u0000"',
            "'''",
        ]
    ),
    st.text(max_size=12),
)
TEMPLATE = default_toml("fuzz").splitlines()


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    """The default filmslate.toml with some lines given other values, replaced or dropped."""
    lines = list(TEMPLATE)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.integers(0, 3))
        key = lines[at].split("=", 1)[0]
        if how == 0 and "=" in lines[at]:
            lines[at] = f"{key}= {draw(TOML_VALUES)}"
        elif how == 1:
            lines[at] = draw(st.text(max_size=20))
        elif how == 2:
            del lines[at]
        else:
            lines.insert(at, f"{draw(st.text(max_size=8))} = {draw(TOML_VALUES)}")
    return "\n".join(lines)


def numbers(value: Any) -> Iterator[float]:
    """Every number in a dumped config."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for item in value:
            yield from numbers(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield float(value)


def check_accepted(config: Config, text: str) -> None:
    """What a config that loads must hold: nothing silently unlimited, escaping or negative."""
    assert all(math.isfinite(n) for n in numbers(config.model_dump()))
    assert "project_cap" in tomllib.loads(text)["budget"]
    paths = [config.providers.inbox_dir, config.providers.replay_dir, *config.skills.paths]
    for path in map(PurePosixPath, paths):
        assert path.parts and not path.is_absolute() and ".." not in path.parts
    prices = [*config.prices.text.values(), *(p.values() for p in config.prices.video.values())]
    assert all(price >= 0 for pair in prices for price in pair)


def loaded(load: Callable[[], Config], text: str | None) -> None:
    try:
        config = load()
    except FilmslateError as exc:
        event(f"refused: {type(exc).__name__}")
        assert str(exc).strip()
        return
    event("accepted")
    check_accepted(config, text if text is not None else "")


@fuzz(400)
@given(text=config_texts())
def test_fuzz_config_text(text: str) -> None:
    loaded(lambda: parse_config(text), text)


@fuzz(60)
@given(data=st.one_of(st.binary(max_size=200), config_texts().map(str.encode)), edits=EDITS)
def test_fuzz_config_file(tmp_path: Path, data: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    path = tmp_path / "filmslate.toml"
    path.write_bytes(mutate(data, edits))
    loaded(lambda: load_config(path), path.read_bytes().decode("utf-8", "replace"))


# -- through the real command ----------------------------------------------------------------


def one_line_or_success(result: subprocess.CompletedProcess[str]) -> None:
    """Exit 0, or a refusal: exit 2, one `error:` line, no traceback."""
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "film"
    run_slate("init", str(root), check=True)
    inbox = root / "inbox"
    inbox.mkdir()
    task = {"answer_file": f"{TASK}.answer.json", "output_type": "filmslate.schemas:Premise"}
    (inbox / f"{TASK}.task.json").write_text(json.dumps(task))
    return root


def through_slate(film: Path, *args: str) -> None:
    """One fuzz case through the real command: a refusal is one line and writes nothing."""
    with Project(film) as project:
        before = footprint(project)
    result = run_slate(*args, cwd=film)
    one_line_or_success(result)
    if result.returncode == 2:
        with Project(film) as project:
            assert footprint(project) == before, result.stderr


@pytest.mark.slow  # the real `slate` command in subprocesses
@fuzz(4)
@given(file=hand_written_files())
def test_fuzz_through_slate_add(film: Path, tmp_path: Path, file: tuple[str, bytes]) -> None:
    name, content = file
    assume(name not in (".", "..") and len(name.encode()) < 200)
    folder = tmp_path / "add"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / name).write_bytes(content)
    through_slate(film, "add", str(folder / name))


@pytest.mark.slow  # the real `slate` command in subprocesses
@fuzz(4)
@given(text=SCREENPLAYS.map(lambda t: t + "\n\x07"))
def test_fuzz_through_slate_import(film: Path, tmp_path: Path, text: str) -> None:
    script = tmp_path / "script.fountain"
    script.write_text(text, encoding="utf-8")
    through_slate(film, "import", str(script))


def not_an_answer(data: bytes) -> bool:
    """Whether ``data`` is refused as a Premise answer (the task's skill is not installed in
    the command's project, so an accepted answer would stop the run that follows)."""
    try:
        Premise.model_validate(json.loads(data.decode("utf-8")))
    except (ValueError, RecursionError):
        return True
    return False


@pytest.mark.slow  # the real `slate` command in subprocesses
@fuzz(4)
@given(data=ANSWER_BYTES.filter(not_an_answer))
def test_fuzz_through_slate_submit(film: Path, tmp_path: Path, data: bytes) -> None:
    answer = tmp_path / f"{TASK}.answer.json"
    answer.write_bytes(data)
    through_slate(film, "submit", str(answer))
