"""The default filmslate.toml shows [providers] vision_models, commented, as the default."""

from __future__ import annotations

from filmslate import parse_config
from filmslate.core._config import default_toml

LINE = '# vision_models = ["compat:qwen2.5-vl-72b"]'


def test_the_template_shows_vision_models_and_uncommented_it_is_valid() -> None:
    text = default_toml("demo")
    assert text.count(LINE) == 1
    assert parse_config(text).providers.vision_models == []  # commented: the default
    on = parse_config(text.replace(LINE, LINE.removeprefix("# ")))
    assert on.providers.vision_models == ["compat:qwen2.5-vl-72b"]
