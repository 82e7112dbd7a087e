"""The dbos engine's settings (issue 17 §2): `[run]` in filmslate.toml, the system database it
names, and the DBOS queue each provider's `[providers.<name>]` limits make."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_slate
from filmslate.core._config import default_toml, parse_config
from filmslate.core._errors import ConfigError

pytest.importorskip("dbos", reason="the dbos engine needs the scale extra (filmslate[scale])")

FAL = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"


def config_with(extra: str, name: str = "night shift") -> str:
    return default_toml(name) + "\n" + extra


def with_run(keys: str) -> str:
    """The template with ``keys`` in its [run] table."""
    return default_toml("x").replace("[run]\n", f"[run]\n{keys}", 1)


def test_run_engine_and_a_postgres_url_are_read_from_the_run_table() -> None:
    config = parse_config(
        with_run('engine = "dbos"\ndbos_database_url = "postgresql://film@db:5432/f"\n')
    )
    assert config.run.engine == "dbos"
    assert config.run.dbos_database_url == "postgresql://film@db:5432/f"
    assert parse_config(default_toml("x")).run.engine == "local"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ('"postgresql://film:hunter2@db/f"', "holds a password"),
        ('"mysql://db/f"', "not a Postgres or SQLite URL"),
    ],
)
def test_a_bad_database_url_is_refused_with_its_line(value: str, said: str) -> None:
    text = with_run(f"dbos_database_url = {value}\n")
    line = text.splitlines().index(f"dbos_database_url = {value}") + 1
    with pytest.raises(ConfigError) as refused:
        parse_config(text)
    assert f"filmslate.toml:{line}: run.dbos_database_url" in str(refused.value)
    assert said in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_the_system_database_is_sqlite_in_the_project_unless_a_url_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filmslate.workflow._dbos import system_url

    monkeypatch.delenv("FILMSLATE_DBOS_URL", raising=False)
    local = parse_config(default_toml("x"))
    assert system_url(tmp_path, local) == f"sqlite:///{tmp_path}/.filmslate/dbos.sqlite"
    shared = parse_config(with_run('dbos_database_url = "postgresql://film@db/f"\n'))
    assert system_url(tmp_path, shared) == "postgresql://film@db/f"
    monkeypatch.setenv("FILMSLATE_DBOS_URL", "postgresql://film:pw@other/f")
    assert system_url(tmp_path, shared) == "postgresql://film:pw@other/f"  # the env wins


def test_each_provider_gets_a_queue_with_its_limits(tmp_path: Path) -> None:
    from filmslate.workflow._dbos import Runtime

    text = config_with(
        "[providers.fal]\nmax_concurrent = 3\nrequests_per_minute = 30\n"
        "[providers.animatic]\nmax_concurrent = 2\n"
    ).replace('premium = "animatic"', f'premium = "{FAL}"', 1)
    runtime = Runtime(tmp_path, parse_config(text), executor="t", listen=False)
    queues = runtime.queues()
    # a vendor's limit holds across every worker; a local renderer's on each machine
    assert queues["filmslate.night-shift.fal"] == {
        "global_concurrency": 3,
        "limiter": {"limit": 30, "period": 60.0},
    }
    assert queues["filmslate.night-shift.animatic"] == {"worker_concurrency": 2}
    assert queues["filmslate.night-shift.espeak"] == {}  # local, no limit set: --jobs bounds it


def test_an_unknown_engine_is_a_one_line_error(tmp_path: Path) -> None:
    run_slate("init", str(tmp_path / "film"), check=True)
    refused = run_slate("run", "--engine", "celery", cwd=tmp_path / "film")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: --engine celery: no such engine; choose one of local, dbos"
    ]
    assert not (tmp_path / "film" / ".filmslate" / "dbos.sqlite").exists()


def test_a_jobs_reference_is_claimed_once(tmp_path: Path) -> None:
    from filmslate.workflow._dbos import Runtime

    (tmp_path / ".filmslate").mkdir()
    runtime = Runtime(tmp_path, parse_config(default_toml("x")), executor="t", listen=False)
    runtime._create_sends()
    try:
        assert [runtime.claim("a"), runtime.claim("a"), runtime.claim("b")] == [True, False, True]
    finally:
        runtime._engine().dispose()  # its pooled connections closed here, not by a later GC
