"""A reservation held on an episode's scene counts against the episode cap, and `slate verify`
recomputes the episode's holds like the project's, scene's and shot's."""

from __future__ import annotations

from pathlib import Path

from conftest import run_slate
from filmslate import Project
from filmslate.store._ledger import Ledger


def test_a_held_reservation_on_an_episode_scene_verifies_clean(tmp_path: Path) -> None:
    root = tmp_path / "series"
    Project.init(root, name="series").close()
    config = root / "filmslate.toml"
    config.write_text(config.read_text().replace("[budget]\n", "[budget]\nepisode_cap = 0.5\n"))
    with Project(root) as p:
        Ledger(p.store, p.config).reserve("R1", "E02_S01", "E02_S01_SH01", 0.46, "a render")
        episode = Ledger(p.store, p.config).state("episode", "E02")
        assert episode is not None and round(episode.reserved, 2) == 0.46
    result = run_slate("verify", cwd=root)
    assert result.returncode == 0, result.stdout
    assert "clean" in result.stdout
