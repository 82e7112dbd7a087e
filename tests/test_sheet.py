"""`slate sheet export|import`: the data spine round-trips through a spreadsheet."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import SRC, FinishedDemo, run_slate


@pytest.fixture
def demo(finished_demo: FinishedDemo, tmp_path: Path) -> Path:
    root = tmp_path / "film"
    shutil.copytree(finished_demo.root, root)
    return root


def _export(root: Path, *args: str) -> Path:
    result = run_slate("sheet", "export", *args, cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "exports" / ("sheet" if "csv" in args else "sheet.xlsx")


def _versions(root: Path, stem: str) -> list[str]:
    return sorted(p.name for p in root.rglob(f"{stem}_v*"))


def test_export_has_a_tab_per_table_with_validation_and_read_only_views(demo: Path) -> None:
    book = load_workbook(_export(demo))
    shotlists = [n for n in book.sheetnames if n.startswith("SHOTLIST_")]
    assert book.sheetnames[0] == "README"
    assert {"SCENES", "BREAKDOWN", "QC", "COST", "RUN_LOG"} <= set(book.sheetnames)
    assert len(shotlists) == len(_versions(demo, "SHOTLIST_S0[0-9]")) > 1
    sheet = book[shotlists[0]]
    rules = {str(v.sqref).split(":")[0][0]: v for v in sheet.data_validations.dataValidation}
    assert rules["D"].type == "list" and "close_up" in rules["D"].formula1  # camera_type
    assert rules["C"].type == "decimal" and rules["C"].operator == "greaterThan"  # duration_s
    assert isinstance(sheet["C2"].value, int | float)  # numbers, so the range applies
    for view in ("QC", "COST", "RUN_LOG"):
        assert book[view].protection.sheet, view
    assert not sheet.protection.sheet
    log_text = (demo / "logs" / "RUN_LOG_v001.csv").read_text()
    log_rows = len(list(csv.reader(log_text.splitlines()))) - 1
    assert book["RUN_LOG"].max_row - 1 == log_rows


def test_an_edited_duration_becomes_shotlist_v002_and_makes_its_shots_stale(demo: Path) -> None:
    path = _export(demo)
    book = load_workbook(path)
    book["SHOTLIST_S02"]["C2"] = 6.5  # S02_SH01's duration_s
    book.save(path)
    result = run_slate("sheet", "import", str(path), cwd=demo)
    assert result.returncode == 0, result.stderr
    assert "stored production/SHOTLIST_S02_v002.csv" in result.stdout
    assert "GENPACK_S02_SH01_v001.txt" in result.stdout  # its shots are stale now
    assert "more (`slate artifacts` marks each stale)" in result.stdout  # the rest: where
    assert "GENPACK_S01_SH01" not in result.stdout  # another scene's are not
    new = (demo / "production" / "SHOTLIST_S02_v002.csv").read_text().splitlines()
    assert new[1].split(",")[2] == "6.5"
    assert _versions(demo, "SHOTLIST_S01") == ["SHOTLIST_S01_v001.csv"]
    log = (demo / "logs" / "RUN_LOG_v001.csv").read_text()
    assert "edited in sheet.xlsx, tab SHOTLIST_S02" in log
    assert run_slate("verify", cwd=demo).returncode == 0
    again = run_slate("sheet", "import", str(path), cwd=demo)  # the edit is already in
    assert again.returncode == 2 and "export again" in again.stderr


def test_a_bad_cell_is_refused_with_tab_row_and_column_and_nothing_is_imported(
    demo: Path,
) -> None:
    path = _export(demo)
    book = load_workbook(path)
    book["SHOTLIST_S01"]["C2"] = 5.5  # a good edit in one tab...
    book["SHOTLIST_S03"]["D3"] = "closeup"  # ...and a bad one in another
    book.save(path)
    result = run_slate("sheet", "import", str(path), cwd=demo)
    assert result.returncode == 2
    assert "tab SHOTLIST_S03, row 3, column D (camera_type)" in result.stderr
    assert "'closeup'" in result.stderr and "Traceback" not in result.stderr
    assert _versions(demo, "SHOTLIST_S01") == ["SHOTLIST_S01_v001.csv"]  # all or nothing


def test_a_refused_cell_is_named_by_the_row_the_sheet_shows(demo: Path) -> None:
    """A cell with a line break spans two CSV lines and a blank row is dropped on reading;
    the error still names the spreadsheet's own row numbers."""
    path = _export(demo)
    book = load_workbook(path)
    book["SHOTLIST_S03"]["E2"] = "Ida at the bench\nNico at the door"  # Alt+Enter in a cell
    book["SHOTLIST_S03"]["D3"] = "closeup"
    book.save(path)
    result = run_slate("sheet", "import", str(path), cwd=demo)
    assert result.returncode == 2
    assert "tab SHOTLIST_S03, row 2, column E (blocking_summary)" in result.stderr
    assert "tab SHOTLIST_S03, row 3, column D (camera_type)" in result.stderr
    book = load_workbook(path)
    book["SHOTLIST_S03"]["E2"] = "Ida at the bench"
    book["SHOTLIST_S03"]["D3"] = "close_up"
    book["SHOTLIST_S03"]["M4"] = "a note typed beside the table"
    book.save(path)
    result = run_slate("sheet", "import", str(path), cwd=demo)
    assert result.returncode == 2
    assert "tab SHOTLIST_S03, row 4, column M: a cell outside the table" in result.stderr
    folder = _export(demo, "--format", "csv")
    rows = list(csv.reader((folder / "SHOTLIST_S03.csv").read_text().splitlines()))
    rows[3] = [""] * len(rows[0])  # row 4 emptied in Sheets
    rows[4][0] = rows[1][0]  # row 5 repeats row 2's shot_id
    with (folder / "SHOTLIST_S03.csv").open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    result = run_slate("sheet", "import", str(folder), cwd=demo)
    assert result.returncode == 2
    assert f"column A (shot_id): duplicate shot_id '{rows[1][0]}' in rows 2 and 5" in result.stderr
    assert _versions(demo, "SHOTLIST_S03") == ["SHOTLIST_S03_v001.csv"]


def test_scenes_may_gain_the_optional_story_position_column(demo: Path) -> None:
    """What `slate add` accepts the sheet accepts: a flashback's story_position (issue 16);
    a header the schema does not know is refused as row 1."""
    path = _export(demo)
    book = load_workbook(path)
    scenes = book["SCENES"]
    column = scenes.max_column + 1
    scenes.cell(1, column, "story_position")
    scenes.cell(scenes.max_row, column, "before S02")  # the last scene, told as a flashback
    book["SHOTLIST_S01"]["C1"] = "length"  # a renamed column...
    book.save(path)
    result = run_slate("sheet", "import", str(path), cwd=demo)
    assert result.returncode == 2, result.stdout
    assert "tab SHOTLIST_S01, row 1: wrong header row" in result.stderr  # ...is refused
    book["SHOTLIST_S01"]["C1"] = "duration_s"
    book.save(path)
    result = run_slate("sheet", "import", str(path), cwd=demo)
    assert result.returncode == 0, result.stderr
    assert "stored narrative/SCENES_v002.csv" in result.stdout
    stored = (demo / "narrative" / "SCENES_v002.csv").read_text().splitlines()
    assert stored[0].endswith(",story_position") and stored[-1].endswith(",before S02")


def test_read_only_tabs_refuse_an_edit(demo: Path) -> None:
    path = _export(demo)
    book = load_workbook(path)
    book["COST"]["D2"] = 0  # spend is the ledger's
    book.save(path)
    result = run_slate("sheet", "import", str(path), cwd=demo)
    assert result.returncode == 2 and "tab COST is read-only" in result.stderr


def test_csv_folder_round_trips_for_google_sheets(demo: Path) -> None:
    folder = _export(demo, "--format", "csv")
    assert (folder / "README.csv").is_file() and (folder / "SHOTLIST_S01.csv").is_file()
    unchanged = run_slate("sheet", "import", str(folder), cwd=demo)
    assert unchanged.returncode == 0 and "nothing changed" in unchanged.stdout
    rows = list(csv.reader((folder / "SCENES.csv").read_text().splitlines()))
    rows[1][rows[0].index("time_of_day")] = "DAWN"
    # saved as Excel's "CSV UTF-8" does: a byte-order mark and CRLF line ends
    with (folder / "SCENES.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    result = run_slate("sheet", "import", str(folder), cwd=demo)
    assert result.returncode == 0, result.stderr
    assert "stored narrative/SCENES_v002.csv" in result.stdout


def test_not_a_spreadsheet_is_a_clean_error(demo: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a zip")
    result = run_slate("sheet", "import", str(junk), cwd=demo)
    assert result.returncode == 2 and "not an .xlsx workbook" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_slate("sheet", "import", str(empty), cwd=demo)
    assert result.returncode == 2 and "README.csv" in result.stderr


def blocked(tmp_path: Path, package: str) -> dict[str, str]:
    """An environment in which importing ``package`` fails as if it were not installed."""
    folder = tmp_path / "blocked" / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(f"raise ImportError('no {package}', name='{package}')\n")
    return {"PYTHONPATH": os.pathsep.join([str(folder.parent), str(SRC)])}


def test_a_missing_extra_or_an_unwritable_path_is_a_clean_error(tmp_path: Path) -> None:
    root = tmp_path / "film"
    run_slate("init", str(root), check=True)
    env = blocked(tmp_path, "openpyxl")
    result = run_slate("sheet", "export", cwd=root, env=env)
    assert result.returncode == 2, result.stderr
    assert "pip install 'filmslate[sheet]'" in result.stderr and "Traceback" not in result.stderr
    assert not (root / "exports").exists()  # nothing made
    assert run_slate("sheet", "export", "-f", "csv", cwd=root, env=env).returncode == 0
    outside = tmp_path / "taken.csv"  # a file where the CSV folder would go
    outside.write_text("")
    result = run_slate("sheet", "export", str(outside), "-f", "csv", cwd=root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {outside}: cannot write the export there")


def test_an_export_inside_the_project_goes_under_exports(tmp_path: Path) -> None:
    """Anywhere else in the project `slate verify` refuses the file and no run would start."""
    root = tmp_path / "film"
    run_slate("init", str(root), check=True)
    for place in ("sheet.xlsx", "production/sheet.xlsx"):
        result = run_slate("sheet", "export", place, cwd=root)
        assert result.returncode == 2 and "not under exports/" in result.stderr, place
        assert not (root / place).exists()
    assert run_slate("sheet", "export", "exports/mine.xlsx", cwd=root).returncode == 0
    assert run_slate("sheet", "export", str(tmp_path / "out.xlsx"), cwd=root).returncode == 0
    assert run_slate("verify", cwd=root).returncode == 0


SCENES_CSV = (
    "scene_id,summary,goal,conflict,outcome,location,time_of_day,characters_present\n"
    "S01,Mara climbs the lighthouse in a storm.,Light the lamp,The stairs are flooding,"
    "She reaches the lamp room,LIGHTHOUSE,NIGHT,MARA\n"
)


def test_an_import_reads_no_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read-only tabs are checked against the export's manifest: an import never builds
    them again (the whole run log and every QC batch, which grow with the production)."""
    from filmslate import Project
    from filmslate.workflow import _spreadsheet
    from filmslate.workflow._spreadsheet_files import import_sheet

    root = tmp_path / "film"
    run_slate("init", str(root), check=True)
    (tmp_path / "SCENES.csv").write_text(SCENES_CSV)
    run_slate("add", str(tmp_path / "SCENES.csv"), "--reason", "by hand", cwd=root, check=True)
    folder = _export(root, "--format", "csv")
    (folder / "SCENES.csv").write_text(SCENES_CSV.replace("NIGHT", "DAWN"))

    def history(*_: object) -> None:
        raise AssertionError("an import read the run log or the QC batches")

    monkeypatch.setattr(_spreadsheet, "_log_tab", history)
    monkeypatch.setattr(_spreadsheet, "_qc_tab", history)
    with Project(root) as project:
        done = import_sheet(project, folder)
    assert [r.name.filename for r in done.stored] == ["SCENES_v002.csv"]
