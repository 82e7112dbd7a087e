"""Hostile input: every malformed file a person can hand filmslate is refused with one line
naming the file, the line and the fix, exit 2, no traceback, and nothing written."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import ConfigError, Project, parse_config
from filmslate.core._config import default_toml
from filmslate.core._errors import ArtifactNameError, SchemaError, UserError
from filmslate.core._names import ArtifactName, check_subject, kind, parse_stem, parse_unversioned
from filmslate.core._prices import token_cost
from filmslate.core._video_prices import VIDEO_PRICES, price_per_second
from filmslate.engine._gateway import ProviderSettings
from filmslate.providers.handoff import submit_answer
from filmslate.rules._fountain import parse_fountain
from filmslate.schemas import ScriptScene
from filmslate.workflow._importer import import_screenplay

SCRIPT = "INT. KITCHEN - NIGHT\n\nALEX enters.\n\nALEX\nHello there.\n"


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the project but the index, with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".filmslate" not in p.relative_to(root).parts
    }


def log_rows(root: Path) -> int:
    """Rows of the run log as the index holds them."""
    with sqlite3.connect(f"file:{root / '.filmslate' / 'index.sqlite'}?mode=ro", uri=True) as c:
        return int(c.execute("SELECT count(*) FROM runlog").fetchone()[0])


def state(root: Path) -> tuple[dict[str, bytes], int]:
    return tree(root), log_rows(root)


def refused(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The refusal's message, after checking exit 2, one line and no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    stderr = result.stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def film(tmp_path: Path) -> Path:
    root = tmp_path / "film"
    run_slate("init", str(root), check=True)
    return root


# -- slate import ----------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x07", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"])
def test_a_control_character_in_a_screenplay_names_its_line_and_column(char: str) -> None:
    text = SCRIPT.replace("Hello", "Hel" + char + "lo")
    with pytest.raises(SchemaError) as info:
        parse_fountain(text, source="s.fountain")
    assert info.value.context["line"] == 6
    assert str(info.value).startswith("s.fountain:6: column 4 holds the control character")
    assert f"U+{ord(char):04X}" in str(info.value) and "Delete it" in str(info.value)


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_slate_import_refuses_a_control_character_and_writes_nothing(
    film: Path, tmp_path: Path
) -> None:
    script = tmp_path / "s.fountain"
    script.write_text(SCRIPT.replace("enters", "en\x01ters"), encoding="utf-8")
    before = state(film)
    result = run_slate("import", str(script), cwd=film)
    refused(result, "s.fountain:3:", "U+0001", "Delete it")
    assert state(film) == before


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("INT. ДОМ - NIGHT\n\nALEX\nHi.\n", 1, "the location 'ДОМ' has no Latin letter"),
        (".䀀\n\nALEX\nHi.\n", 1, "the location '䀀' has no Latin letter"),
        ("INT. A - DAY\n\nАННА\nПривет.\n", 3, "character cue 'АННА' has no Latin letter"),
        ("INT. A - DAY\n\n@李\nHi.\n", 3, "character cue '@李' has no Latin letter"),
    ],
)
def test_a_name_without_an_ascii_id_is_refused_at_its_line(
    text: str, line: int, message: str
) -> None:
    with pytest.raises(SchemaError) as info:
        parse_fountain(text, source="s.fountain")
    assert str(info.value).startswith(f"s.fountain:{line}: ") and message in str(info.value)


def test_a_caps_word_without_an_ascii_id_is_not_a_prop() -> None:
    play = parse_fountain("INT. A - DAY\n\nThe ΑΒΓ and the LAMP sit.\n\nALEX\nHi.\n")
    assert play.props == ("LAMP",)
    extras = parse_fountain("INT. A - DAY\n\nАННА (30) enters.\n\nALEX\nHi.\n")
    assert extras.characters == ("ALEX",)


def test_old_mac_line_ends_cut_the_same_slices(project: Project, tmp_path: Path) -> None:
    script = tmp_path / "mac.fountain"
    two = SCRIPT + "\nEXT. YARD - DAY\n\nRain.\n"
    script.write_bytes(two.replace("\n", "\r").encode())
    import_screenplay(project, script)
    slices = [project.store.load(f"SCRIPT_S0{n}_v001.txt") for n in (1, 2)]
    assert [s.text for s in slices] == [SCRIPT.strip(), "EXT. YARD - DAY\n\nRain."]


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_slate_import_of_a_folder_is_a_clean_error(film: Path, tmp_path: Path) -> None:
    before = state(film)
    refused(run_slate("import", str(tmp_path), cwd=film), f"{tmp_path} cannot be read")
    assert state(film) == before


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_slate_import_names_the_line_of_a_byte_that_is_not_utf8(film: Path, tmp_path: Path) -> None:
    script = tmp_path / "s.fountain"
    script.write_bytes(SCRIPT.replace("Hello", "H\xe9llo").encode("latin-1"))
    before = state(film)
    refused(run_slate("import", str(script), cwd=film), f"{script}:6: not UTF-8", "save it as")
    assert state(film) == before


def test_tab_and_line_ends_are_not_control_characters(project: Project) -> None:
    play = parse_fountain(SCRIPT.replace("\n", "\r\n").replace("ALEX enters", "ALEX\tenters"))
    assert [s.scene_id for s in play.scenes] == ["S01"]


# -- filmslate.toml --------------------------------------------------------------------------


def config_problem(text: str) -> tuple[str, int | None, str]:
    """The one problem parse_config finds in ``text``."""
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert len(info.value.problems) == 1, info.value.problems
    assert "\n" not in str(info.value)
    return info.value.problems[0]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("value", ["inf", "+inf", "1e400", "nan"])
def test_caps_are_finite(value: str) -> None:
    text = default_toml("demo").replace("project_cap = 15000.0", f"project_cap = {value}")
    key, line, message = config_problem(text)
    assert (key, line) == ("budget.project_cap", line_of(text, "project_cap ="))
    assert "finite" in message


def test_every_number_is_finite() -> None:
    text = default_toml("demo").replace("timeout_s = 120.0", "timeout_s = inf")
    assert config_problem(text)[0] == "providers.timeout_s"


def test_project_cap_is_required_in_the_file() -> None:
    text = default_toml("demo").replace("project_cap = 15000.0", "")
    key, line, message = config_problem(text)
    assert (key, line) == ("budget.project_cap", line_of(text, "[budget]"))
    assert message.startswith("required: add `project_cap = <amount>` under [budget]")
    assert config_problem('[project]\nname = "x"\n')[0] == "budget.project_cap"


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_the_template_slate_init_writes_sets_the_cap(film: Path) -> None:
    text = (film / "filmslate.toml").read_text(encoding="utf-8")
    assert "project_cap = 15000.0      # required" in text
    assert parse_config(text).budget.project_cap == 15000.0
    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide.md").read_text()
    assert "`[budget] project_cap` (required)" in guide


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('inbox_dir = "inbox"', 'inbox_dir = "../../elsewhere"', "providers.inbox_dir"),
        ('inbox_dir = "inbox"', 'inbox_dir = "/tmp/elsewhere"', "providers.inbox_dir"),
        ('inbox_dir = "inbox"', 'inbox_dir = "inbox/../.."', "providers.inbox_dir"),
        ('inbox_dir = "inbox"', 'inbox_dir = "C:/elsewhere"', "providers.inbox_dir"),
        ('inbox_dir = "inbox"', 'inbox_dir = "..\\\\elsewhere"', "providers.inbox_dir"),
        ('replay_dir = "replay"', 'replay_dir = ".."', "providers.replay_dir"),
        ('replay_dir = "replay"', 'replay_dir = "."', "providers.replay_dir"),
        ('replay_dir = "replay"', 'replay_dir = ""', "providers.replay_dir"),
        ("paths = []", 'paths = ["skills/ok.py", "../../x.py"]', "skills.paths.1"),
        ("paths = []", 'paths = ["/etc/x.py"]', "skills.paths.0"),
    ],
)
def test_paths_in_the_config_stay_inside_the_project(old: str, new: str, key: str) -> None:
    text = default_toml("demo").replace(old, new)
    found, line, message = config_problem(text)
    assert (found, line) == (key, line_of(text, new.split(" =")[0] + " ="))
    assert "project" in message


@pytest.mark.parametrize("folder", ["narrative", "logs/x", ".filmslate"])
def test_paths_in_the_config_keep_out_of_the_store_folders(folder: str) -> None:
    text = default_toml("demo").replace('inbox_dir = "inbox"', f'inbox_dir = "{folder}"')
    assert "which filmslate owns" in config_problem(text)[2]


def test_paths_inside_the_project_are_kept() -> None:
    text = default_toml("demo").replace('inbox_dir = "inbox"', 'inbox_dir = "work/inbox"')
    assert parse_config(text).providers.inbox_dir == "work/inbox"


@pytest.mark.parametrize(
    ("prices", "key"),
    [
        ('video = { "fal:m" = { proxy = -0.05, final = 0.2 } }', "prices.video.fal:m.proxy"),
        ('text = { "openai:m" = [0.4, -1.6] }', "prices.text.openai:m.1"),
        ('text = { "openai:m" = [inf, 1.6] }', "prices.text.openai:m.0"),
    ],
)
def test_prices_are_not_negative(prices: str, key: str) -> None:
    text = default_toml("demo").replace("[skills]", f"{prices}\n\n[skills]")
    found, line, _ = config_problem(text)
    assert (found, line) == (key, line_of(text, prices))


@pytest.mark.parametrize("price", [-0.01, float("inf"), float("nan")])
def test_price_tables_handed_over_in_code_are_held_to_the_same_rule(
    price: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"not negative; correct it in \[prices.text\]"):
        token_cost("compat", "m", 10, 10, overrides={"compat:m": (0.1, price)})
    config = parse_config(default_toml("demo"))
    monkeypatch.setitem(VIDEO_PRICES, "cheap", {"proxy": price, "final": 0.0})
    with pytest.raises(ConfigError, match=r"not negative; correct it in \[prices.video\]"):
        price_per_second(config, "cheap", "proxy")
    assert price_per_second(config, "cheap", "final") == 0.0


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_a_non_utf8_config_is_one_line_for_any_command(film: Path) -> None:
    config = film / "filmslate.toml"
    data = config.read_bytes().replace(b'title = ""', b'title = "caf\xe9"')
    config.write_bytes(data)
    line = data[: data.index(b"\xe9")].count(b"\n") + 1
    before = state(film)
    for args in (["status"], ["verify"], ["config", "check"]):
        refused(run_slate(*args, cwd=film), f"filmslate.toml:{line}: not UTF-8", "save the file")
    assert state(film) == before


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_slate_refuses_an_escaping_inbox_before_any_work(film: Path) -> None:
    config = film / "filmslate.toml"
    config.write_text(
        config.read_text().replace('inbox_dir = "inbox"', 'inbox_dir = "../../elsewhere"')
    )
    before = state(film)
    refused(run_slate("status", cwd=film), "providers.inbox_dir", "leaves the project")
    assert state(film) == before


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_an_error_quoting_rich_markup_is_printed_as_it_is(film: Path) -> None:
    (film / "[bold]SCENES.csv").write_text("x\n")
    before = state(film)
    refused(run_slate("add", "[bold]SCENES.csv", cwd=film), "'[bold]SCENES'")
    refused(run_slate("add", "[/x].txt", cwd=film), "[/x].txt is not a file")
    assert state(film) == before


# -- slate submit ----------------------------------------------------------------------------

PITCH = """
from typing import Any, ClassVar
from filmslate import Context, Gate, Skill
from filmslate.schemas import Premise


class Pitch(Skill):
    name: ClassVar[str] = "pitch"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    produces: ClassVar[tuple[str, ...]] = ("PREMISE",)

    def produce(self, ctx: Context) -> list[Any]:
        return [ctx.ask(Premise, "You pitch short films.", "Pitch one about a lighthouse.")]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        return Gate.from_failures([])
"""
ANSWER = "pitch__PROJECT__1.answer.json"


@pytest.fixture
def waiting(film: Path) -> Path:
    """A project whose `pitch` skill waits for a handoff answer."""
    (film / "skills").mkdir()
    (film / "skills" / "pitch.py").write_text(PITCH)
    config = film / "filmslate.toml"
    config.write_text(
        config.read_text()
        .replace('"replay:', '"handoff:')
        .replace("paths = []", 'paths = ["skills/pitch.py"]')
    )
    assert "waiting" in run_slate("run", "pitch", cwd=film, check=True).stdout
    return film


BAD_ANSWERS: list[tuple[bytes, str]] = [
    (b'{\n  "title": "caf\xe9"\n}\n', ":2: not UTF-8 text (byte 0xe9)"),
    (b'{\n  "title": "x",\n  "genre" "drama"\n}\n', ":3: not valid JSON: Expecting ':'"),
    (b'{"title": NaN}', "the number NaN is not finite"),
    (b'{"title": 1e400}', "the number 1e400 is not finite"),
    (b'{"title": "\\ud800"}', "lone surrogate U+D800"),
    (b"[" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize(("data", "message"), BAD_ANSWERS)
def test_submit_answer_refuses_an_unreadable_answer(
    data: bytes, message: str, tmp_path: Path
) -> None:
    answer = tmp_path / ANSWER
    answer.write_bytes(data)
    with pytest.raises(SchemaError) as info:
        submit_answer(tmp_path, ProviderSettings(), answer)
    assert str(info.value).startswith(str(answer)) and message in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "inbox").exists()


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_slate_submit_refuses_a_missing_folder_or_bad_answer_file(
    waiting: Path, tmp_path: Path
) -> None:
    before = state(waiting)
    missing = tmp_path / ANSWER
    refused(run_slate("submit", str(missing), cwd=waiting), f"{missing} not found")
    missing.mkdir()
    refused(run_slate("submit", str(missing), cwd=waiting), f"{missing} is a folder")
    bad = tmp_path / "bad" / ANSWER
    bad.parent.mkdir()
    for data, message in BAD_ANSWERS[:3]:
        bad.write_bytes(data)
        refused(run_slate("submit", str(bad), cwd=waiting), str(bad), message)
    assert state(waiting) == before


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_a_bad_answer_saved_in_the_inbox_is_a_clean_error(waiting: Path) -> None:
    (waiting / "inbox" / ANSWER).write_bytes(b"\xff\xfe{}")
    result = run_slate("run", "pitch", cwd=waiting)
    refused(result, f"inbox/{ANSWER}:1: not UTF-8 text")


def test_the_inbox_may_not_lead_out_of_the_project(tmp_path: Path) -> None:
    outside, root = tmp_path / "outside", tmp_path / "film"
    outside.mkdir()
    root.mkdir()
    (root / "inbox").symlink_to(outside, target_is_directory=True)
    (outside / "pitch__PROJECT__1.task.json").write_text("{}")
    answer = tmp_path / ANSWER
    answer.write_text("{}")
    with pytest.raises(UserError, match="outside the project"):
        submit_answer(root, ProviderSettings(), answer)
    assert [p.name for p in outside.iterdir()] == ["pitch__PROJECT__1.task.json"]


# -- names -----------------------------------------------------------------------------------


def test_full_width_names_are_normalised_to_their_ascii_form() -> None:
    assert parse_unversioned("SCRIPT_S０１.txt") == (kind("SCRIPT"), "S01")
    assert ArtifactName.parse("ＳＣＲＩＰＴ_S０１_v００２.txt").filename == "SCRIPT_S01_v002.txt"
    assert parse_stem("CHAR_ＡＬＥＸ_LOCK") == (kind("CHAR_LOCK"), "ALEX")


@pytest.mark.parametrize(
    ("name", "found", "suggested"),
    [
        ("CHAR_ZOË_LOCK.txt", "U+00CB", "'CHAR_ZOE_LOCK.txt'"),
        ("SCRIPT_S٠١.txt", "U+0660", "'SCRIPT_S01.txt'"),
        ("SET_CAFÉ_LOCK_v001.txt", "U+00C9", "'SET_CAFE_LOCK_v001.txt'"),
    ],
)
def test_names_still_outside_ascii_are_refused(name: str, found: str, suggested: str) -> None:
    parse = ArtifactName.parse if "_v0" in name else parse_unversioned
    with pytest.raises(ArtifactNameError) as info:
        parse(name)
    assert found in str(info.value) and suggested in str(info.value)
    assert "not ASCII" in str(info.value)


def test_a_full_width_solidus_is_a_folder_after_normalising() -> None:
    with pytest.raises(ArtifactNameError, match="bare file name"):
        parse_unversioned("．．／SCENES.csv")


@pytest.mark.parametrize("subject", ["S０１", "S٠١", "S01_SH０２"])
def test_ids_given_in_code_are_ascii(subject: str) -> None:
    shot = "_SH" in subject
    with pytest.raises(ArtifactNameError, match="is not a valid"):
        check_subject(kind("GENPACK" if shot else "SCRIPT"), subject)
    if not shot:
        with pytest.raises(ValueError, match="scene"):
            ScriptScene(scene_id=subject, text="INT. A - DAY")


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_slate_add_stores_a_full_width_name_under_its_ascii_stem(
    film: Path, tmp_path: Path
) -> None:
    for text, name in (("One.", "SCRIPT_S01.txt"), ("Two.", "SCRIPT_S０１.txt")):
        folder = tmp_path / text
        folder.mkdir()
        scene = ScriptScene(scene_id="S01", text=f"INT. A - DAY\n\n{text}")
        (folder / name).write_bytes(scene.render())
        run_slate("add", str(folder / name), cwd=film, check=True)
    assert sorted(p.name for p in (film / "narrative").iterdir()) == [
        "SCRIPT_S01_v001.txt",
        "SCRIPT_S01_v002.txt",
    ]
    assert run_slate("verify", cwd=film).returncode == 0


@pytest.mark.slow  # the real `slate` command in subprocesses
def test_slate_add_refuses_a_name_outside_ascii(film: Path, tmp_path: Path) -> None:
    lock = tmp_path / "CHAR_ZOË_LOCK.txt"
    lock.write_text("x\n")
    before = state(film)
    refused(run_slate("add", str(lock), cwd=film), "U+00CB", "not ASCII", "CHAR_ZOE_LOCK.txt")
    assert state(film) == before
