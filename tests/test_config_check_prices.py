"""`slate config check` names a text tier whose model has no known price (issue 14 §6), so a
person learns the `[prices]` line to add before `slate run` stops at the first call: one
error naming each tier, its line and the exact line to add, brackets intact; exit 2."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import run_slate
from test_price_errors import MODEL, PRICE_LINE, film, unpriced

__all__ = ["film"]  # the fixture, used by name


def test_an_unpriced_tier_model_fails_the_check_naming_the_line_to_add(film: Path) -> None:
    unpriced(film)
    check = run_slate("config", "check", "-C", str(film))
    assert check.returncode == 2, check.stdout + check.stderr
    said = " ".join(check.stderr.split())
    assert "Traceback" not in check.stderr and "ok (project" not in check.stdout
    assert re.search(r"tiers\.throughput \(line \d+\), tiers\.judgment \(line \d+\)", said)
    assert said.count("no token price") == 1  # one model, said once for all its tiers
    assert PRICE_LINE in said and "[prices]" in said and "[0, 0]" in said


def test_a_priced_or_offline_model_passes(film: Path) -> None:
    assert run_slate("config", "check", "-C", str(film), check=True).returncode == 0  # replay
    config = unpriced(film)
    filled = PRICE_LINE.replace("[in, out]", "[0, 0]")
    config.write_text(config.read_text().replace("[prices]\n", f"[prices]\n{filled}\n"))
    check = run_slate("config", "check", "-C", str(film))
    assert check.returncode == 0 and "ok" in check.stdout, check.stdout + check.stderr
    assert MODEL not in check.stderr
