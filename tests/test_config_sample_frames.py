"""The default filmslate.toml shows [qc] sample_frames (issue 13 §2: "count configurable,
default 6"), and a count the vision tier cannot be shown is refused naming its line."""

from __future__ import annotations

import pytest

from filmslate import ConfigError, parse_config
from filmslate.core._config import default_toml

LINE = "sample_frames = 6"


def test_the_template_shows_sample_frames_at_its_default() -> None:
    text = default_toml("demo")
    assert text.count(LINE) == 1
    assert parse_config(text).qc.sample_frames == 6
    assert parse_config(text.replace(LINE, "sample_frames = 12")).qc.sample_frames == 12


@pytest.mark.parametrize("count", [1, 25])
def test_a_count_out_of_range_names_the_key_and_line(count: int) -> None:
    text = default_toml("demo")
    line = next(n for n, s in enumerate(text.splitlines(), 1) if s.startswith(LINE))
    with pytest.raises(ConfigError) as info:
        parse_config(text.replace(LINE, f"sample_frames = {count}"))
    assert str(info.value).startswith(f"filmslate.toml:{line}: qc.sample_frames: ")
