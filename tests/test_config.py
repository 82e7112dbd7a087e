"""filmslate.toml: defaults, validation with key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from filmslate import Config, ConfigError, parse_config
from filmslate.core._config import default_toml


def test_the_commented_template_holds_exactly_the_defaults() -> None:
    loaded = parse_config(default_toml("demo"))
    assert loaded == Config.model_validate({"project": {"name": "demo"}})
    assert loaded.qc.threshold("A") == 12 and loaded.qc.threshold("C") == 8
    assert (loaded.regen.limit("A"), loaded.regen.limit("B"), loaded.regen.limit("C")) == (3, 2, 2)
    assert loaded.regen.multiplier("high") == 1.6
    assert loaded.budget.warn_pct == 90 and loaded.quotas.tier3_narrative_pct == 15


def test_every_problem_is_reported_with_key_and_line() -> None:
    text = (
        default_toml("demo")
        .replace("threshold_b = 10", "threshold_b = 99")
        .replace("project_cap = 15000.0", 'project_cap = "lots"')
        .replace("[quotas]", "[quotas]\nbogus = 1")
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    lines = text.splitlines()
    problems = {key: line for key, line, _ in info.value.problems}
    assert set(problems) == {"qc.threshold_b", "budget.project_cap", "quotas.bogus"}
    for key, line in problems.items():
        assert key.rsplit(".", 1)[-1] in lines[line - 1]
        assert f":{line}: {key}" in str(info.value)


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="warn_pct must be below stop_pct"):
        parse_config(default_toml("demo").replace("warn_pct = 90.0", "warn_pct = 100.0"))
    with pytest.raises(ConfigError, match="set_anchors_min"):
        parse_config(default_toml("demo").replace("set_anchors_min = 3", "set_anchors_min = 9"))


def test_broken_toml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        parse_config("[budget]\nproject_cap = = 3\n")
    assert info.value.problems[0][1] == 2
