"""The `slate` command through its real entry point, in a temporary project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import run_slate

SCENES_CSV = (
    "scene_id,summary,goal,conflict,outcome,location,time_of_day,characters_present\n"
    "S01,Mara finds the key.,Find the key,The tide is rising,She finds it,LIGHTHOUSE,NIGHT,MARA\n"
)


@pytest.fixture
def film(tmp_path: Path) -> Path:
    run_slate("init", str(tmp_path / "film"), "--name", "film", check=True)
    return tmp_path / "film"


def test_init_creates_layers_and_config(film: Path) -> None:
    for layer in ("narrative", "validation", "continuity", "production", "governance", "logs"):
        assert (film / layer).is_dir()
    text = (film / "filmslate.toml").read_text()
    assert "threshold_a = 12" in text and "# " in text
    again = run_slate("init", str(film))
    assert again.returncode == 2 and "already a filmslate project" in again.stderr


def test_add_show_artifacts_status_verify(film: Path, tmp_path: Path) -> None:
    source = tmp_path / "SCENES.csv"
    source.write_text(SCENES_CSV)
    added = run_slate("add", str(source), "--reason", "from the spreadsheet", cwd=film, check=True)
    assert "narrative/SCENES_v001.csv" in added.stdout
    run_slate("add", str(source), cwd=film, check=True)
    shown = run_slate("show", "SCENES", cwd=film, check=True)
    assert "Mara finds the key." in shown.stdout
    info = run_slate("show", "SCENES_v001.csv", "--info", cwd=film, check=True)
    assert "narrative/SCENES_v001.csv" in info.stdout and "sha256" in info.stdout
    listing = run_slate("artifacts", "SCENES", cwd=film, check=True)
    assert "SCENES_v001.csv" in listing.stdout and "SCENES_v002.csv" in listing.stdout
    status = run_slate("status", "-C", str(film), check=True)
    assert "SCENES" in status.stdout and "15000.00" in status.stdout
    assert "hard stops: none" in status.stdout
    log = run_slate("log", "--skill", "manual", cwd=film, check=True)
    assert "SCENES_v001.csv" in log.stdout and "SCENES_v002.csv" in log.stdout
    assert run_slate("verify", cwd=film).returncode == 0


@pytest.mark.parametrize(
    "filename,content,message",
    [
        ("SCENES_v002.csv", SCENES_CSV, "already carries a version"),
        ("scenes.csv", SCENES_CSV, "uppercase"),
        ("SCENES_final.csv", SCENES_CSV, "not allowed"),
        ("SCENES.csv", "scene_id,summary\nS01,x\n", "SCENES"),
        ("SCENES.md", SCENES_CSV, ".csv"),
    ],
)
def test_add_refuses_bad_files_and_writes_nothing(
    film: Path, tmp_path: Path, filename: str, content: str, message: str
) -> None:
    source = tmp_path / filename
    source.write_text(content)
    result = run_slate("add", str(source), cwd=film)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list((film / "narrative").iterdir()) == []


def test_verify_exits_non_zero_on_tampering(film: Path, tmp_path: Path) -> None:
    source = tmp_path / "SCENES.csv"
    source.write_text(SCENES_CSV)
    run_slate("add", str(source), cwd=film, check=True)
    path = film / "narrative" / "SCENES_v001.csv"
    os.chmod(path, 0o644)
    path.write_text(SCENES_CSV.replace("Mara", "Nora"))
    result = run_slate("verify", cwd=film)
    assert result.returncode == 1
    assert "SCENES_v001.csv: content changed" in result.stdout


def test_reindex_then_verify_clean(film: Path, tmp_path: Path) -> None:
    source = tmp_path / "SCENES.csv"
    source.write_text(SCENES_CSV)
    run_slate("add", str(source), cwd=film, check=True)
    result = run_slate("reindex", cwd=film, check=True)
    assert "indexed 1 artifact versions" in result.stdout
    assert run_slate("verify", cwd=film).returncode == 0


def test_metrics_show_zeros_on_a_new_project(film: Path) -> None:
    result = run_slate("metrics", cwd=film, check=True)
    assert "runs: 0" in result.stdout and "average regens per shot: 0.00" in result.stdout


def test_config_check_names_key_and_line(film: Path) -> None:
    assert run_slate("config", "check", cwd=film).returncode == 0
    config = film / "filmslate.toml"
    config.write_text(config.read_text().replace("threshold_a = 12", "threshold_a = -1"))
    result = run_slate("config", "check", cwd=film)
    assert result.returncode == 2
    assert "filmslate.toml:" in result.stderr and "qc.threshold_a" in result.stderr


def test_outside_a_project_the_error_says_what_to_do(tmp_path: Path) -> None:
    result = run_slate("status", cwd=tmp_path)
    assert result.returncode == 2 and "slate init" in result.stderr
